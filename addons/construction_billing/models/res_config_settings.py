from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    construction_retention_receivable_account_id = fields.Many2one(
        related="company_id.construction_retention_receivable_account_id",
        readonly=False,
    )
