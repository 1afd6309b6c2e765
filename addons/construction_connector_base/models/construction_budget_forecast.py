from odoo import _, api, fields, models
from odoo.tools.misc import format_date

# Budget line columns a forecast keeps, as they stood when it was saved.
FORECAST_COLUMNS = [
    "revised_amount",
    "projected_amount",
    "committed_amount",
    "actual_amount",
    "forecast_to_complete",
    "estimate_at_completion",
    "over_under_amount",
]


class ConstructionBudgetForecast(models.Model):
    """A saved projection of a job-cost budget (the month's cost forecast): each
    line's revised budget, committed and actual cost, forecast to complete and
    estimate at completion as they stood, so later months show what moved."""

    _name = "construction.budget.forecast"
    _description = "Job-Cost Forecast"
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    budget_id = fields.Many2one(
        "construction.budget",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    project_id = fields.Many2one(related="budget_id.project_id", store=True)
    company_id = fields.Many2one(related="budget_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(required=True, default=fields.Date.context_today)
    note = fields.Text(help="Why the forecast moved: the controller's comments.")
    line_ids = fields.One2many("construction.budget.forecast.line", "forecast_id")
    revised_amount = fields.Monetary(compute="_compute_totals", store=True)
    actual_amount = fields.Monetary(compute="_compute_totals", store=True)
    estimate_at_completion = fields.Monetary(compute="_compute_totals", store=True)
    over_under_amount = fields.Monetary(
        string="Projected Over/Under", compute="_compute_totals", store=True
    )

    @api.depends("project_id.name", "date")
    def _compute_name(self):
        for forecast in self:
            forecast.name = _(
                "%(project)s forecast of %(date)s",
                project=forecast.project_id.name or "",
                date=format_date(self.env, forecast.date) if forecast.date else "",
            )

    @api.depends(
        "line_ids.revised_amount",
        "line_ids.actual_amount",
        "line_ids.estimate_at_completion",
        "line_ids.over_under_amount",
    )
    def _compute_totals(self):
        for forecast in self:
            lines = forecast.line_ids
            forecast.revised_amount = sum(lines.mapped("revised_amount"))
            forecast.actual_amount = sum(lines.mapped("actual_amount"))
            forecast.estimate_at_completion = sum(
                lines.mapped("estimate_at_completion")
            )
            forecast.over_under_amount = sum(lines.mapped("over_under_amount"))


class ConstructionBudgetForecastLine(models.Model):
    _name = "construction.budget.forecast.line"
    _description = "Job-Cost Forecast Line"
    _order = "forecast_id, cost_code_id, cost_type_id"

    forecast_id = fields.Many2one(
        "construction.budget.forecast", required=True, index=True, ondelete="cascade"
    )
    date = fields.Date(related="forecast_id.date", store=True)
    project_id = fields.Many2one(related="forecast_id.project_id", store=True)
    company_id = fields.Many2one(related="forecast_id.company_id", store=True)
    currency_id = fields.Many2one(related="forecast_id.currency_id")
    cost_code_id = fields.Many2one(
        "account.analytic.account", required=True, ondelete="restrict"
    )
    cost_type_id = fields.Many2one("account.analytic.account", ondelete="restrict")
    revised_amount = fields.Monetary(string="Revised Budget")
    projected_amount = fields.Monetary(string="Projected Budget")
    committed_amount = fields.Monetary(string="Committed Costs")
    actual_amount = fields.Monetary(string="Actual Costs")
    forecast_to_complete = fields.Monetary()
    estimate_at_completion = fields.Monetary()
    over_under_amount = fields.Monetary(string="Projected Over/Under")
