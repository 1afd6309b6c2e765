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
