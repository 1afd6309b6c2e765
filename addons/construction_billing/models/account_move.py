from odoo import _, fields, models
from odoo.exceptions import UserError

POSTED_EVENT = "billing.invoice_posted"
PAID_EVENT = "billing.invoice_paid"


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
    construction_wip_date = fields.Date(
        string="Work in Progress Adjustment of",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The date of the work in progress schedule this entry books.",
    )

    def _post(self, soft=True):
        self.filtered("construction_pay_application_id")._check_pay_application_match()
        posted = super()._post(soft=soft)
        posted.construction_contract_id._reconcile_retention()
        # billing.invoice_posted is sent by the automation rule "Send posted
        # contract invoices" (data/construction_outbound_data.xml).
        posted.construction_release_id._construction_publish_released()
        return posted

    def _reverse_moves(self, default_values_list=None, cancel=False):
        """A credit note of a contract invoice stays on the contract (not on the
        pay application or release it corrects): the contract's billed to date
        in the WIP schedule, its retainage in the ledger and the outbound
        billing.invoice_posted event all see it."""
        default_values_list = default_values_list or [{} for _move in self]
        for move, default_values in zip(self, default_values_list, strict=True):
            if move.construction_contract_id:
                default_values.setdefault(
                    "construction_contract_id", move.construction_contract_id.id
                )
        return super()._reverse_moves(default_values_list, cancel=cancel)

    def _compute_payment_state(self):
        before = {move.id: move.payment_state for move in self}
        res = super()._compute_payment_state()
        # invoices only: a credit note settled against the invoice it reverses
        # is not a payment from the owner
        paid = self.filtered(
            lambda m: (
                m.construction_contract_id
                and m.move_type == "out_invoice"
                and m.state == "posted"
                and m.payment_state in ("paid", "in_payment")
                and before.get(m.id) not in ("paid", "in_payment")
            )
        )
        paid._construction_billing_publish(PAID_EVENT)
        return res

    def _check_pay_application_match(self):
        """A pay application's invoice must still say what was certified:
        G702 line 8 before tax, and line 5's change on the Retention
        Receivable account."""
        for move in self:
            app = move.construction_pay_application_id
            currency = move.currency_id
            sign = -1 if move.move_type == "out_refund" else 1
            retention = sum(
                move.invoice_line_ids.filtered(
                    lambda line, a=app: (
                        line.account_id == a.contract_id.retention_account_id
                    )
                ).mapped("price_subtotal")
            )
            due = currency.compare_amounts(
                sign * move.amount_untaxed, app.current_payment_due
            )
            withheld = currency.compare_amounts(
                sign * retention, -app.retainage_this_period
            )
            if due or withheld:
                raise UserError(
                    _(
                        "Invoice %(invoice)s no longer matches certified %(app)s"
                        " (current payment due %(due)s, retainage %(ret)s): cancel"
                        " it and invoice the application again.",
                        invoice=move.display_name,
                        app=app.name,
                        due=app.current_payment_due,
                        ret=app.retainage_this_period,
                    )
                )

    def _construction_billing_event_payload(self):
        self.ensure_one()
        app = self.construction_pay_application_id
        return {
            "invoice": self.name,
            "move_type": self.move_type,
            "contract": self.construction_contract_id.name,
            "project": self.construction_contract_id.project_id.display_name,
            "pay_application": app.number if app else None,
            "period_to": fields.Date.to_string(app.period_to) if app else None,
            "retainage_release": self.construction_release_id.name or None,
            "amount_untaxed": self.amount_untaxed,
            "amount_tax": self.amount_tax,
            "amount_total": self.amount_total,
            "amount_residual": self.amount_residual,
            "currency": self.currency_id.name,
            "payment_state": self.payment_state,
        }

    def _construction_project(self):
        """Project of the invoice, for the outbox and the integration overview."""
        return self.construction_contract_id.project_id

    def _construction_billing_publish(self, event_type):
        """Outbound hook: hand the event to the integration framework (its
        outbox, once it exists) when it is installed."""
        if not self or "construction.event" not in self.env:
            return
        Event = self.env["construction.event"]
        if not hasattr(Event, "_publish"):
            return
        for move in self:
            Event._publish(
                False, event_type, move, move._construction_billing_event_payload()
            )

    def _construction_outbound_payload(self):
        payload = super()._construction_outbound_payload()
        if self.construction_contract_id:
            payload.update(self._construction_billing_event_payload())
        return payload

    def _construction_publish_posted(self):
        """Automation rule "Send posted contract invoices"."""
        self.filtered("construction_contract_id")._construction_billing_publish(
            POSTED_EVENT
        )


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
