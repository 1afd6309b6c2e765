from odoo import fields, models


class ProjectProject(models.Model):
    _inherit = "project.project"

    construction_budget_policy = fields.Selection(
        selection=[
            ("warn", "Warn"),
            ("block", "Block"),
            ("override", "Block unless a manager overrides"),
        ],
        string="Purchase Budget Control",
        default="warn",
        required=True,
        tracking=True,
        help="What happens when confirming a purchase order takes a cost code over "
        "its revised budget (billed + committed + this order):\n"
        "- Warn: the order is confirmed, a note and an activity flag the overrun.\n"
        "- Block: the order cannot be confirmed.\n"
        "- Override: only a Construction Manager can confirm it, with a written "
        "reason kept in the chatter.",
    )
    construction_require_cost_code = fields.Boolean(
        string="Require Cost Codes on Purchases",
        default=True,
        help="Material request lines, and purchase lines once the project has a "
        "job-cost budget, must carry a cost code.",
    )
    construction_material_request_ids = fields.One2many(
        comodel_name="construction.material.request", inverse_name="project_id"
    )
    construction_material_request_count = fields.Integer(
        compute="_compute_construction_material_request_count"
    )
    construction_subcontract_count = fields.Integer(
        string="Subcontracts", compute="_compute_construction_subcontract_count"
    )

    def _compute_construction_material_request_count(self):
        counts = dict(
            self.env["construction.material.request"]._read_group(
                [("project_id", "in", self.ids)], ["project_id"], ["__count"]
            )
        )
        for project in self:
            project.construction_material_request_count = counts.get(project, 0)

    def action_view_construction_material_requests(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_procurement_sync.construction_material_request_action"
        )
        action["domain"] = [("project_id", "=", self.id)]
        action["context"] = {"default_project_id": self.id}
        return action

    def action_view_construction_commitments(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_procurement_sync.construction_commitment_report_action"
        )
        action["domain"] = [("project_id", "=", self.id)]
        return action

    def _compute_construction_subcontract_count(self):
        counts = dict(
            self.env["construction.subcontract.dashboard"]._read_group(
                [("project_id", "in", self.ids)], ["project_id"], ["__count"]
            )
        )
        for project in self:
            project.construction_subcontract_count = counts.get(project, 0)

    def action_view_construction_subcontract_dashboard(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_procurement_sync.construction_subcontract_dashboard_action"
        )
        action["domain"] = [("project_id", "=", self.id)]
        action["context"] = {"search_default_group_partner": 0}
        return action
