from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

BUDGET_EFFECTS = [
    ("none", "None"),
    ("pending", "Pending Changes"),
    ("approved", "Approved Changes"),
]

STAGE_KINDS = [
    ("draft", "Draft"),
    ("pending", "Pending"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("no_charge", "No Charge"),
    ("void", "Void"),
]

# Which budget effects a stage kind may carry: accounting must never count a draft,
# rejected or void change order, and an approved one always counts as approved.
ALLOWED_EFFECTS = {
    "draft": {"none"},
    "pending": {"none", "pending"},
    "approved": {"approved"},
    "rejected": {"none"},
    "no_charge": {"none", "approved"},
    "void": {"none"},
}


class ConstructionChangeOrderStatus(models.Model):
    """A change-order status as the field uses it, mapped to a budget effect.

    Firms rename or add statuses freely; the workflow reads ``stage_kind`` and the
    budget reads ``budget_effect``, never the name (Sage Intacct's "workflow type").
    """

    _name = "construction.change.order.status"
    _description = "Change Order Status"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        required=True,
        help="Stable technical code, used by the API (e.g. pending_pricing).",
    )
    sequence = fields.Integer(default=10)
    stage_kind = fields.Selection(
        selection=STAGE_KINDS,
        required=True,
        default="pending",
        help="What the workflow does with change orders in this status.",
    )
    budget_effect = fields.Selection(
        selection=BUDGET_EFFECTS,
        required=True,
        default="none",
        help="Which budget column the cost of a prime change order in this status "
        "goes to.",
    )
    fold = fields.Boolean(help="Folded in the kanban view.")
    active = fields.Boolean(default=True)
    description = fields.Text(translate=True)

    _sql_constraints = [
        ("code_unique", "UNIQUE(code)", "A change order status code must be unique."),
    ]

    @api.constrains("stage_kind", "budget_effect")
    def _check_budget_effect(self):
        for status in self:
            if status.budget_effect not in ALLOWED_EFFECTS[status.stage_kind]:
                raise ValidationError(
                    _(
                        "Status %(status)s: a %(kind)s status cannot have the budget "
                        "effect %(effect)s.",
                        status=status.name,
                        kind=dict(STAGE_KINDS)[status.stage_kind],
                        effect=dict(BUDGET_EFFECTS)[status.budget_effect],
                    )
                )

    def write(self, vals):
        changed = self.filtered(
            lambda status: (
                "stage_kind" in vals and status.stage_kind != vals["stage_kind"]
            )
        )
        if changed and self.env["construction.change.order"].search_count(
            [("status_id", "in", changed.ids)], limit=1
        ):
            raise UserError(
                _(
                    "This status is used by change orders: its kind cannot "
                    "change. Create a new status instead."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        if self.env["construction.change.order"].search_count(
            [("status_id", "in", self.ids)], limit=1
        ):
            raise UserError(
                _("A status used by change orders cannot be deleted: archive it.")
            )

    @api.model
    def _get_default(self, kind):
        """The first active status of this kind."""
        status = self.search([("stage_kind", "=", kind)], limit=1)
        if not status:
            raise UserError(
                _(
                    "No active change order status of kind %(kind)s is configured.",
                    kind=dict(STAGE_KINDS)[kind],
                )
            )
        return status

    @api.model
    def _from_code(self, code):
        """The status with this code; a clear error if there is none."""
        status = self.with_context(active_test=False).search(
            [("code", "=", code)], limit=1
        )
        if not status:
            raise UserError(_("Unknown change order status %(code)s.", code=code or ""))
        return status
