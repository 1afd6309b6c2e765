from odoo import fields, models


class AccountMove(models.Model):
    _inherit = "account.move"

    construction_contract_id = fields.Many2one(
        "construction.contract",
        string="Prime Contract",
        readonly=True,
        copy=False,
        index="btree_not_null",
        check_company=True,
    )
    construction_pay_application_id = fields.Many2one(
        "construction.pay.application",
        string="Pay Application",
        readonly=True,
        copy=False,
        index="btree_not_null",
    )
    construction_release_id = fields.Many2one(
        "construction.retainage.release",
        string="Retainage Release",
        readonly=True,
        copy=False,
        index="btree_not_null",
    )

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        posted.construction_contract_id._reconcile_retention()
        return posted


class ConstructionContract(models.Model):
    _inherit = "construction.contract"

    def _reconcile_retention(self):
        """Match retainage released (credits) against retainage withheld
        (debits) on the Retention Receivable account, oldest first, so that the
        open balance of the account per contract is the retainage held and the
        aging shows what is still outstanding."""
        for contract in self:
            account = contract.retention_account_id
            if not account:
                continue
            lines = self.env["account.move.line"].search(
                [
                    ("move_id.construction_contract_id", "=", contract.id),
                    ("account_id", "=", account.id),
                    ("parent_state", "=", "posted"),
                    ("reconciled", "=", False),
                ],
                order="date, id",
            )
            debits = lines.filtered(lambda line: line.balance > 0)
            credits = lines.filtered(lambda line: line.balance < 0)
            if debits and credits:
                (debits + credits).reconcile()
