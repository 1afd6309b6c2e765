from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    construction_match_qty_tolerance = fields.Float(
        related="company_id.construction_match_qty_tolerance", readonly=False
    )
    construction_match_price_tolerance = fields.Float(
        related="company_id.construction_match_price_tolerance", readonly=False
    )
    construction_receipt_tolerance = fields.Float(
        related="company_id.construction_receipt_tolerance", readonly=False
    )
    construction_compliance_policy = fields.Selection(
        related="company_id.construction_compliance_policy", readonly=False
    )
    construction_lien_waiver_policy = fields.Selection(
        related="company_id.construction_lien_waiver_policy", readonly=False
    )
    construction_compliance_warning_days = fields.Integer(
        related="company_id.construction_compliance_warning_days", readonly=False
    )
    construction_retention_payable_account_id = fields.Many2one(
        related="company_id.construction_retention_payable_account_id", readonly=False
    )
    construction_subcontract_check_stage = fields.Selection(
        related="company_id.construction_subcontract_check_stage", readonly=False
    )
    construction_po_delay_minutes = fields.Integer(
        string="Purchase Order Transmission Alert (minutes)",
        config_parameter="construction_connector_base.monitor_po_delay_minutes",
        default=30,
        help="The integration overview flags purchase orders whose message to the "
        "supplier portal is not delivered after this many minutes.",
    )
