from odoo import _, fields, models
from odoo.exceptions import UserError

from .change_order import DECISION_CONTEXT


class ConstructionChangeOrder(models.Model):
    _inherit = "construction.change.order"

    def _api_set_status(self, status, reason=False, source=False):
        """Apply a status decided in an external system (PM platform).

        ``status`` is a ``construction.change.order.status``. A decision taken
        in the platform (owner signature, rejection) is recorded on the open
        approval levels with ``source`` as the comment, by the calling
        (integration) user: the platform is the approver of record. Invalid moves
        raise a ``UserError`` naming both statuses.
        """
        self.ensure_one()
        if status == self.status_id:
            return
        kind = status.stage_kind
        source = source or _("the external system")
        if kind == "draft":
            self.action_draft()
            if self.status_id != status:
                self._check_status_transition(status)
                self.write({"status_id": status.id})
            return
        if kind in ("pending", "approved", "rejected", "no_charge"):
            if self.stage_kind == "rejected":
                self.action_draft()
            if self.stage_kind == "draft":
                target = (
                    status
                    if kind == "pending"
                    else self.env["construction.change.order.status"]._get_default(
                        "pending"
                    )
                )
                self.write({"status_id": target.id})
        if kind == "pending":
            if self.status_id != status:
                self.write({"status_id": status.id})
            return
        if kind == "void":
            self._void(reason or _("Voided in %(system)s", system=source), status)
            return
        self.with_context(**{DECISION_CONTEXT: True})._check_status_transition(status)
        decision = "rejected" if kind == "rejected" else "approved"
        comment = reason or _("Decided in %(system)s", system=source)
        open_levels = self._current_approvals().filtered(
            lambda a: a.state in ("pending", "waiting")
        )
        # sudo: the audit trail records the platform's decision; the caller is the
        # backend's integration user, allowed to move change orders.
        open_levels.sudo().write(
            {
                "state": decision,
                "decided_by_id": self.env.user.id,
                "decision_date": fields.Datetime.now(),
                "comment": comment,
            }
        )
        if kind == "approved":
            self._do_approve(status)
        elif kind == "rejected":
            self.with_context(**{DECISION_CONTEXT: True}).write(
                {"status_id": status.id, "rejection_reason": comment}
            )
        else:
            self.with_context(**{DECISION_CONTEXT: True}).write(
                {"status_id": status.id}
            )
            self._apply_approval_effects()
        self._message_log(
            body=_(
                "%(status)s in %(system)s: %(comment)s",
                status=status.name,
                system=source,
                comment=comment,
            ),
        )

    def _api_check_updatable(self):
        self.ensure_one()
        if self.stage_kind in ("approved", "no_charge", "void", "rejected"):
            raise UserError(
                _(
                    "%(order)s is %(status)s in Odoo: it cannot be changed any more. "
                    "Send a new change order instead.",
                    order=self.display_name,
                    status=self.status_id.name,
                )
            )

    def action_view_construction_budget(self):
        self.ensure_one()
        return self.project_id.action_view_construction_budget()
