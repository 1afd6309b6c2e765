from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, float_is_zero, float_round

SUB_RETAINAGE_EVENT = "purchase_order.retainage_released"


MATCH_STATES = [
    ("none", "No Purchase Order"),
    ("matched", "Matched"),
    ("exception", "Exception"),
    ("accepted", "Exception Accepted"),
]
# Context flag: the subcontractor payment checks already ran (Register Payment
# wizard); the posting and reconciliation it makes do not check again.
PAYMENT_CHECKED = "construction_payment_checked"


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    construction_retainage_order_id = fields.Many2one(
        comodel_name="purchase.order",
        string="Retainage of Subcontract",
        index="btree_not_null",
        copy=False,
        readonly=True,
    )
    construction_retainage_kind = fields.Selection(
        selection=[("withhold", "Withheld"), ("release", "Released")],
        string="Retainage",
        copy=False,
        readonly=True,
    )

    def action_register_payment(self):
        self.move_id._construction_check_payable()
        return super().action_register_payment()

    def reconcile(self):
        """Vendor bills paid by reconciliation (an outstanding payment added on
        the bill, journal items reconciled by hand, a bank statement line) pass
        the payment checks of Register Payment too: three-way match, and for
        subcontractor bills compliance and lien waivers. Credit notes and other
        entries are not payments and are not checked."""
        if self.env.context.get(PAYMENT_CHECKED):
            return super().reconcile()
        moves = self.move_id
        bills = moves.filtered(lambda m: m.is_purchase_document())
        payments = (moves - bills).filtered(
            lambda m: m.origin_payment_id or m.statement_line_id
        )
        if not bills or not payments:
            return super().reconcile()
        bills._construction_check_payable(post=True)
        result = super().reconcile()
        bills._construction_subcontract_bills().construction_sub_pay_app_id._link_payment(
            payments.origin_payment_id
        )
        return result


class AccountMove(models.Model):
    _inherit = "account.move"

    construction_match_state = fields.Selection(
        selection=MATCH_STATES,
        string="Three-Way Match",
        compute="_compute_construction_match",
        store=True,
        index=True,
        copy=False,
        help="Billed quantities against received quantities and billed prices "
        "against ordered prices, within the company's tolerances. A bill in "
        "exception cannot be paid until it is fixed or the exception is accepted.",
    )
    construction_match_message = fields.Text(
        string="Match Exceptions",
        compute="_compute_construction_match",
        store=True,
        copy=False,
    )
    construction_match_accepted_message = fields.Text(
        string="Accepted Exceptions", readonly=True, copy=False
    )
    construction_match_accepted_reason = fields.Text(
        string="Acceptance Reason", readonly=True, copy=False, tracking=True
    )
    construction_match_accepted_user_id = fields.Many2one(
        comodel_name="res.users", string="Accepted By", readonly=True, copy=False
    )
    construction_purchase_order_ids = fields.Many2many(
        comodel_name="purchase.order",
        string="Construction Orders",
        compute="_compute_construction_orders",
    )
    construction_project_id = fields.Many2one(
        comodel_name="project.project",
        string="Project",
        compute="_compute_construction_orders",
    )
    construction_supplier_status = fields.Selection(
        selection=[
            ("submitted", "Submitted"),
            ("withdrawn", "Withdrawn"),
            ("disputed", "Disputed"),
            ("paid", "Paid"),
        ],
        string="Supplier Portal Status",
        readonly=True,
        copy=False,
        tracking=True,
        help="Status of the invoice last reported by the supplier portal.",
    )
    construction_sub_pay_app_id = fields.Many2one(
        comodel_name="construction.subcontract.pay.application",
        string="Subcontractor Pay Application",
        index="btree_not_null",
        readonly=True,
        copy=False,
    )
    construction_retainage_amount = fields.Monetary(
        string="Retainage Withheld",
        compute="_compute_construction_retainage_amount",
        currency_field="currency_id",
    )

    @api.depends("invoice_line_ids.purchase_line_id")
    def _compute_construction_orders(self):
        for move in self:
            orders = move.invoice_line_ids.purchase_line_id.order_id
            move.construction_purchase_order_ids = orders
            move.construction_project_id = (
                orders.project_id[:1]
                or (move.invoice_line_ids.purchase_line_id.construction_project_id[:1])
            )

    @api.depends(
        "invoice_line_ids.price_subtotal",
        "invoice_line_ids.construction_retainage_kind",
    )
    def _compute_construction_retainage_amount(self):
        for move in self:
            move.construction_retainage_amount = -sum(
                line.price_subtotal
                for line in move.invoice_line_ids
                if line.construction_retainage_kind == "withhold"
            )

    @api.depends(
        "state",
        "move_type",
        "currency_id",
        "invoice_line_ids.quantity",
        "invoice_line_ids.price_unit",
        "invoice_line_ids.discount",
        "invoice_line_ids.product_uom_id",
        "invoice_line_ids.purchase_line_id.qty_received",
        "invoice_line_ids.purchase_line_id.qty_invoiced",
        "invoice_line_ids.purchase_line_id.product_qty",
        "invoice_line_ids.purchase_line_id.price_unit",
        "invoice_line_ids.purchase_line_id.discount",
        "construction_match_accepted_message",
        "construction_sub_pay_app_id",
    )
    def _compute_construction_match(self):
        for move in self:
            lines = move.invoice_line_ids.filtered("purchase_line_id")
            if move.construction_sub_pay_app_id and move.state != "cancel":
                # Billed by amount from an approved pay application: the
                # application's review against the schedule of values is the match.
                move.construction_match_state = "matched"
                move.construction_match_message = False
                continue
            if move.move_type != "in_invoice" or move.state == "cancel" or not lines:
                move.construction_match_state = "none"
                move.construction_match_message = False
                continue
            messages = move._construction_match_exceptions(lines)
            message = "\n".join(messages) if messages else False
            move.construction_match_message = message
            if not message:
                move.construction_match_state = "matched"
            elif message == move.construction_match_accepted_message:
                move.construction_match_state = "accepted"
            else:
                move.construction_match_state = "exception"

    def _construction_match_exceptions(self, lines):
        """Readable exceptions of these bill lines against their purchase lines."""
        self.ensure_one()
        company = self.company_id
        qty_tolerance = company.construction_match_qty_tolerance / 100.0
        price_tolerance = company.construction_match_price_tolerance / 100.0
        messages = []
        billed_here = defaultdict(float)
        for line in lines:
            billed_here[line.purchase_line_id] += line.product_uom_id._compute_quantity(
                line.quantity, line.purchase_line_id.product_uom
            )
        for pol, _qty in billed_here.items():
            rounding = pol.product_uom.rounding or 0.01
            label = f"{pol.order_id.name} / {pol.name}"
            by_receipt = pol.product_id.purchase_method == "receive"
            reference = pol.qty_received if by_receipt else pol.product_qty
            billed = pol.qty_invoiced
            if by_receipt and float_is_zero(reference, precision_rounding=rounding):
                messages.append(
                    _(
                        "%(line)s: billed %(billed)s before anything was received.",
                        line=label,
                        billed=billed,
                    )
                )
            elif (
                float_compare(
                    billed,
                    reference * (1.0 + qty_tolerance),
                    precision_rounding=rounding,
                )
                > 0
            ):
                messages.append(
                    _(
                        "%(line)s: billed %(billed)s, %(what)s %(reference)s.",
                        line=label,
                        billed=billed,
                        what=_("received") if by_receipt else _("ordered"),
                        reference=reference,
                    )
                )
        precision = self.env["decimal.precision"].precision_get("Product Price")
        for line in lines:
            pol = line.purchase_line_id
            ordered = pol.price_unit * (1.0 - (pol.discount or 0.0) / 100.0)
            billed = line.price_unit * (1.0 - (line.discount or 0.0) / 100.0)
            if self.currency_id != pol.currency_id:
                billed = self.currency_id._convert(
                    billed,
                    pol.currency_id,
                    self.company_id,
                    self.invoice_date or fields.Date.context_today(self),
                    round=False,
                )
            billed = line.product_uom_id._compute_price(billed, pol.product_uom)
            allowed = abs(ordered) * price_tolerance
            if (
                float_compare(
                    abs(billed - ordered), allowed, precision_digits=precision
                )
                > 0
            ):
                messages.append(
                    _(
                        "%(line)s: billed at %(billed)s, ordered at %(ordered)s.",
                        line=f"{pol.order_id.name} / {pol.name}",
                        billed=float_round(billed, precision_digits=precision),
                        ordered=float_round(ordered, precision_digits=precision),
                    )
                )
        return messages

    # ---- payment block ----

    def _construction_check_payable(self, post=False):
        """The checks every way of paying these bills passes (Register Payment,
        a payment confirmed for them, a reconciliation): no open three-way match
        exception; subcontractor bills also compliance and lien waivers (noted
        on the application under a warning policy when ``post``)."""
        blocked = self.filtered(lambda m: m.construction_match_state == "exception")
        if blocked:
            raise UserError(
                _(
                    "Payment is blocked by a three-way match exception on "
                    "%(bills)s. Fix the bill or have a manager accept the "
                    "exception.\n%(details)s",
                    bills=", ".join(blocked.mapped("display_name")),
                    details="\n".join(blocked.mapped("construction_match_message")),
                )
            )
        self._construction_subcontract_bills().construction_sub_pay_app_id._check_payment(
            post=post
        )

    def action_register_payment(self):
        self._construction_check_payable()
        return super().action_register_payment()

    def _construction_subcontract_bills(self):
        """Vendor bills (and refunds) of subcontractor pay applications."""
        return self.filtered(
            lambda m: m.construction_sub_pay_app_id and m.is_purchase_document()
        )

    def action_construction_accept_match(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Accept Match Exception"),
            "res_model": "construction.match.accept.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_move_ids": self.ids},
        }

    def _construction_accept_match(self, reason):
        user = self.env.user
        if not (
            user.has_group("construction_connector_base.group_construction_manager")
            or user.has_group("account.group_account_manager")
        ):
            raise UserError(
                _(
                    "Only a Construction Manager or an accounting manager can accept "
                    "a three-way match exception."
                )
            )
        if not (reason or "").strip():
            raise UserError(_("Give the reason for accepting the exception."))
        for move in self:
            if move.construction_match_state != "exception":
                raise UserError(
                    _("%(bill)s has no open match exception.", bill=move.display_name)
                )
            move.write(
                {
                    "construction_match_accepted_message": (
                        move.construction_match_message
                    ),
                    "construction_match_accepted_reason": reason.strip(),
                    "construction_match_accepted_user_id": user.id,
                }
            )
            move.message_post(
                body=_(
                    "Three-way match exception accepted by %(user)s: %(reason)s\n"
                    "%(details)s",
                    user=user.name,
                    reason=reason.strip(),
                    details=move.construction_match_message,
                ),
                subtype_xmlid="mail.mt_note",
            )

    # ---- retainage on subcontract bills ----

    def _construction_sync_retainage(self):
        """One retainage line per subcontract on each draft vendor bill, crediting
        Retention Payable with the subcontract's rate of the billed work."""
        for move in self.filtered(
            lambda m: (
                m.move_type == "in_invoice"
                and m.state == "draft"
                and not m.construction_sub_pay_app_id
            )
        ):
            base_by_order = defaultdict(float)
            for line in move.invoice_line_ids:
                order = line.purchase_line_id.order_id
                if order.construction_is_subcontract:
                    base_by_order[order] += line.price_subtotal
            existing = move.invoice_line_ids.filtered(
                lambda line: line.construction_retainage_kind == "withhold"
            )
            commands = []
            for order, base in base_by_order.items():
                amount = move.currency_id.round(
                    base * order.construction_retainage_percent / 100.0
                )
                current = existing.filtered(
                    lambda line, o=order: line.construction_retainage_order_id == o
                )
                if move.currency_id.is_zero(amount):
                    commands += [(2, line.id) for line in current]
                    continue
                account = order.company_id._construction_retention_payable_account()
                values = {
                    "name": _(
                        "Retainage %(percent)s%% withheld on %(order)s",
                        percent=order.construction_retainage_percent,
                        order=order.name,
                    ),
                    "account_id": account.id,
                    "quantity": 1.0,
                    "price_unit": -amount,
                    "discount": 0.0,
                    "tax_ids": [(5, 0, 0)],
                    "analytic_distribution": False,
                    "construction_retainage_order_id": order.id,
                    "construction_retainage_kind": "withhold",
                }
                if current:
                    commands.append((1, current[0].id, values))
                    commands += [(2, line.id) for line in current[1:]]
                else:
                    commands.append((0, 0, values))
            orders = set(base_by_order)
            stale = existing.filtered(
                lambda line, o=orders: line.construction_retainage_order_id not in o
            )
            commands += [(2, line.id) for line in stale]
            if commands:
                # Derived from the billed lines: passes the lock of bills synced
                # by supplier_invoice.status (see account_move_sync_lock.py).
                move.with_context(construction_sync=True).write(
                    {"invoice_line_ids": commands}
                )

    def _construction_retainage_exchange_difference(self):
        """Retainage released in a foreign currency leaves Retention Payable at
        the rate it was withheld: the difference with the release bill's rate is
        booked as an exchange gain or loss, so that a fully released subcontract
        holds nothing in company currency either."""
        for move in self.filtered(lambda m: m.state == "posted" and m.is_invoice()):
            company = move.company_id
            releases = move.line_ids.filtered(
                lambda line, c=company: (
                    line.construction_retainage_kind == "release"
                    and line.currency_id != c.currency_id
                )
            )
            for order in releases.construction_retainage_order_id:
                released = releases.filtered(
                    lambda line, o=order: line.construction_retainage_order_id == o
                )
                before = order.construction_retainage_line_ids.filtered(
                    lambda line, m=move: (
                        line.parent_state == "posted" and line.move_id != m
                    )
                )
                held_foreign = -sum(
                    before.filtered(
                        lambda line, r=released: line.currency_id == r.currency_id[:1]
                    ).mapped("amount_currency")
                )
                held_company = -sum(before.mapped("balance"))
                released_foreign = sum(released.mapped("amount_currency"))
                released_company = sum(released.mapped("balance"))
                if not held_foreign or not released_foreign:
                    continue
                historical = company.currency_id.round(
                    held_company * released_foreign / held_foreign
                )
                diff = company.currency_id.round(released_company - historical)
                if company.currency_id.is_zero(diff):
                    continue
                move._construction_post_retainage_exchange(order, released, diff)

    def _construction_post_retainage_exchange(self, order, released, diff):
        self.ensure_one()
        company = self.company_id
        journal = company.currency_exchange_journal_id
        gain_loss = (
            company.expense_currency_exchange_account_id
            if diff > 0
            else company.income_currency_exchange_account_id
        )
        if not journal or not gain_loss:
            raise UserError(
                _(
                    "Set the exchange difference journal and accounts of %(company)s "
                    "to release retainage of %(order)s in %(currency)s.",
                    company=company.name,
                    order=order.name,
                    currency=released.currency_id[:1].name,
                )
            )
        name = _("Retainage exchange difference on %(order)s", order=order.name)
        currency = released.currency_id[:1]
        # sudo: the exchange entry mirrors the release bill being posted; the
        # poster needs no journal entry rights of their own for it.
        entry = (
            self.env["account.move"]
            .sudo()
            .with_company(company)
            .create(
                {
                    "move_type": "entry",
                    "journal_id": journal.id,
                    "date": self.date,
                    "ref": f"{self.name}: {name}",
                    "line_ids": [
                        (
                            0,
                            0,
                            {
                                "name": name,
                                "account_id": released[:1].account_id.id,
                                "partner_id": self.commercial_partner_id.id,
                                "currency_id": currency.id,
                                "amount_currency": 0.0,
                                "balance": -diff,
                                "construction_retainage_order_id": order.id,
                                "construction_retainage_kind": "release",
                            },
                        ),
                        (
                            0,
                            0,
                            {
                                "name": name,
                                "account_id": gain_loss.id,
                                "currency_id": currency.id,
                                "amount_currency": 0.0,
                                "balance": diff,
                            },
                        ),
                    ],
                }
            )
        )
        entry.action_post()
        return entry.sudo(False)

    def write(self, vals):
        if "state" not in vals:
            return super().write(vals)
        purchase_lines = self.invoice_line_ids.purchase_line_id
        result = super().write(vals)
        if purchase_lines:
            purchase_lines._construction_refresh_budgets()
        return result

    def _construction_outbound_payload(self):
        payload = super()._construction_outbound_payload()
        orders = self.invoice_line_ids.purchase_line_id.order_id
        payload["purchase_orders"] = sorted(orders.mapped("name"))
        payload["subcontract_pay_application"] = (
            self.construction_sub_pay_app_id.name or None
        )
        return payload

    def _post(self, soft=True):
        """Every way of posting (the Confirm button, "Post Entries" on a list,
        the auto-post cron): no bill beside a subcontract's pay applications,
        retainage withheld in step with the billed work, exchange difference of
        released retainage booked, release event sent."""
        for move in self.filtered(
            lambda m: (
                m.is_purchase_document()
                and not m.construction_sub_pay_app_id
                and not m.reversed_entry_id.construction_sub_pay_app_id
            )
        ):
            orders = move.invoice_line_ids.purchase_line_id.order_id
            orders._construction_check_no_pay_applications()
        self._construction_sync_retainage()
        posted = super()._post(soft=soft)
        posted._construction_retainage_exchange_difference()
        posted._construction_publish_retainage_released()
        return posted

    def _construction_publish_retainage_released(self):
        """``purchase_order.retainage_released``: a vendor bill releasing
        retainage held on a subcontract was posted (one event per order)."""
        lines = self.invoice_line_ids.filtered(
            lambda line: (
                line.construction_retainage_kind == "release"
                and line.construction_retainage_order_id
            )
        )
        if not lines:
            return
        Event = self.env["construction.event"]
        for move in lines.move_id:
            move_lines = lines.filtered(lambda line, m=move: line.move_id == m)
            for order in move_lines.construction_retainage_order_id:
                currency = order.company_id.currency_id
                released = currency.round(
                    sum(
                        move_lines.filtered(
                            lambda line, o=order: (
                                line.construction_retainage_order_id == o
                            )
                        ).mapped("balance")
                    )
                )
                Event._publish(
                    False,
                    SUB_RETAINAGE_EVENT,
                    order,
                    {
                        "order": order.name,
                        "vendor": order.partner_id.name,
                        "project": order.project_id.name or None,
                        "bill": move.name,
                        "date": str(move.invoice_date or move.date),
                        "currency": currency.name,
                        "amount_released": released,
                        "retainage_held_after": order.construction_retainage_balance,
                    },
                )
