from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class ConstructionLienWaiver(models.Model):
    _name = "construction.lien.waiver"
    _description = "Subcontractor Lien Waiver"
    _inherit = ["mail.thread"]
    _order = "through_date desc, id desc"
    _check_company_auto = True

    name = fields.Char(string="Reference", required=True, tracking=True)
    application_id = fields.Many2one(
        comodel_name="construction.subcontract.pay.application",
        string="Pay Application",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
    )
    order_id = fields.Many2one(related="application_id.order_id", store=True)
    partner_id = fields.Many2one(related="application_id.partner_id", store=True)
    company_id = fields.Many2one(
        related="application_id.company_id", store=True, precompute=True
    )
    currency_id = fields.Many2one(related="application_id.currency_id")
    condition = fields.Selection(
        selection=[("conditional", "Conditional"), ("unconditional", "Unconditional")],
        required=True,
        default="unconditional",
        tracking=True,
    )
    scope = fields.Selection(
        selection=[("progress", "Progress"), ("final", "Final")],
        required=True,
        default="progress",
        tracking=True,
    )
    amount = fields.Monetary(required=True, tracking=True)
    through_date = fields.Date(required=True, tracking=True)
    state = fields.Selection(
        selection=[("requested", "Requested"), ("received", "Received")],
        default="requested",
        required=True,
        tracking=True,
    )
    date_received = fields.Date(tracking=True)
    attachment_ids = fields.Many2many(
        comodel_name="ir.attachment",
        relation="construction_lien_waiver_attachment_rel",
        string="Signed Waiver",
    )

    @api.constrains("through_date", "application_id")
    def _check_through_date(self):
        for waiver in self:
            if waiver.through_date < waiver.application_id.period_start:
                raise ValidationError(
                    _(
                        "%(waiver)s: the through date is before the period of %(app)s.",
                        waiver=waiver.name,
                        app=waiver.application_id.name,
                    )
                )

    def action_receive(self):
        self.write(
            {"state": "received", "date_received": fields.Date.context_today(self)}
        )
