from odoo import fields, models

from .project_project import TIER_SETTINGS


class ResCompany(models.Model):
    _inherit = "res.company"

    construction_prime_co_tiers = fields.Selection(
        selection=TIER_SETTINGS,
        string="Prime Contract Change Order Tiers",
        default="one",
        help="Tiers of owner-side change orders on new projects.",
    )
    construction_commitment_co_tiers = fields.Selection(
        selection=TIER_SETTINGS,
        string="Commitment Change Order Tiers",
        default="one",
        help="Tiers of subcontract and purchase order change orders on new projects.",
    )
