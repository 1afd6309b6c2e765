from collections import defaultdict
from datetime import timedelta

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_date


class ConstructionWipReport(models.TransientModel):
    """Work-in-progress schedule (percentage of completion, cost-to-cost) as of a
    date, one line per project with prime contracts: contract amount, estimated
    cost at completion, cost to date, earned revenue, billed to date and the
    over/under billing a controller books at month end."""

    _name = "construction.wip.report"
    _description = "Work in Progress Schedule"
    _check_company_auto = True

    as_of = fields.Date(
        string="As of",
        required=True,
        default=fields.Date.context_today,
        help="Cost and billings posted up to this date, contract changes approved "
        "by then; for a past date, each budget's last forecast saved on or before "
        "it (the current estimate where none was saved).",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    include_closed = fields.Boolean(
        string="Include Closed Contracts",
        help="Also list projects whose prime contracts are all closed.",
    )
    line_ids = fields.One2many("construction.wip.report.line", "report_id")

    def action_compute(self):
        self.ensure_one()
        states = ["active", "closed"] if self.include_closed else ["active"]
        contracts = self.env["construction.contract"].search(
            [("company_id", "=", self.company_id.id), ("state", "in", states)]
        )
        if not contracts:
            raise UserError(
                _(
                    "%(company)s has no active prime contract: the work in progress "
                    "schedule lists projects with prime contracts.",
                    company=self.company_id.name,
                )
            )
        # Every contract billed on the listed projects counts, closed ones too: the
        # projects' costs are all in.
        contracts = contracts.search(
            [
                ("project_id", "in", contracts.project_id.ids),
                ("state", "in", ["active", "closed"]),
            ]
        )
        self.line_ids.unlink()
        self.env["construction.wip.report.line"].create(self._line_values(contracts))
        return self.action_view_lines()

    def action_view_lines(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_billing.construction_wip_report_line_action"
        )
        action["domain"] = [("report_id", "=", self.id)]
        action["display_name"] = _(
            "Work in Progress as of %(date)s",
            date=format_date(self.env, self.as_of),
        )
        return action

    def action_post_adjustment(self):
        self.ensure_one()
        return self._post_adjustment(self.line_ids)

    def _post_adjustment(self, lines):
        """Book the over and under billing of these lines of the schedule: one
        journal entry on the schedule's date (under billing: asset against
        revenue; over billing: revenue against liability), reversed the next day,
        so each month's schedule books its own figures."""
        self.ensure_one()
        Move = self.env["account.move"].with_company(self.company_id)
        if not Move.has_access("create"):
            raise UserError(
                _("Only accounting users can book the work in progress adjustment.")
            )
        lines = lines.filtered(
            lambda line: not line.currency_id.is_zero(line.over_under_billing)
        )
        if not lines:
            raise UserError(
                _(
                    "Nothing to book: show the schedule first, or no project is over "
                    "or under billed."
                )
            )
        booked = Move.search(
            [
                ("company_id", "=", self.company_id.id),
                ("construction_wip_date", "=", self.as_of),
                ("state", "=", "posted"),
            ],
            limit=1,
        )
        if booked:
            raise UserError(
                _(
                    "The work in progress of %(date)s is already booked (%(move)s). "
                    "Cancel that entry and its reversal to book it again.",
                    date=format_date(self.env, self.as_of),
                    move=booked.display_name,
                )
            )
        journal = self.env["account.journal"].search(
            [
                *self.env["account.journal"]._check_company_domain(self.company_id),
                ("type", "=", "general"),
            ],
            limit=1,
        )
        if not journal:
            raise UserError(
                _(
                    "%(company)s has no miscellaneous journal.",
                    company=self.company_id.name,
                )
            )
        missing = lines.filtered(lambda line: not line.revenue_account_id)
        if missing:
            raise UserError(
                _(
                    "No revenue account on the prime contract of %(projects)s.",
                    projects=", ".join(missing.project_id.mapped("display_name")),
                )
            )
        asset, liability = self.company_id._construction_wip_accounts()
        move_lines = []
        for line in lines:
            amount = abs(line.over_under_billing)
            if line.currency_id.compare_amounts(line.over_under_billing, 0.0) < 0:
                label = _("Under billing, %(project)s", project=line.project_id.name)
                debit_account, credit_account = asset, line.revenue_account_id
            else:
                label = _("Over billing, %(project)s", project=line.project_id.name)
                debit_account, credit_account = line.revenue_account_id, liability
            move_lines += [
                Command.create(
                    {"name": label, "account_id": debit_account.id, "debit": amount}
                ),
                Command.create(
                    {"name": label, "account_id": credit_account.id, "credit": amount}
                ),
            ]
        ref = _(
            "Work in progress adjustment as of %(date)s",
            date=format_date(self.env, self.as_of),
        )
        move = Move.create(
            {
                "move_type": "entry",
                "journal_id": journal.id,
                "date": self.as_of,
                "ref": ref,
                "construction_wip_date": self.as_of,
                "line_ids": move_lines,
            }
        )
        move.action_post()
        reversal = move._reverse_moves(
            [
                {
                    "date": self.as_of + timedelta(days=1),
                    "ref": _("Reversal of: %(ref)s", ref=ref),
                }
            ]
        )
        reversal.action_post()
        return move.get_formview_action()

    def _line_values(self, contracts):
        currency = self.company_id.currency_id
        projects = contracts.project_id
        costs = self._cost_to_date(projects)
        estimates, estimate_notes = self._estimated_costs(projects)
        billed = self._billed_to_date(contracts)
        amounts = self._contract_amounts(contracts)
        contracts_by_project = defaultdict(lambda: contracts.browse())
        for contract in contracts:
            contracts_by_project[contract.project_id] |= contract
        vals_list = []
        for project in projects:
            project_contracts = contracts_by_project[project]
            contract_amount = currency.round(amounts.get(project.id, 0.0))
            cost = currency.round(costs.get(project.id, 0.0))
            estimate = currency.round(estimates.get(project.id, 0.0))
            notes = list(estimate_notes.get(project.id, []))
            if currency.compare_amounts(estimate, 0.0) <= 0:
                notes.append(_("No cost estimate: the project has no budget."))
                ratio = 0.0
            else:
                ratio = min(cost / estimate, 1.0)
            earned = currency.round(contract_amount * ratio)
            estimated_profit = currency.round(contract_amount - estimate)
            if currency.compare_amounts(estimated_profit, 0.0) < 0:
                # A projected loss is recognised in full as soon as it is known.
                profit_to_date = estimated_profit
                notes.append(_("Projected loss, recognised in full."))
            else:
                profit_to_date = currency.round(earned - cost)
            vals_list.append(
                {
                    "report_id": self.id,
                    "project_id": project.id,
                    "partner_id": project_contracts[:1].partner_id.id,
                    "revenue_account_id": project_contracts[:1].revenue_account_id.id,
                    "contract_amount": contract_amount,
                    "estimated_cost": estimate,
                    "estimated_gross_profit": estimated_profit,
                    "cost_to_date": cost,
                    "cost_to_complete": currency.round(max(estimate - cost, 0.0)),
                    "percent_complete": ratio * 100.0,
                    "earned_revenue": earned,
                    "gross_profit_to_date": profit_to_date,
                    "billed_to_date": currency.round(billed.get(project.id, 0.0)),
                    "note": " ".join(notes) or False,
                }
            )
        return vals_list

    def _cost_to_date(self, projects):
        """{project id: job cost posted up to the date}: the analytic lines of the
        budget's actual cost (cost-coded, invoicing excluded)."""
        accounts = projects.account_id
        if not accounts:
            return {}
        plan = self.env["account.analytic.plan"]
        # sudo: the schedule's readers need not read analytic lines; the figures are
        # totals of the projects of prime contracts they can already read.
        groups = (
            self.env["account.analytic.line"]
            .sudo()
            ._read_group(
                [
                    ("account_id", "in", accounts.ids),
                    (plan._construction_column("cost_code"), "!=", False),
                    ("category", "!=", "invoice"),
                    ("date", "<=", self.as_of),
                ],
                ["account_id"],
                ["amount:sum"],
            )
        )
        project_by_account = {p.account_id.id: p.id for p in projects}
        # Costs are negative analytic amounts.
        return {project_by_account[account.id]: -amount for account, amount in groups}

    def _contract_amounts(self, contracts):
        """{project id: contract sum as of the date}: the original sums plus the
        changes approved by then."""
        totals = defaultdict(float)
        for contract in contracts:
            totals[contract.project_id.id] += contract.original_contract_sum
        groups = self.env["construction.contract.change"]._read_group(
            [("contract_id", "in", contracts.ids), ("date", "<=", self.as_of)],
            ["contract_id"],
            ["amount:sum"],
        )
        for contract, amount in groups:
            totals[contract.project_id.id] += amount
        return totals

    def _estimated_costs(self, projects):
        """({project id: estimate at completion}, {project id: [notes]}): for a
        past date, each budget's last forecast saved on or before it, as the
        controller signed it off for that month; today, or for a budget without
        such a forecast, the budget's current estimate."""
        totals, notes = defaultdict(float), defaultdict(list)
        budgets = self.env["construction.budget"].search(
            [("project_id", "in", projects.ids)]
        )
        past = self.as_of < fields.Date.context_today(self)
        forecasts = {}
        if past:
            for forecast in self.env["construction.budget.forecast"].search(
                [("budget_id", "in", budgets.ids), ("date", "<=", self.as_of)]
            ):  # newest first: keep each budget's first
                forecasts.setdefault(forecast.budget_id, forecast)
        for budget, forecast in forecasts.items():
            totals[budget.project_id.id] += forecast.estimate_at_completion
            notes[budget.project_id.id].append(
                _(
                    "Estimate of the forecast of %(date)s.",
                    date=format_date(self.env, forecast.date),
                )
            )
        current = budgets.filtered(lambda budget: budget not in forecasts)
        if past:
            for budget in current:
                notes[budget.project_id.id].append(
                    _(
                        "Current estimate: no forecast saved by %(date)s.",
                        date=format_date(self.env, self.as_of),
                    )
                )
        groups = self.env["construction.budget.line"]._read_group(
            [("budget_id", "in", current.ids)],
            ["budget_id"],
            ["estimate_at_completion:sum"],
        )
        for budget, amount in groups:
            totals[budget.project_id.id] += amount
        return totals, notes

    def _billed_to_date(self, contracts):
        """{project id: billed up to the date}: the posted invoice lines of the
        contracts (work and stored materials, credit notes deducted), retainage
        lines and taxes excluded, as the ledger holds them."""
        # sudo: readers of the schedule need not read journal items; the totals
        # are of prime contracts they can already read.
        groups = (
            self.env["account.move.line"]
            .sudo()
            ._read_group(
                [
                    ("move_id.construction_contract_id", "in", contracts.ids),
                    ("parent_state", "=", "posted"),
                    ("display_type", "=", "product"),
                    ("date", "<=", self.as_of),
                    ("account_id", "not in", contracts.retention_account_id.ids),
                ],
                ["move_id"],
                ["balance:sum"],
            )
        )
        totals = defaultdict(float)
        for move, balance in groups:
            # Revenue is a credit: a negative balance.
            totals[move.construction_contract_id.project_id.id] -= balance
        return totals


class ConstructionWipReportLine(models.TransientModel):
    _name = "construction.wip.report.line"
    _description = "Work in Progress Schedule Line"
    _order = "project_id"

    report_id = fields.Many2one(
        "construction.wip.report", required=True, ondelete="cascade"
    )
    as_of = fields.Date(related="report_id.as_of")
    company_id = fields.Many2one(related="report_id.company_id")
    currency_id = fields.Many2one(related="report_id.company_id.currency_id")
    project_id = fields.Many2one("project.project", required=True, readonly=True)
    partner_id = fields.Many2one("res.partner", string="Owner", readonly=True)
    revenue_account_id = fields.Many2one(
        "account.account",
        readonly=True,
        help="Revenue account of the project's prime contract, adjusted by the "
        "work in progress entry.",
    )
    contract_amount = fields.Monetary(
        readonly=True,
        help="Original sums of the project's prime contracts plus the changes "
        "approved by the date.",
    )
    estimated_cost = fields.Monetary(
        string="Estimated Cost",
        readonly=True,
        help="Estimate at completion of the project's job-cost budget: for a past "
        "date, its last forecast saved by then.",
    )
    estimated_gross_profit = fields.Monetary(
        string="Estimated Gross Profit", readonly=True
    )
    cost_to_date = fields.Monetary(
        readonly=True, help="Job cost posted up to the date (analytic ledger)."
    )
    cost_to_complete = fields.Monetary(readonly=True)
    percent_complete = fields.Float(
        string="% Complete",
        digits=(16, 4),
        readonly=True,
        help="Cost to date ÷ estimated cost, at most 100%.",
    )
    earned_revenue = fields.Monetary(
        readonly=True, help="Contract amount × % complete."
    )
    gross_profit_to_date = fields.Monetary(readonly=True)
    billed_to_date = fields.Monetary(
        readonly=True,
        help="Posted invoices of the prime contracts up to the date, before "
        "retainage and taxes.",
    )
    over_under_billing = fields.Monetary(
        string="Over (Under) Billing",
        compute="_compute_over_under",
        store=True,
        help="Billed to date − earned revenue.",
    )
    over_billing = fields.Monetary(
        string="Billings in Excess",
        compute="_compute_over_under",
        store=True,
        help="Billings in excess of costs and estimated earnings (a liability).",
    )
    under_billing = fields.Monetary(
        string="Costs in Excess",
        compute="_compute_over_under",
        store=True,
        help="Costs and estimated earnings in excess of billings (an asset).",
    )
    note = fields.Char(readonly=True)

    def action_post_adjustment(self):
        """Book the selected projects' over and under billing (one entry)."""
        if len(self.report_id) != 1:
            raise UserError(_("Select lines of one schedule."))
        return self.report_id._post_adjustment(self)

    @api.depends("billed_to_date", "earned_revenue")
    def _compute_over_under(self):
        for line in self:
            difference = line.currency_id.round(
                line.billed_to_date - line.earned_revenue
            )
            line.over_under_billing = difference
            line.over_billing = max(difference, 0.0)
            line.under_billing = max(-difference, 0.0)
