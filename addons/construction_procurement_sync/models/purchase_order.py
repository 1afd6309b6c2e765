from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.construction_connector_base.tools.security import MANAGER_GROUP

CHANGED_EVENT = "purchase_order.changed"
CANCELLED_EVENT = "purchase_order.cancelled"


class PurchaseOrder(models.Model):
    _inherit = "purchase.order"

    # project_id (project_purchase): the project this order buys for; its lines
    # default to the project's analytic account and must carry a cost code.
    construction_is_subcontract = fields.Boolean(
        string="Subcontract",
        tracking=True,
        help="A subcontract: its lines are the schedule of values (service lines per "
        "cost code) and its bills withhold retainage.",
    )
    construction_retainage_percent = fields.Float(
        string="Retainage (%)",
        digits=(5, 2),
        tracking=True,
        help="Share of each subcontract bill withheld to the Retention Payable "
        "account until released.",
    )
    construction_retainage_stored_percent = fields.Float(
        string="Retainage on Stored Materials (%)",
        digits=(5, 2),
        copy=True,
        help="Share of materials presently stored withheld on subcontractor pay "
        "applications.",
    )
    construction_compliance_requirement_ids = fields.One2many(
        comodel_name="construction.compliance.requirement",
        inverse_name="order_id",
        string="Compliance Requirements",
        copy=True,
    )
    construction_pay_application_ids = fields.One2many(
        comodel_name="construction.subcontract.pay.application",
        inverse_name="order_id",
        string="Pay Applications",
    )
    construction_retainage_line_ids = fields.One2many(
        comodel_name="account.move.line",
        inverse_name="construction_retainage_order_id",
        string="Retainage Items",
        readonly=True,
    )
    construction_retainage_withheld = fields.Monetary(
        string="Retainage Withheld",
        compute="_compute_construction_retainage",
        currency_field="company_currency_id",
    )
    construction_retainage_released = fields.Monetary(
        string="Retainage Released",
        compute="_compute_construction_retainage",
        currency_field="company_currency_id",
    )
    construction_retainage_balance = fields.Monetary(
        string="Retainage Held",
        compute="_compute_construction_retainage",
        currency_field="company_currency_id",
    )
    company_currency_id = fields.Many2one(related="company_id.currency_id")
    construction_budget_state = fields.Selection(
        selection=[
            ("none", "No Budget Check"),
            ("ok", "Within Budget"),
            ("over", "Over Budget"),
        ],
        string="Budget Status",
        compute="_compute_construction_budget_state",
    )
    construction_budget_message = fields.Text(
        string="Budget Overruns", compute="_compute_construction_budget_state"
    )
    construction_budget_override_reason = fields.Text(
        string="Budget Override Reason", readonly=True, copy=False, tracking=True
    )
    construction_budget_override_user_id = fields.Many2one(
        comodel_name="res.users",
        string="Budget Overridden By",
        readonly=True,
        copy=False,
    )
    construction_change_order_ids = fields.One2many(
        comodel_name="construction.change.order",
        inverse_name="purchase_order_id",
        string="Commitment Change Orders",
        readonly=True,
    )
    construction_supplier_state = fields.Selection(
        selection=[
            ("accepted", "Accepted"),
            ("rejected", "Rejected"),
            ("changed", "Changed by Supplier"),
        ],
        string="Supplier Acknowledgement",
        readonly=True,
        copy=False,
        tracking=True,
    )
    construction_supplier_note = fields.Text(
        string="Supplier Note", readonly=True, copy=False
    )
    construction_committed_amount = fields.Monetary(
        string="Committed",
        compute="_compute_construction_committed_amount",
        currency_field="company_currency_id",
    )

    _sql_constraints = [
        (
            "construction_retainage_percent_range",
            "CHECK(construction_retainage_percent >= 0 "
            "AND construction_retainage_percent <= 100)",
            "Retainage must be between 0 and 100 percent.",
        ),
    ]

    @api.depends("order_line.construction_committed_amount")
    def _compute_construction_committed_amount(self):
        for order in self:
            order.construction_committed_amount = sum(
                order.order_line.mapped("construction_committed_amount")
            )

    @api.depends(
        "construction_retainage_line_ids.balance",
        "construction_retainage_line_ids.parent_state",
        "construction_retainage_line_ids.construction_retainage_kind",
    )
    def _compute_construction_retainage(self):
        for order in self:
            withheld = released = 0.0
            for line in order.construction_retainage_line_ids:
                if line.parent_state != "posted":
                    continue
                if line.construction_retainage_kind == "withhold":
                    withheld -= line.balance
                elif line.construction_retainage_kind == "release":
                    released += line.balance
            currency = order.company_id.currency_id
            order.construction_retainage_withheld = currency.round(withheld)
            order.construction_retainage_released = currency.round(released)
            order.construction_retainage_balance = currency.round(withheld - released)

    @api.depends(
        "state",
        "order_line.analytic_distribution",
        "order_line.price_subtotal",
        "order_line.construction_committed_amount",
    )
    def _compute_construction_budget_state(self):
        for order in self:
            checks = order._construction_budget_checks()
            if not checks:
                order.construction_budget_state = "none"
                order.construction_budget_message = False
                continue
            overruns = [check for check in checks if check["over"]]
            order.construction_budget_state = "over" if overruns else "ok"
            order.construction_budget_message = (
                order._construction_overrun_text(overruns) if overruns else False
            )

    @api.constrains("construction_is_subcontract", "construction_retainage_percent")
    def _check_construction_retainage(self):
        for order in self:
            if order.construction_retainage_percent and not (
                order.construction_is_subcontract
            ):
                raise ValidationError(
                    _(
                        "%(order)s withholds retainage but is not a subcontract.",
                        order=order.name,
                    )
                )

    # ---- budget control ----

    def _construction_budget_checks(self):
        """Per project and cost code: revised budget against billed + committed cost
        + this order (its untaxed amount in company currency, while not confirmed:
        once confirmed it is already in the committed cost)."""
        self.ensure_one()
        lines = self.order_line.filtered(
            lambda line: not line.display_type and line.analytic_distribution
        )
        if not lines:
            return []
        split = self.env["account.analytic.account"]._construction_split_keys(
            {key for line in lines for key in line.analytic_distribution}
        )
        confirmed = self.state in ("purchase", "done")
        this_order = defaultdict(float)
        for line in lines:
            amount = 0.0 if confirmed else line._construction_amount_cc()
            for key, percent in line.analytic_distribution.items():
                project, cost_code, _cost_type, _others = split[key]
                if project and cost_code:
                    this_order[(project, cost_code)] += amount * (percent or 0.0) / 100
        if not this_order:
            return []
        projects = self.env["project.project"].union(*(k[0] for k in this_order))
        cost_codes = self.env["account.analytic.account"].union(
            *(k[1] for k in this_order)
        )
        # sudo: a buyer may not read budgets; only the totals of the cost codes this
        # order charges are used, to tell whether it fits.
        groups = (
            self.env["construction.budget.line"]
            .sudo()
            ._read_group(
                [
                    ("project_id", "in", projects.ids),
                    ("cost_code_id", "in", cost_codes.ids),
                ],
                ["project_id", "cost_code_id"],
                ["revised_amount:sum", "actual_amount:sum", "committed_amount:sum"],
            )
        )
        budget = {
            (project.id, cost_code.id): (revised, actual + committed)
            for project, cost_code, revised, actual, committed in groups
        }
        currency = self.company_id.currency_id
        checks = []
        for (project, cost_code), amount in this_order.items():
            revised, used = budget.get((project.id, cost_code.id), (0.0, 0.0))
            amount = currency.round(amount)
            total = currency.round(used + amount)
            checks.append(
                {
                    "project": project,
                    "cost_code": cost_code,
                    "revised": revised,
                    "used": used,
                    "amount": amount,
                    "total": total,
                    "over": currency.compare_amounts(total, revised) > 0,
                }
            )
        return checks

    def _construction_overrun_text(self, overruns):
        currency = self.company_id.currency_id
        return "\n".join(
            self.env._(
                "%(project)s / %(cost_code)s: revised budget %(revised)s, billed and "
                "committed %(used)s, this order %(amount)s, over by %(over)s",
                project=check["project"].name,
                cost_code=check["cost_code"].display_name,
                revised=currency.format(check["revised"]),
                used=currency.format(check["used"]),
                amount=currency.format(check["amount"]),
                over=currency.format(check["total"] - check["revised"]),
            )
            for check in overruns
        )

    def _construction_check_lines(self):
        """Lines of a construction order (its project has a job-cost budget) carry
        project and cost code; subcontract lines are services."""
        for order in self:
            construction = order.project_id.construction_budget_ids
            for line in order.order_line.filtered(lambda pol: not pol.display_type):
                project = line.construction_project_id or order.project_id
                if construction and not line.construction_project_id:
                    raise ValidationError(
                        _(
                            "Line %(line)s of %(order)s has no project in its analytic "
                            "distribution.",
                            line=line.name,
                            order=order.name,
                        )
                    )
                if (
                    project.construction_budget_ids
                    and project.construction_require_cost_code
                    and not line.construction_cost_code_id
                ):
                    raise ValidationError(
                        _(
                            "Line %(line)s of %(order)s needs a cost code: project "
                            "%(project)s requires one on every purchase.",
                            line=line.name,
                            order=order.name,
                            project=project.name,
                        )
                    )
                if order.construction_is_subcontract and line.product_id.type != (
                    "service"
                ):
                    raise ValidationError(
                        _(
                            "Subcontract %(order)s: schedule-of-values line %(line)s "
                            "must be a service.",
                            order=order.name,
                            line=line.name,
                        )
                    )

    def _construction_check_budget(self):
        """Apply each project's budget policy. Returns an action when a manager's
        override is needed and no reason was given, else None."""
        reason = self.env.context.get("construction_budget_override_reason")
        is_manager = self.env.user.has_group(MANAGER_GROUP)
        for order in self:
            overruns = [c for c in order._construction_budget_checks() if c["over"]]
            if not overruns:
                continue
            by_policy = defaultdict(list)
            for check in overruns:
                by_policy[check["project"].construction_budget_policy].append(check)
            if by_policy.get("block"):
                raise UserError(
                    _(
                        "%(order)s cannot be confirmed: it goes over budget.\n"
                        "%(overruns)s",
                        order=order.name,
                        overruns=order._construction_overrun_text(by_policy["block"]),
                    )
                )
            if by_policy.get("override"):
                text = order._construction_overrun_text(by_policy["override"])
                if not is_manager:
                    raise UserError(
                        _(
                            "%(order)s goes over budget: only a Construction Manager "
                            "can confirm it, with a written reason.\n%(overruns)s",
                            order=order.name,
                            overruns=text,
                        )
                    )
                if not (reason or "").strip():
                    return order._construction_action_override(text)
                order.write(
                    {
                        "construction_budget_override_reason": reason.strip(),
                        "construction_budget_override_user_id": self.env.user.id,
                    }
                )
                order.message_post(
                    body=_(
                        "Budget overrun overridden by %(user)s: %(reason)s\n"
                        "%(overruns)s",
                        user=self.env.user.name,
                        reason=reason.strip(),
                        overruns=text,
                    ),
                    subtype_xmlid="mail.mt_note",
                )
            if by_policy.get("warn"):
                text = order._construction_overrun_text(by_policy["warn"])
                order.message_post(
                    body=_("Confirmed over budget:\n%(overruns)s", overruns=text),
                    subtype_xmlid="mail.mt_note",
                )
                for project in {c["project"] for c in by_policy["warn"]}:
                    order.activity_schedule(
                        "mail.mail_activity_data_todo",
                        user_id=(project.user_id or self.env.user).id,
                        summary=_("Purchase over budget on %(p)s", p=project.name),
                        note=text,
                    )
        return None

    def _construction_action_override(self, text):
        self.ensure_one()
        wizard = self.env["construction.budget.override.wizard"].create(
            {"order_id": self.id, "overrun_text": text}
        )
        return {
            "type": "ir.actions.act_window",
            "name": _("Override Budget"),
            "res_model": wizard._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    def button_confirm(self):
        to_check = self.filtered(lambda order: order.state in ("draft", "sent"))
        to_check._construction_check_lines()
        action = to_check._construction_check_budget()
        if action:
            return action
        return super().button_confirm()

    def button_approve(self, force=False):
        before = {order: order.state for order in self}
        result = super().button_approve(force=force)
        approved = self.filtered(
            lambda o: o.state in ("purchase", "done") and before[o] != o.state
        )
        approved.order_line._construction_refresh_budgets()
        # purchase_order.confirmed is sent by the automation rule "Send confirmed
        # purchase orders" (data/construction_outbound_data.xml).
        return result

    def button_cancel(self):
        confirmed = self.filtered(lambda o: o.state in ("purchase", "done"))
        keys = confirmed.order_line._construction_budget_keys()
        result = super().button_cancel()
        self.env["construction.budget.line"]._refresh_committed_for_keys(keys)
        self.order_line.construction_request_line_id.request_id._update_progress_state()
        confirmed._construction_publish(CANCELLED_EVENT)
        return result

    def write(self, vals):
        result = super().write(vals)
        if "currency_rate" in vals or "date_planned" in vals:
            confirmed = self.filtered(lambda o: o.state in ("purchase", "done"))
            confirmed.order_line._construction_refresh_budgets()
            if "date_planned" in vals:
                confirmed._construction_publish(CHANGED_EVENT)
        return result

    # ---- subcontract bills and retainage ----

    def _construction_bill_terms(self, invoice_date):
        """When a bill of this order is due: by the order's payment terms."""
        self.ensure_one()
        return self.env["account.move"]._construction_due_terms(
            self.payment_term_id, invoice_date
        )

    def action_create_invoice(self):
        self._construction_check_no_pay_applications()
        result = super().action_create_invoice()
        self.invoice_ids.filtered(
            lambda m: m.state == "draft"
        )._construction_sync_retainage()
        return result

    def _construction_retainage_available(self, currency):
        """Retainage held and not already being released (draft release bills),
        in ``currency``: foreign-currency items count at their own amount, others
        are converted from the company currency."""
        self.ensure_one()
        company = self.company_id
        total = 0.0
        for line in self.construction_retainage_line_ids:
            if line.parent_state == "cancel" or (
                line.parent_state == "draft"
                and line.construction_retainage_kind != "release"
            ):
                continue
            if line.currency_id == currency:
                total -= line.amount_currency
            else:
                total -= company.currency_id._convert(
                    line.balance, currency, company, line.date or fields.Date.today()
                )
        return currency.round(total)

    def _construction_check_no_manual_bills(self):
        """A subcontract is billed either by pay applications or by vendor bills
        from the order, never both."""
        for order in self:
            bills = order.order_line.invoice_lines.move_id.filtered(
                lambda m: m.state != "cancel" and not m.construction_sub_pay_app_id
            )
            if bills:
                raise UserError(
                    _(
                        "%(order)s is already billed by vendor bills from the order "
                        "(%(bills)s): it cannot also be billed by pay applications. "
                        "Cancel those bills first.",
                        order=order.name,
                        bills=", ".join(bills.mapped("display_name")),
                    )
                )

    def _construction_check_no_pay_applications(self):
        orders = self.filtered("construction_pay_application_ids")
        if orders:
            raise UserError(
                _(
                    "%(orders)s is billed by subcontractor pay applications: create "
                    "a pay application instead of a vendor bill from the order.",
                    orders=", ".join(orders.mapped("name")),
                )
            )

    def action_release_retainage(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Release Retainage"),
            "res_model": "construction.retainage.release.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_id": self.id},
        }

    def _construction_release_retainage(self, amount, date=None):
        """Draft vendor bill releasing ``amount`` (company currency) of retainage."""
        self.ensure_one()
        currency = self.company_id.currency_id
        pending = sum(
            line.balance
            for line in self.construction_retainage_line_ids
            if line.construction_retainage_kind == "release"
            and line.parent_state == "draft"
        )
        available = currency.round(self.construction_retainage_balance - pending)
        if currency.compare_amounts(amount, 0.0) <= 0:
            raise UserError(_("The retainage to release must be positive."))
        if currency.compare_amounts(amount, available) > 0:
            raise UserError(
                _(
                    "%(order)s holds %(available)s of retainage not yet released: "
                    "%(amount)s cannot be released.",
                    order=self.name,
                    available=currency.format(available),
                    amount=currency.format(amount),
                )
            )
        account = self.company_id._construction_retention_payable_account()
        return (
            self.env["account.move"]
            .with_company(self.company_id)
            .create(
                {
                    "move_type": "in_invoice",
                    "partner_id": self.partner_id.id,
                    "company_id": self.company_id.id,
                    "currency_id": currency.id,
                    "invoice_origin": self.name,
                    "invoice_date": date or fields.Date.context_today(self),
                    "invoice_line_ids": [
                        (
                            0,
                            0,
                            {
                                "name": _(
                                    "Retainage released on %(order)s", order=self.name
                                ),
                                "account_id": account.id,
                                "quantity": 1.0,
                                "price_unit": amount,
                                "tax_ids": [(5, 0, 0)],
                                "construction_retainage_order_id": self.id,
                                "construction_retainage_kind": "release",
                            },
                        )
                    ],
                }
            )
        )

    # ---- supplier portal ----

    def _construction_portal_payload(self):
        self.ensure_one()
        return {
            "order": self.name,
            "partner_ref": self.partner_ref or None,
            "state": self.state,
            "currency": self.currency_id.name,
            "date_planned": fields.Datetime.to_string(self.date_planned)
            if self.date_planned
            else None,
            "project": self.project_id.name or None,
            "lines": [
                {
                    "line_id": line.id,
                    "product": line.product_id.default_code or line.product_id.name,
                    "description": line.name,
                    "quantity": line.product_qty,
                    "uom": line.product_uom.name,
                    "price_unit": line.price_unit,
                    "cost_code": line.construction_cost_code_id.code or None,
                    "date_planned": fields.Datetime.to_string(line.date_planned)
                    if line.date_planned
                    else None,
                }
                for line in self.order_line
                if not line.display_type
            ],
        }

    def _construction_publish(self, event_type):
        """Tell supplier portals about this order (outbox once it exists)."""
        if "construction.event" not in self.env:
            return
        Event = self.env["construction.event"]
        if not hasattr(Event, "_publish"):
            return
        for order in self:
            Event._publish(
                False, event_type, order, order._construction_portal_payload()
            )

    construction_change_order_count = fields.Integer(
        string="Change Orders",
        compute="_compute_construction_change_order_count",
        groups="construction_connector_base.group_construction_user",
    )

    def _compute_construction_change_order_count(self):
        counts = dict(
            self.env["construction.change.order"]._read_group(
                [("purchase_order_id", "in", self.ids)],
                ["purchase_order_id"],
                ["__count"],
            )
        )
        for order in self:
            order.construction_change_order_count = counts.get(order, 0)

    def action_view_construction_change_orders(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_change_order.construction_change_order_action"
        )
        action["domain"] = [("purchase_order_id", "=", self.id)]
        action["context"] = {
            "default_side": "commitment",
            "default_project_id": self.project_id.id,
            "default_partner_id": self.partner_id.id,
            "default_purchase_order_id": self.id,
        }
        return action

    def action_view_construction_budget(self):
        self.ensure_one()
        return self.project_id.action_view_construction_budget()
