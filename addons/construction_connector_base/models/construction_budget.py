from markupsafe import Markup

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import create_unique_index

from ..tools.security import check_manager
from .construction_budget_forecast import FORECAST_COLUMNS

# Budget columns summed into the budget totals, in the order controllers read them.
BUDGET_COLUMNS = [
    "original_amount",
    "modification_amount",
    "approved_change_amount",
    "revised_amount",
    "pending_change_amount",
    "projected_amount",
    "committed_amount",
    "actual_amount",
    "forecast_to_complete",
    "estimate_at_completion",
    "over_under_amount",
]


class ConstructionBudget(models.Model):
    _name = "construction.budget"
    _description = "Project Job-Cost Budget"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "project_id"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    project_id = fields.Many2one(
        comodel_name="project.project",
        required=True,
        index=True,
        check_company=True,
        tracking=True,
        ondelete="restrict",
    )
    company_id = fields.Many2one(
        comodel_name="res.company",
        required=True,
        index=True,
        compute="_compute_company_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    state = fields.Selection(
        selection=[("draft", "Open"), ("locked", "Locked")],
        default="draft",
        required=True,
        copy=False,
        index=True,
        tracking=True,
        help="A locked budget freezes the original amounts: it then changes only "
        "through budget modifications and change orders.",
    )
    locked_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    locked_date = fields.Datetime(readonly=True, copy=False)
    line_ids = fields.One2many(
        comodel_name="construction.budget.line", inverse_name="budget_id", copy=True
    )
    modification_ids = fields.One2many(
        comodel_name="construction.budget.modification", inverse_name="budget_id"
    )
    modification_count = fields.Integer(compute="_compute_modification_count")
    forecast_ids = fields.One2many("construction.budget.forecast", "budget_id")
    forecast_count = fields.Integer(compute="_compute_forecast_count")
    note = fields.Html()

    original_amount = fields.Monetary(compute="_compute_totals")
    modification_amount = fields.Monetary(compute="_compute_totals")
    approved_change_amount = fields.Monetary(compute="_compute_totals")
    revised_amount = fields.Monetary(compute="_compute_totals")
    pending_change_amount = fields.Monetary(compute="_compute_totals")
    projected_amount = fields.Monetary(compute="_compute_totals")
    committed_amount = fields.Monetary(compute="_compute_totals")
    actual_amount = fields.Monetary(compute="_compute_totals")
    forecast_to_complete = fields.Monetary(compute="_compute_totals")
    estimate_at_completion = fields.Monetary(compute="_compute_totals")
    over_under_amount = fields.Monetary(compute="_compute_totals")

    _sql_constraints = [
        (
            "project_unique",
            "UNIQUE(project_id)",
            "A project has one job-cost budget.",
        ),
    ]

    @api.depends("project_id.name")
    def _compute_name(self):
        for budget in self:
            budget.name = _("Budget: %(project)s", project=budget.project_id.name or "")

    @api.depends("project_id")
    def _compute_company_id(self):
        for budget in self:
            budget.company_id = (
                budget.project_id.company_id or budget.company_id or (self.env.company)
            )

    def _compute_modification_count(self):
        counts = self._count_by_budget("construction.budget.modification")
        for budget in self:
            budget.modification_count = counts.get(budget, 0)

    def _count_by_budget(self, model):
        """{budget: number of its records of ``model``} in one grouped query."""
        return dict(
            self.env[model]._read_group(
                [("budget_id", "in", self.ids)], ["budget_id"], ["__count"]
            )
        )

    @api.depends(*(f"line_ids.{column}" for column in BUDGET_COLUMNS))
    def _compute_totals(self):
        """Project totals in one grouped query over the stored line columns."""
        groups = {
            budget: values
            for budget, *values in self.env["construction.budget.line"]._read_group(
                [("budget_id", "in", self.ids)],
                ["budget_id"],
                [f"{column}:sum" for column in BUDGET_COLUMNS],
            )
        }
        for budget in self:
            values = groups.get(budget) or [0.0] * len(BUDGET_COLUMNS)
            for column, value in zip(BUDGET_COLUMNS, values, strict=True):
                budget[column] = budget.currency_id.round(value or 0.0)

    @api.model_create_multi
    def create(self, vals_list):
        budgets = super().create(vals_list)
        # Actual cost is read from the project's analytic account: make sure it has one.
        for project in budgets.project_id.filtered(lambda p: not p.account_id):
            project._create_analytic_account()
        return budgets

    @api.ondelete(at_uninstall=False)
    def _unlink_except_locked(self):
        if any(budget.state == "locked" for budget in self):
            raise UserError(_("A locked budget cannot be deleted."))

    def action_lock(self):
        self._check_manager()
        self.filtered(lambda b: b.state == "draft").write(
            {
                "state": "locked",
                "locked_by_id": self.env.user.id,
                "locked_date": fields.Datetime.now(),
            }
        )

    def action_unlock(self):
        self._check_manager()
        self.filtered(lambda b: b.state == "locked").write(
            {"state": "draft", "locked_by_id": False, "locked_date": False}
        )

    def action_view_modifications(self):
        return self._action_budget_records(
            "construction_connector_base.construction_budget_modification_action"
        )

    def _action_budget_records(self, xmlid):
        """The window action ``xmlid`` on this budget's records."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["domain"] = [("budget_id", "=", self.id)]
        action["context"] = {"default_budget_id": self.id}
        return action

    def action_refresh_actuals(self):
        """Recompute actual cost from the analytic lines (normally automatic)."""
        self.line_ids._recompute_actuals()

    @api.depends("forecast_ids")
    def _compute_forecast_count(self):
        counts = self._count_by_budget("construction.budget.forecast")
        for budget in self:
            budget.forecast_count = counts.get(budget, 0)

    def action_save_forecast(self):
        """Save each budget's projection as it stands today (one forecast per
        budget, its lines in one create)."""
        forecasts = self.env["construction.budget.forecast"].create(
            [
                {
                    "budget_id": budget.id,
                    "line_ids": [
                        Command.create(
                            {
                                "cost_code_id": line.cost_code_id.id,
                                "cost_type_id": line.cost_type_id.id,
                                **{column: line[column] for column in FORECAST_COLUMNS},
                            }
                        )
                        for line in budget.line_ids
                    ],
                }
                for budget in self
            ]
        )
        for forecast in forecasts:
            forecast.budget_id.message_post(
                body=Markup("%s")
                % _(
                    "Forecast saved: estimate at completion %(eac)s.",
                    eac=forecast.currency_id.format(forecast.estimate_at_completion),
                )
            )
        if len(forecasts) == 1:
            return forecasts.get_formview_action()
        return True

    def action_view_forecasts(self):
        return self._action_budget_records(
            "construction_connector_base.construction_budget_forecast_action"
        )

    def _check_manager(self):
        check_manager(
            self.env, _("Only a Construction Manager can lock or unlock a budget.")
        )

    def _project_counts(self, model, domain=None, projects=None):
        """{project: count} of ``model`` records of these budgets' projects (or
        of ``projects``), for the smart buttons domain addons add."""
        projects = self.project_id if projects is None else projects
        return dict(
            self.env[model]._read_group(
                [("project_id", "in", projects.ids)] + (domain or []),
                ["project_id"],
                ["__count"],
            )
        )


class ConstructionBudgetLine(models.Model):
    _name = "construction.budget.line"
    _description = "Project Job-Cost Budget Line"
    _order = "budget_id, cost_code_code, cost_type_id, id"
    _rec_names_search = ["cost_code_id", "name"]
    _check_company_auto = True

    budget_id = fields.Many2one(
        comodel_name="construction.budget",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    project_id = fields.Many2one(related="budget_id.project_id", store=True, index=True)
    company_id = fields.Many2one(related="budget_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="budget_id.currency_id")
    budget_state = fields.Selection(related="budget_id.state")
    cost_code_id = fields.Many2one(
        comodel_name="account.analytic.account",
        required=True,
        index=True,
        check_company=True,
        ondelete="restrict",
        domain="[('construction_role', '=', 'cost_code')]",
    )
    cost_code_code = fields.Char(related="cost_code_id.code", store=True)
    division_id = fields.Many2one(
        related="cost_code_id.plan_id", store=True, string="Division"
    )
    cost_type_id = fields.Many2one(
        comodel_name="account.analytic.account",
        index=True,
        check_company=True,
        ondelete="restrict",
        domain="[('construction_role', '=', 'cost_type')]",
    )
    name = fields.Char(string="Description")

    original_amount = fields.Monetary(string="Original Budget")
    modification_line_ids = fields.One2many(
        comodel_name="construction.budget.modification.line",
        inverse_name="budget_line_id",
    )
    modification_amount = fields.Monetary(
        string="Budget Modifications",
        compute="_compute_modification_amount",
        store=True,
    )
    approved_change_amount = fields.Monetary(
        string="Approved Changes", compute="_compute_change_amounts", store=True
    )
    pending_change_amount = fields.Monetary(
        string="Pending Changes", compute="_compute_change_amounts", store=True
    )
    revised_amount = fields.Monetary(
        string="Revised Budget", compute="_compute_revised_amount", store=True
    )
    projected_amount = fields.Monetary(
        string="Projected Budget", compute="_compute_projected_amount", store=True
    )
    committed_amount = fields.Monetary(
        string="Committed Costs",
        compute="_compute_committed_amount",
        store=True,
        help="Open commitments: confirmed purchase orders and subcontracts not yet "
        "billed; what is billed moves to Actual Costs. Reconciliation compares the "
        "ordered value (open and billed) with the external system's commitments.",
    )
    actual_amount = fields.Monetary(
        string="Actual Costs", compute="_compute_actual_amount", store=True
    )
    forecast_method = fields.Selection(
        selection=[("auto", "Automatic"), ("manual", "Manual")],
        default="auto",
        required=True,
        help="Automatic: what remains of the projected budget, but never less than "
        "the committed cost still to be billed. Manual: the amount you enter.",
    )
    forecast_manual_amount = fields.Monetary(string="Manual Forecast to Complete")
    forecast_to_complete = fields.Monetary(
        compute="_compute_forecast", store=True, string="Forecast to Complete"
    )
    estimate_at_completion = fields.Monetary(
        compute="_compute_forecast", store=True, string="Estimate at Completion"
    )
    over_under_amount = fields.Monetary(
        compute="_compute_forecast",
        store=True,
        string="Projected Over/Under",
        help="Projected budget minus estimate at completion: negative means overrun.",
    )
    last_forecast_eac = fields.Monetary(
        string="EAC at Last Forecast",
        compute="_compute_forecast_change",
        help="Estimate at completion of this line in the budget's latest saved "
        "forecast.",
    )
    forecast_eac_change = fields.Monetary(
        string="EAC Change",
        compute="_compute_forecast_change",
        help="Estimate at completion now minus at the latest saved forecast "
        "(positive: the cost is forecast to grow).",
    )

    _sql_constraints = [
        (
            "original_amount_positive",
            "CHECK(original_amount >= 0)",
            "The original budget of a line cannot be negative: "
            "move money between lines with a budget modification.",
        ),
        (
            "forecast_manual_amount_positive",
            "CHECK(forecast_manual_amount >= 0)",
            "The forecast to complete cannot be negative.",
        ),
    ]

    def init(self):
        # One line per cost code and cost type in a budget (no cost type counts once).
        create_unique_index(
            self.env.cr,
            "construction_budget_line_key_uniq",
            self._table,
            ["budget_id", "cost_code_id", "COALESCE(cost_type_id, 0)"],
        )

    @api.depends("modification_line_ids.amount", "modification_line_ids.state")
    def _compute_modification_amount(self):
        groups = dict(
            self.env["construction.budget.modification.line"]._read_group(
                [("budget_line_id", "in", self.ids), ("state", "=", "applied")],
                ["budget_line_id"],
                ["amount:sum"],
            )
        )
        for line in self:
            line.modification_amount = groups.get(line, 0.0)

    def _compute_change_amounts(self):
        """Approved and pending change-order amounts: filled by change orders."""
        self.approved_change_amount = 0.0
        self.pending_change_amount = 0.0

    def _compute_committed_amount(self):
        """Confirmed commitments not yet billed: filled by procurement."""
        self.committed_amount = 0.0

    @api.depends("original_amount", "modification_amount", "approved_change_amount")
    def _compute_revised_amount(self):
        for line in self:
            line.revised_amount = line.currency_id.round(
                line.original_amount
                + line.modification_amount
                + line.approved_change_amount
            )

    @api.depends("revised_amount", "pending_change_amount")
    def _compute_projected_amount(self):
        for line in self:
            line.projected_amount = line.currency_id.round(
                line.revised_amount + line.pending_change_amount
            )

    @api.depends("budget_id.project_id.account_id", "cost_code_id", "cost_type_id")
    def _compute_actual_amount(self):
        """Posted cost from analytic lines (vendor bills, timesheets, expenses).

        One grouped query for all lines; also triggered by analytic line changes.
        """
        totals = self._actual_amounts_by_key()
        for line in self:
            line.actual_amount = line.currency_id.round(
                totals.get(line._budget_key(), 0.0)
            )

    @api.depends(
        "forecast_method",
        "forecast_manual_amount",
        "projected_amount",
        "committed_amount",
        "actual_amount",
    )
    def _compute_forecast(self):
        for line in self:
            currency = line.currency_id
            if line.forecast_method == "manual":
                forecast = line.forecast_manual_amount
            else:
                forecast = max(
                    line.projected_amount - line.actual_amount,
                    line.committed_amount,
                    0.0,
                )
            line.forecast_to_complete = currency.round(forecast)
            line.estimate_at_completion = currency.round(
                line.actual_amount + line.forecast_to_complete
            )
            line.over_under_amount = currency.round(
                line.projected_amount - line.estimate_at_completion
            )

    @api.depends("cost_code_id", "cost_type_id", "name")
    def _compute_display_name(self):
        for line in self:
            parts = [line.cost_code_id.display_name, line.cost_type_id.name]
            line.display_name = " / ".join(p for p in parts if p)

    @api.constrains("cost_code_id", "cost_type_id")
    def _check_dimensions(self):
        for line in self:
            if line.cost_code_id.construction_role != "cost_code":
                raise ValidationError(
                    _("%(account)s is not a cost code.", account=line.cost_code_id.name)
                )
            if line.cost_type_id and line.cost_type_id.construction_role != "cost_type":
                raise ValidationError(
                    _("%(account)s is not a cost type.", account=line.cost_type_id.name)
                )

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        for line in lines:
            if line.budget_id.state == "locked" and line.currency_id.compare_amounts(
                line.original_amount, 0.0
            ):
                raise UserError(
                    _(
                        "Budget %(budget)s is locked: add line %(line)s with no "
                        "original amount and fund it with a budget modification.",
                        budget=line.budget_id.name,
                        line=line.display_name,
                    )
                )
        lines._log_lines(_("Budget lines added"))
        return lines

    def write(self, vals):
        if "original_amount" in vals:
            self._log_original_changes(vals["original_amount"])
        moving = {"budget_id", "cost_code_id", "cost_type_id"} & set(vals)
        if moving:
            # Writing a line's own values again (data reload, idempotent API
            # upsert) is no move.
            moved = self.filtered(
                lambda line: any(line[f].id != (vals[f] or False) for f in moving)
            )
            if moved.filtered(lambda line: line.budget_id.state == "locked"):
                raise UserError(
                    _(
                        "The lines of a locked budget cannot be moved to another "
                        "cost code."
                    )
                )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_locked_or_used(self):
        if self.filtered(lambda line: line.budget_id.state == "locked"):
            raise UserError(_("Lines of a locked budget cannot be deleted."))
        if self.modification_line_ids.filtered(lambda m: m.state == "applied"):
            raise UserError(
                _("A budget line with applied budget modifications cannot be deleted.")
            )

    def unlink(self):
        self._log_lines(_("Budget lines removed"))
        return super().unlink()

    def _log_lines(self, title):
        """One chatter note per budget listing these lines and their original amount."""
        for budget in self.budget_id:
            items = Markup("").join(
                Markup("<li>%s: %s</li>")
                % (line.display_name, line.currency_id.format(line.original_amount))
                for line in self.filtered(
                    lambda line, budget=budget: line.budget_id == budget
                )
            )
            budget.message_post(
                body=Markup("%s<ul>%s</ul>") % (title, items),
                subtype_xmlid="mail.mt_note",
            )

    def _log_original_changes(self, new_amount):
        for line in self:
            currency = line.currency_id
            if not currency.compare_amounts(line.original_amount, new_amount or 0.0):
                continue
            if line.budget_id.state == "locked":
                raise UserError(
                    _(
                        "Budget %(budget)s is locked: its original amounts are frozen. "
                        "Use a budget modification or a change order.",
                        budget=line.budget_id.name,
                    )
                )
            line.budget_id.message_post(
                body=_(
                    "Original budget of %(line)s: %(old)s → %(new)s",
                    line=line.display_name,
                    old=currency.format(line.original_amount),
                    new=currency.format(new_amount or 0.0),
                ),
                subtype_xmlid="mail.mt_note",
            )

    # ---- actual cost from analytic lines ----

    def _budget_key(self):
        self.ensure_one()
        return (
            self.budget_id.project_id.account_id.id,
            self.cost_code_id.id,
            self.cost_type_id.id or False,
        )

    @api.model
    def _actual_domain(self, project_accounts, cost_codes):
        """Analytic lines of actual cost: of these project accounts and cost
        codes, invoicing (revenue) excluded."""
        plan = self.env["account.analytic.plan"]
        return [
            ("account_id", "in", project_accounts.ids),
            (plan._construction_column("cost_code"), "in", cost_codes.ids),
            ("category", "!=", "invoice"),
        ]

    def _actual_amounts_by_key(self):
        """{(project account, cost code, cost type): cost} for these lines' keys."""
        accounts = self.budget_id.project_id.account_id
        if not accounts or not self.cost_code_id:
            return {}
        plan = self.env["account.analytic.plan"]
        cost_code_column = plan._construction_column("cost_code")
        cost_type_column = plan._construction_column("cost_type")
        # sudo: budget readers need not read analytic lines; the figure is restricted
        # to the projects and cost codes of budget lines the caller can already see.
        groups = (
            self.env["account.analytic.line"]
            .sudo()
            ._read_group(
                self._actual_domain(accounts, self.cost_code_id),
                ["account_id", cost_code_column, cost_type_column],
                ["amount:sum"],
            )
        )
        # Costs are negative analytic amounts.
        return {
            (account.id, cost_code.id, cost_type.id or False): -amount
            for account, cost_code, cost_type, amount in groups
        }

    def _recompute_actuals(self):
        if self:
            self.env.add_to_compute(self._fields["actual_amount"], self)
            self.modified(["actual_amount"])

    @api.model
    def _refresh_actuals_for_keys(self, keys):
        """Analytic lines changed for these (project account, cost code, cost type).

        Recomputes the matching budget lines and adds a zero-original line for cost
        posted to a cost code the project's budget does not have yet, so the budget's
        actual cost always reconciles with the analytic ledger.
        """
        keys = {key for key in keys if key[0] and key[1]}
        if not keys:
            return
        budgets = (
            self.env["construction.budget"]
            .sudo()
            .search([("project_id.account_id", "in", list({k[0] for k in keys}))])
        )
        if not budgets:
            return
        lines = self.sudo().search(
            [
                ("budget_id", "in", budgets.ids),
                ("cost_code_id", "in", list({k[1] for k in keys})),
            ]
        )
        existing = {line._budget_key() for line in lines}
        budget_by_account = {b.project_id.account_id.id: b for b in budgets}
        missing = [
            {
                "budget_id": budget_by_account[account].id,
                "cost_code_id": cost_code,
                "cost_type_id": cost_type,
                "name": self.env._("Unbudgeted cost"),
            }
            for account, cost_code, cost_type in keys - existing
            if account in budget_by_account
        ]
        if missing:
            lines |= self.sudo().create(missing)
        lines._recompute_actuals()

    # ---- demo data ----

    @api.model
    def _demo_post_vendor_bills(self, bills):
        """Post demo vendor bills: [(project, vendor, [(code, type, amount)])].

        Called from demo data only, so that budgets show actual cost out of the box.
        """
        journal = self.env["account.journal"].search(
            [("type", "=", "purchase"), ("company_id", "=", self.env.company.id)],
            limit=1,
        )
        if not journal:  # no chart of accounts: nothing to post
            return
        cost_type_of = {
            kind: self.env.ref(f"construction_connector_base.cost_type_{kind}")
            for kind in ("labor", "material", "equipment", "subcontract", "other")
        }
        for project_xmlid, vendor_xmlid, lines in bills:
            project = self.env.ref(project_xmlid)
            codes = self.env["account.analytic.account"].search(
                [
                    ("construction_role", "=", "cost_code"),
                    ("company_id", "=", project.company_id.id),
                    ("code", "in", [code for code, _kind, _amount in lines]),
                ]
            )
            code_by_name = {code.code: code for code in codes}
            move = self.env["account.move"].create(
                {
                    "move_type": "in_invoice",
                    "partner_id": self.env.ref(vendor_xmlid).id,
                    "invoice_date": fields.Date.context_today(self),
                    "journal_id": journal.id,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "name": code_by_name[code].name,
                                "quantity": 1,
                                "price_unit": amount,
                                "tax_ids": [Command.clear()],
                                "analytic_distribution": {
                                    f"{project.account_id.id},{code_by_name[code].id},"
                                    f"{cost_type_of[kind].id}": 100
                                },
                            }
                        )
                        for code, kind, amount in lines
                    ],
                }
            )
            move.action_post()

    @api.depends("estimate_at_completion", "budget_id.forecast_ids")
    def _compute_forecast_change(self):
        """One search for the budgets' latest forecasts and one read of their
        lines."""
        Forecast = self.env["construction.budget.forecast"]
        latest = {}
        for forecast in Forecast.search(
            [("budget_id", "in", self.budget_id.ids)], order="date desc, id desc"
        ):
            latest.setdefault(forecast.budget_id, forecast)
        saved = {}
        for forecast_line in Forecast.browse([f.id for f in latest.values()]).line_ids:
            key = (
                forecast_line.forecast_id.budget_id,
                forecast_line.cost_code_id,
                forecast_line.cost_type_id,
            )
            saved[key] = saved.get(key, 0.0) + forecast_line.estimate_at_completion
        for line in self:
            key = (line.budget_id, line.cost_code_id, line.cost_type_id)
            before = saved.get(key, 0.0)
            line.last_forecast_eac = before
            line.forecast_eac_change = (
                line.currency_id.round(line.estimate_at_completion - before)
                if line.budget_id in latest
                else 0.0
            )
