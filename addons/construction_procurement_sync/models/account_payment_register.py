from odoo import fields, models


class AccountPaymentRegister(models.TransientModel):
    _inherit = "account.payment.register"

    construction_joint_payee_id = fields.Many2one(
        comodel_name="res.partner",
        string="Joint Payee",
        help="Supplier of the subcontractor named jointly on the check.",
    )

    def _create_payments(self):
        self.line_ids.move_id._construction_check_payable()
        return super()._create_payments()

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
