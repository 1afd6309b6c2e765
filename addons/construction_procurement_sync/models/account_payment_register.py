from odoo import models


class AccountPaymentRegister(models.TransientModel):
    _inherit = "account.payment.register"

    def _create_payments(self):
        self.line_ids.move_id._construction_check_payable()
        return super()._create_payments()
