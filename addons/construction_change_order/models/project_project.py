from odoo import _, fields, models
from odoo.exceptions import UserError

TIER_SETTINGS = [
    ("one", "One tier (change order only)"),
    ("two", "Two tiers (potential change orders grouped into a change order)"),
    (
        "three",
        "Three tiers (potential change order, change order request, change order)",
    ),
]


# Project field holding the tier setting of each side.
TIER_FIELDS = {
    "prime": "change_order_tiers",
    "commitment": "commitment_change_order_tiers",
}


class ProjectProject(models.Model):
    _inherit = "project.project"

    # The prime (owner) side keeps the historical field name, so existing
    # projects keep their setting without a migration.
    change_order_tiers = fields.Selection(
        selection=TIER_SETTINGS,
        string="Prime Contract Change Order Tiers",
        required=True,
        default=lambda self: self.env.company.construction_prime_co_tiers or "one",
        help="Tiers of the owner-side change orders. Frozen once the project's "
        "first prime contract change order exists.",
    )
    commitment_change_order_tiers = fields.Selection(
        selection=TIER_SETTINGS,
        string="Commitment Change Order Tiers",
        required=True,
        default=lambda self: self.env.company.construction_commitment_co_tiers or "one",
        help="Tiers of the change orders on subcontracts and purchase orders. "
        "Frozen once the project's first commitment change order exists.",
    )
    change_order_tiers_locked = fields.Boolean(compute="_compute_change_order_stats")
    commitment_change_order_tiers_locked = fields.Boolean(
        compute="_compute_change_order_stats"
    )
    change_order_ids = fields.One2many(
        comodel_name="construction.change.order", inverse_name="project_id"
    )
    change_order_count = fields.Integer(compute="_compute_change_order_stats")
    change_event_count = fields.Integer(compute="_compute_change_order_stats")

    def _compute_change_order_stats(self):
        # sudo: the freeze of the tier setting depends on change orders the reader
        # may not see (e.g. another department's), only a boolean is exposed.
        frozen = {
            (project.id, side)
            for project, side in self.env["construction.change.order"]
            .sudo()
            ._read_group([("project_id", "in", self.ids)], ["project_id", "side"])
        }
        counts = dict(
            self.env["construction.change.order"]._read_group(
                [("project_id", "in", self.ids), ("parent_id", "=", False)],
                ["project_id"],
                ["__count"],
            )
        )
        events = dict(
            self.env["construction.change.event"]._read_group(
                [("project_id", "in", self.ids)], ["project_id"], ["__count"]
            )
        )
        for project in self:
            project.change_order_tiers_locked = (project._origin.id, "prime") in frozen
            project.commitment_change_order_tiers_locked = (
                project._origin.id,
                "commitment",
            ) in frozen
            project.change_order_count = counts.get(project, 0)
            project.change_event_count = events.get(project, 0)

    def _init_column(self, column_name):
        # The defaults read company settings whose columns may not exist yet.
        # The commitment setting came after the prime one: existing projects
        # keep, for their commitments, the tiers that drove both sides until then.
        if column_name == "change_order_tiers":
            self.env.cr.execute(
                "UPDATE project_project SET change_order_tiers = 'one' "
                "WHERE change_order_tiers IS NULL"
            )
            return
        if column_name == "commitment_change_order_tiers":
            self.env.cr.execute(
                "UPDATE project_project SET commitment_change_order_tiers = "
                "COALESCE(change_order_tiers, 'one') "
                "WHERE commitment_change_order_tiers IS NULL"
            )
            return
        return super()._init_column(column_name)

    def _get_change_order_tiers(self, side):
        """The tier setting (one, two, three) of the given side's change orders."""
        self.ensure_one()
        return self[TIER_FIELDS[side]] or "one"

    def write(self, vals):
        for side, fname in TIER_FIELDS.items():
            if fname not in vals:
                continue
            changed = self.filtered(lambda p, f=fname: p[f] != vals[f])
            # sudo: see _compute_change_order_stats.
            if changed and self.env["construction.change.order"].sudo().search_count(
                [("project_id", "in", changed.ids), ("side", "=", side)], limit=1
            ):
                raise UserError(
                    _(
                        "The %(side)s change order tiers of a project are frozen "
                        "once its first %(side)s change order exists.",
                        side=_("prime contract")
                        if side == "prime"
                        else _("commitment"),
                    )
                )
        return super().write(vals)

    def action_view_change_orders(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_change_order.construction_change_order_action"
        )
        action["domain"] = [("project_id", "=", self.id)]
        action["context"] = {"default_project_id": self.id}
        return action

    def action_view_change_events(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_change_order.construction_change_event_action"
        )
        action["domain"] = [("project_id", "=", self.id)]
        action["context"] = {"default_project_id": self.id}
        return action
