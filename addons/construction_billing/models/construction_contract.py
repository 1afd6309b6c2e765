from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_compare, format_amount


class ConstructionContract(models.Model):
    """Prime contract between the company and the owner (customer) of a project."""

    _name = "construction.contract"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Construction Prime Contract"
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Contract",
        required=True,
        copy=False,
        default=lambda self: _("New"),
        tracking=True,
    )
    project_id = fields.Many2one(
        "project.project",
        required=True,
        check_company=True,
        tracking=True,
        index=True,
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        tracking=True,
        check_company=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    state = fields.Selection(
        [("draft", "Draft"), ("active", "Active"), ("closed", "Closed")],
        default="draft",
        required=True,
        tracking=True,
        copy=False,
    )
    billing_method = fields.Selection(
        [("progress", "Progress (AIA G702/G703)"), ("milestone", "Milestones")],
        default="progress",
        required=True,
        tracking=True,
    )
    original_contract_sum = fields.Monetary(tracking=True)
    payment_term_id = fields.Many2one(
        "account.payment.term", check_company=True, tracking=True
    )
    # Retainage rules
    retainage_rate_work = fields.Float(
        string="Retainage on Completed Work (%)", digits=(5, 2), tracking=True
    )
    retainage_rate_stored = fields.Float(
        string="Retainage on Stored Materials (%)", digits=(5, 2), tracking=True
    )
    retainage_reduction = fields.Boolean(
        string="Reduce Retainage",
        tracking=True,
        help="Withhold a lower rate on completed work once the contract reaches a"
        " percentage of completion (e.g. 10% until 50% complete, then 5%).",
    )
    retainage_reduction_threshold = fields.Float(
        string="Reduce at % Complete", digits=(5, 2), default=50.0, tracking=True
    )
    retainage_reduced_rate = fields.Float(
        string="Reduced Rate (%)", digits=(5, 2), tracking=True
    )
    retainage_cap = fields.Boolean(string="Cap Retainage", tracking=True)
    retainage_cap_percent = fields.Float(
        string="Cap (% of Contract Sum)", digits=(5, 2), tracking=True
    )
    retainage_cap_include_change_orders = fields.Boolean(
        string="Cap Includes Approved Change Orders",
        default=True,
        tracking=True,
        help="Compute the cap on the contract sum to date (with approved change"
        " orders) rather than on the original contract sum.",
    )
    milestone_retainage = fields.Boolean(
        string="Retainage on Milestones",
        help="Withhold the completed-work retainage rate on milestone invoices.",
    )
    # Accounting
    journal_id = fields.Many2one(
        "account.journal",
        string="Sales Journal",
        check_company=True,
        domain="[('type', '=', 'sale')]",
        compute="_compute_journal_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    revenue_account_id = fields.Many2one(
        "account.account",
        string="Revenue Account",
        check_company=True,
        compute="_compute_revenue_account_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    retention_account_id = fields.Many2one(
        "account.account",
        string="Retention Receivable Account",
        check_company=True,
        compute="_compute_retention_account_id",
        store=True,
        readonly=False,
        precompute=True,
        help="Defaults to the company's Retention Receivable account (created on"
        " demand). Reconcilable, not a receivable account.",
    )
    tax_ids = fields.Many2many(
        "account.tax",
        string="Taxes",
        check_company=True,
        domain="[('type_tax_use', '=', 'sale')]",
        help="Taxes applied to the work and stored materials billed. Retainage"
        " lines are not taxed: the tax is charged in full on the earned amount"
        " when it is billed, and the retainage withheld and released is a"
        " settlement of that receivable.",
    )
    # Lines
    sov_line_ids = fields.One2many(
        "construction.sov.line", "contract_id", string="Schedule of Values"
    )
    change_ids = fields.One2many("construction.contract.change", "contract_id")
    pay_application_ids = fields.One2many(
        "construction.pay.application", "contract_id", string="Pay Applications"
    )
    milestone_ids = fields.One2many(
        "construction.billing.milestone", "contract_id", string="Billing Milestones"
    )
    release_ids = fields.One2many(
        "construction.retainage.release", "contract_id", string="Retainage Releases"
    )
    # Totals
    change_order_amount = fields.Monetary(
        string="Net Change by Change Orders",
        compute="_compute_amounts",
        store=True,
    )
    contract_sum_to_date = fields.Monetary(compute="_compute_amounts", store=True)
    sov_total = fields.Monetary(
        string="Schedule of Values Total", compute="_compute_amounts", store=True
    )
    billed_to_date = fields.Monetary(
        string="Completed and Stored to Date", compute="_compute_billing_status"
    )
    retainage_withheld = fields.Monetary(compute="_compute_billing_status")
    retainage_released = fields.Monetary(compute="_compute_billing_status")
    retainage_held = fields.Monetary(
        string="Retainage Held", compute="_compute_billing_status"
    )
    retainage_in_ledger = fields.Monetary(
        string="Retainage in the Ledger",
        compute="_compute_retainage_in_ledger",
        help="Balance of the Retention Receivable account on this contract's posted "
        "invoices and their credit notes. It equals Retainage Held unless an "
        "invoice was reversed, changed or entered outside the pay applications, "
        "milestones and releases.",
    )
    retainage_ledger_warning = fields.Char(compute="_compute_retainage_in_ledger")
    pay_application_count = fields.Integer(compute="_compute_billing_status")
    change_order_count = fields.Integer(compute="_compute_change_order_count")

    _sql_constraints = [
        (
            "rates_range",
            "CHECK(retainage_rate_work >= 0 AND retainage_rate_work <= 100"
            " AND retainage_rate_stored >= 0 AND retainage_rate_stored <= 100"
            " AND retainage_reduced_rate >= 0 AND retainage_reduced_rate <= 100"
            " AND retainage_cap_percent >= 0 AND retainage_cap_percent <= 100"
            " AND retainage_reduction_threshold >= 0"
            " AND retainage_reduction_threshold <= 100)",
            "Retainage rates, thresholds and caps are percentages between 0 and 100.",
        ),
        (
            "original_sum_positive",
            "CHECK(original_contract_sum >= 0)",
            "The original contract sum cannot be negative.",
        ),
    ]

    @api.depends("company_id")
    def _compute_journal_id(self):
        for contract in self:
            if not contract.journal_id or contract.journal_id.company_id != (
                contract.company_id
            ):
                contract.journal_id = self.env["account.journal"].search(
                    [
                        *self.env["account.journal"]._check_company_domain(
                            contract.company_id
                        ),
                        ("type", "=", "sale"),
                    ],
                    limit=1,
                )

    @api.depends("journal_id")
    def _compute_revenue_account_id(self):
        for contract in self:
            if not contract.revenue_account_id:
                contract.revenue_account_id = contract.journal_id.default_account_id

    @api.depends("company_id")
    def _compute_retention_account_id(self):
        for contract in self:
            if not contract.retention_account_id:
                contract.retention_account_id = (
                    contract.company_id.construction_retention_receivable_account_id
                )

    @api.depends(
        "original_contract_sum", "sov_line_ids.scheduled_value", "change_ids.amount"
    )
    def _compute_amounts(self):
        for contract in self:
            contract.change_order_amount = sum(contract.change_ids.mapped("amount"))
            contract.contract_sum_to_date = (
                contract.original_contract_sum + contract.change_order_amount
            )
            contract.sov_total = sum(contract.sov_line_ids.mapped("scheduled_value"))

    @api.depends(
        "pay_application_ids.state",
        "pay_application_ids.retainage_total",
        "milestone_ids.invoice_id",
        "milestone_ids.retainage_amount",
        "release_ids.state",
        "release_ids.amount_total",
    )
    def _compute_billing_status(self):
        for contract in self:
            last = contract._last_invoiced_application()
            contract.billed_to_date = last.total_completed_stored
            contract.pay_application_count = len(contract.pay_application_ids)
            withheld = last.retainage_total + sum(
                contract.milestone_ids.filtered("invoice_id").mapped("retainage_amount")
            )
            released = sum(
                contract.release_ids.filtered(
                    lambda r: r.state in ("invoiced", "paid")
                ).mapped("amount_total")
            )
            contract.retainage_withheld = withheld
            contract.retainage_released = released
            contract.retainage_held = withheld - released

    def _retention_items_domain(self):
        return [
            ("account_id", "in", self.retention_account_id.ids),
            ("parent_state", "=", "posted"),
            "|",
            ("move_id.construction_contract_id", "in", self.ids),
            ("move_id.reversed_entry_id.construction_contract_id", "in", self.ids),
        ]

    @api.depends("retainage_held", "retention_account_id")
    def _compute_retainage_in_ledger(self):
        """One grouped read of the retention journal items of all contracts."""
        # sudo: totals of the journal items of contracts the user can read;
        # billing users need not read Accounting.
        groups = (
            self.env["account.move.line"]
            .sudo()
            ._read_group(
                self._retention_items_domain(),
                ["move_id", "account_id"],
                ["amount_currency:sum"],
            )
            if self.ids
            else []
        )
        totals = dict.fromkeys(self.ids, 0.0)
        for move, account, amount in groups:
            contract = (
                move.construction_contract_id
                or move.reversed_entry_id.construction_contract_id
            )
            if contract.id in totals and account == contract.retention_account_id:
                totals[contract.id] += amount
        for contract in self:
            currency = contract.currency_id
            ledger = currency.round(totals.get(contract.id, 0.0))
            contract.retainage_in_ledger = ledger
            contract.retainage_ledger_warning = (
                _(
                    "The Retention Receivable account holds %(ledger)s for this "
                    "contract, the pay applications, milestones and releases "
                    "%(held)s: an invoice was reversed, changed or entered outside "
                    "them. Check the retention journal items.",
                    ledger=format_amount(self.env, ledger, currency),
                    held=format_amount(self.env, contract.retainage_held, currency),
                )
                if currency.compare_amounts(ledger, contract.retainage_held)
                else False
            )

    def action_view_retention_items(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Retention Journal Items"),
            "res_model": "account.move.line",
            "view_mode": "list,form",
            "domain": self._retention_items_domain(),
            "context": {"search_default_group_by_move": 1, "create": False},
        }

    @api.constrains("retention_account_id")
    def _check_retention_account(self):
        for contract in self:
            account = contract.retention_account_id
            if account and (
                not account.reconcile
                or account.account_type in ("asset_receivable", "liability_payable")
            ):
                raise ValidationError(
                    _(
                        "The Retention Receivable account %(account)s must allow"
                        " reconciliation and must not be a receivable or payable"
                        " account.",
                        account=account.display_name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name", _("New")) == _("New"):
                vals["name"] = self.env["ir.sequence"].next_by_code(
                    "construction.contract"
                ) or _("New")
        return super().create(vals_list)

    def write(self, vals):
        locked = {"original_contract_sum", "billing_method", "project_id", "company_id"}
        if locked & set(vals) and any(
            c.pay_application_ids or c.milestone_ids.filtered("invoice_id")
            for c in self
        ):
            raise UserError(
                _(
                    "The original contract sum, billing method, project and company"
                    " cannot change once the contract has been billed; record an"
                    " approved change order instead."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_if_never_billed(self):
        if self.pay_application_ids or self.milestone_ids.filtered("invoice_id"):
            raise UserError(_("A contract that has been billed cannot be deleted."))

    # ------------------------------------------------------------------
    # Business helpers
    # ------------------------------------------------------------------
    def _invoice_terms(self, invoice_date):
        """When an invoice of this contract is due: by its payment terms."""
        self.ensure_one()
        return self.env["account.move"]._construction_due_terms(
            self.payment_term_id, invoice_date
        )

    def _get_retention_account(self):
        self.ensure_one()
        if not self.retention_account_id:
            self.retention_account_id = (
                self.company_id._construction_retention_receivable_account()
            )
        return self.retention_account_id

    def _last_invoiced_application(self):
        """The latest application whose invoice is posted: its figures are the
        ones in the ledger."""
        self.ensure_one()
        return self.pay_application_ids.filtered(
            lambda a: a.state in ("invoiced", "paid")
        ).sorted("number")[-1:]

    def _last_certified_application(self):
        self.ensure_one()
        return self.pay_application_ids.filtered(
            lambda a: a.approval_state == "certified"
        ).sorted("number")[-1:]

    def _contract_sum_at(self, date):
        """Original contract sum plus the changes approved on or before `date`."""
        self.ensure_one()
        return self.original_contract_sum + sum(
            self.change_ids.filtered(lambda c: c.date <= date).mapped("amount")
        )

    def _check_sov_balanced(self):
        for contract in self.filtered(lambda c: c.billing_method == "progress"):
            original = sum(contract.sov_line_ids.mapped("original_value"))
            if (
                contract.currency_id.compare_amounts(
                    original, contract.original_contract_sum
                )
                != 0
            ):
                raise ValidationError(
                    _(
                        "The schedule of values of %(contract)s totals %(sov)s but"
                        " the original contract sum is %(sum)s: they must be equal.",
                        contract=contract.name,
                        sov=original,
                        sum=contract.original_contract_sum,
                    )
                )

    def _check_retainage_rules(self):
        for contract in self:
            if contract.retainage_reduction and (
                float_compare(
                    contract.retainage_reduced_rate,
                    contract.retainage_rate_work,
                    precision_digits=2,
                )
                > 0
            ):
                raise ValidationError(
                    _(
                        "The reduced retainage rate cannot be higher than the rate"
                        " on completed work."
                    )
                )

    def action_activate(self):
        for contract in self:
            if contract.state != "draft":
                raise UserError(_("Only draft contracts can be activated."))
            if contract.billing_method == "progress" and not contract.sov_line_ids:
                raise UserError(
                    _(
                        "Add the schedule of values before activating %(contract)s.",
                        contract=contract.name,
                    )
                )
        self._check_sov_balanced()
        self._check_retainage_rules()
        for contract in self:
            contract._get_retention_account()
        self.state = "active"

    def action_close(self):
        self.state = "closed"

    def action_reopen(self):
        self.state = "active"

    def action_new_pay_application(self):
        self.ensure_one()
        application = self.env["construction.pay.application"].create(
            {"contract_id": self.id}
        )
        return application.get_formview_action()

    def action_view_pay_applications(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_billing.construction_pay_application_action"
        )
        action["domain"] = [("contract_id", "=", self.id)]
        action["context"] = {"default_contract_id": self.id}
        return action

    def action_view_invoices(self):
        self.ensure_one()
        moves = self.env["account.move"].search(
            [("construction_contract_id", "=", self.id)]
        )
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action["domain"] = [("id", "in", moves.ids)]
        action["context"] = {"create": False}
        return action

    def _compute_change_order_count(self):
        counts = self.env["construction.budget"]._project_counts(
            "construction.change.order", [("side", "=", "prime")], self.project_id
        )
        for contract in self:
            contract.change_order_count = counts.get(contract.project_id, 0)

    def action_view_construction_budget(self):
        self.ensure_one()
        return self.project_id.action_view_construction_budget()

    def action_view_change_orders(self):
        self.ensure_one()
        action = self.project_id.action_view_change_orders()
        action["domain"] = [
            ("project_id", "=", self.project_id.id),
            ("side", "=", "prime"),
        ]
        action["context"] = dict(action["context"], default_side="prime")
        return action

    def action_new_release(self):
        self.ensure_one()
        release = self.env["construction.retainage.release"].create(
            {"contract_id": self.id}
        )
        release.action_fill_percent(100.0)
        return release.get_formview_action()

    def action_invoice_milestones(self):
        self.ensure_one()
        return self.milestone_ids._create_invoice()

    def _refresh_draft_applications(self):
        self.pay_application_ids.filtered(
            lambda a: a.approval_state == "draft"
        )._refresh_from_contract()

    # ------------------------------------------------------------------
    # Prime change orders (called from construction.change.order)
    # ------------------------------------------------------------------
    @api.model
    def _for_change_order(self, change_order):
        """The active or closed prime contract a prime change order changes:
        the project's contract with the change order's customer, or its only
        one."""
        contracts = self.search(
            [
                ("project_id", "=", change_order.project_id.id),
                ("state", "in", ("active", "closed")),
            ]
        )
        if len(contracts) > 1 and change_order.partner_id:
            contracts = contracts.filtered(
                lambda c: (
                    c.partner_id.commercial_partner_id
                    == change_order.partner_id.commercial_partner_id
                )
            )
        return contracts[:1]

    def _prepare_change_order_changes(self, change_order, date, reference, lines):
        """Contract change values for the priced lines of a change order:
        one change per cost code, on the schedule-of-values line of that cost
        code, or on a new line added by the change order."""
        self.ensure_one()
        by_cost_code = {}
        for line in lines:
            by_cost_code.setdefault(line.cost_code_id, []).append(line)
        vals_list = []
        for cost_code, co_lines in by_cost_code.items():
            amount = self.currency_id.round(sum(co.price_amount for co in co_lines))
            if self.currency_id.is_zero(amount):
                continue
            sov_line = False
            if self.billing_method == "progress":
                sov_line = self.sov_line_ids.filtered(
                    lambda s, cc=cost_code: cc and s.cost_code_id == cc
                )[:1]
                if not sov_line:
                    sov_line = self.env["construction.sov.line"].create(
                        {
                            "contract_id": self.id,
                            "sequence": max(self.sov_line_ids.mapped("sequence") or [0])
                            + 1,
                            "item_no": self._next_item_no(),
                            "name": co_lines[0].name or reference,
                            "cost_code_id": cost_code.id,
                            "origin": "change_order",
                        }
                    )
            vals_list.append(
                {
                    "contract_id": self.id,
                    "sov_line_id": sov_line and sov_line.id,
                    "date": date,
                    "reference": reference,
                    "name": getattr(change_order, "title", False)
                    or change_order.display_name,
                    "amount": amount,
                    "res_model": change_order._name,
                    "res_id": change_order.id,
                }
            )
        return vals_list

    def _next_item_no(self):
        self.ensure_one()
        numbers = [
            int(item) for item in self.sov_line_ids.mapped("item_no") if item.isdigit()
        ]
        return str(max(numbers or [0]) + 1)

    def _apply_change_order(self, change_order, date=None):
        """Add an approved prime change order to the contract sum and the
        schedule of values."""
        self.ensure_one()
        if self.state == "draft":
            raise UserError(
                _(
                    "Activate contract %(contract)s before approving prime change"
                    " orders on it: a draft contract's original sum is still open.",
                    contract=self.name,
                )
            )
        lines = change_order._all_lines()
        vals_list = self._prepare_change_order_changes(
            change_order,
            date or fields.Date.context_today(self),
            change_order.display_name,
            lines,
        )
        return self.env["construction.contract.change"].create(vals_list)

    def _revert_change_order(self, change_order, date=None):
        """Reverse what a voided change order added: new negative changes,
        history untouched."""
        self.ensure_one()
        changes = self.change_ids.filtered(
            lambda c: c.res_model == change_order._name and c.res_id == change_order.id
        )
        net = {}
        for change in changes:
            net[change.sov_line_id] = net.get(change.sov_line_id, 0.0) + change.amount
        vals_list = [
            {
                "contract_id": self.id,
                "sov_line_id": sov_line.id,
                "date": date or fields.Date.context_today(self),
                "reference": change_order.display_name,
                "name": self.env._("Void of %(co)s", co=change_order.display_name),
                "amount": -amount,
                "res_model": change_order._name,
                "res_id": change_order.id,
            }
            for sov_line, amount in net.items()
            if not self.currency_id.is_zero(amount)
        ]
        return self.env["construction.contract.change"].create(vals_list)
