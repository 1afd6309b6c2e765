from odoo import _, api, fields, models

from .account_move import PAYMENT_CHECKED


class AccountPaymentRegister(models.TransientModel):
    _inherit = "account.payment.register"

    construction_joint_payee_id = fields.Many2one(
        comodel_name="res.partner",
        string="Joint Payee",
        help="Supplier of the subcontractor named jointly on the check.",
    )

    def _create_payments(self):
        moves = self.line_ids.move_id
        moves._construction_check_payable(post=True)
        # Checked once here: posting and reconciling do not check again.
        payments = (
            super(
                AccountPaymentRegister,
                self.with_context(**{PAYMENT_CHECKED: True}),
            )
            ._create_payments()
            .with_env(self.env)
        )
        moves.construction_sub_pay_app_id._link_payment(payments)
        return payments

    def _create_payment_vals_from_wizard(self, batch_result):
        vals = super()._create_payment_vals_from_wizard(batch_result)
        if self.construction_joint_payee_id:
            vals["construction_joint_payee_id"] = self.construction_joint_payee_id.id
        return vals


class AccountPayment(models.Model):
    _inherit = "account.payment"

    construction_joint_payee_id = fields.Many2one(
        comodel_name="res.partner",
        string="Joint Payee",
        tracking=True,
        help="Joint check: the payment is made to the vendor and this party "
        "jointly (e.g. the subcontractor's material supplier).",
    )
    construction_lien_waiver_ids = fields.One2many(
        comodel_name="construction.lien.waiver",
        inverse_name="payment_id",
        string="Lien Waivers",
    )
    construction_pay_to = fields.Char(
        string="Pay To",
        compute="_compute_construction_pay_to",
        help="Payee line of the check: the vendor, and the joint payee if any.",
    )

    @api.depends("partner_id", "construction_joint_payee_id")
    def _compute_construction_pay_to(self):
        for payment in self:
            if payment.construction_joint_payee_id:
                payment.construction_pay_to = _(
                    "%(vendor)s and %(joint)s jointly",
                    vendor=payment.partner_id.name,
                    joint=payment.construction_joint_payee_id.name,
                )
            else:
                payment.construction_pay_to = payment.partner_id.name or ""

    def action_post(self):
        """A payment entered directly (Vendors > Payments) for vendor bills
        (``invoice_ids``) passes the same checks as Register Payment when it is
        confirmed: three-way match, compliance and lien waivers."""
        if self.env.context.get(PAYMENT_CHECKED):
            return super().action_post()
        bills = self.invoice_ids.filtered(lambda m: m.is_purchase_document())
        bills._construction_check_payable(post=True)
        result = super().action_post()
        bills._construction_subcontract_bills().construction_sub_pay_app_id._link_payment(
            self
        )
        return result
