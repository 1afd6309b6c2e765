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


class ProjectProject(models.Model):
    _inherit = "project.project"

    change_order_tiers = fields.Selection(
        selection=TIER_SETTINGS,
        string="Change Order Tiers",
        required=True,
        default="one",
        help="Frozen once the project's first change order exists.",
    )
    change_order_tiers_locked = fields.Boolean(compute="_compute_change_order_stats")
    change_order_ids = fields.One2many(
        comodel_name="construction.change.order", inverse_name="project_id"
    )
    change_order_count = fields.Integer(compute="_compute_change_order_stats")
    change_event_count = fields.Integer(compute="_compute_change_order_stats")

    def _compute_change_order_stats(self):
        # sudo: the freeze of the tier setting depends on change orders the reader
        # may not see (e.g. another department's), only a boolean is exposed.
        frozen = {
            project.id
            for [project] in self.env["construction.change.order"]
            .sudo()
            ._read_group([("project_id", "in", self.ids)], ["project_id"])
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
            project.change_order_tiers_locked = project._origin.id in frozen
            project.change_order_count = counts.get(project, 0)
            project.change_event_count = events.get(project, 0)

    def write(self, vals):
        if "change_order_tiers" in vals:
            changed = self.filtered(
                lambda p: p.change_order_tiers != vals["change_order_tiers"]
            )
            # sudo: see _compute_change_order_stats.
            if changed and self.env["construction.change.order"].sudo().search_count(
                [("project_id", "in", changed.ids)], limit=1
            ):
                raise UserError(
                    _(
                        "The change order tiers of a project are frozen once its "
                        "first change order exists."
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
