from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    construction_prime_co_tiers = fields.Selection(
        related="company_id.construction_prime_co_tiers", readonly=False
    )
    construction_commitment_co_tiers = fields.Selection(
        related="company_id.construction_commitment_co_tiers", readonly=False
    )
