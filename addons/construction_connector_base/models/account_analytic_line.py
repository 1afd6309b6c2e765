from odoo import api, models


class AccountAnalyticLine(models.Model):
    """Keeps the budget's Actual Costs column in step with the analytic ledger."""

    _inherit = "account.analytic.line"

    def _construction_budget_keys(self):
        plan = self.env["account.analytic.plan"]
        cost_code_column = plan._construction_column("cost_code")
        cost_type_column = plan._construction_column("cost_type")
        if not cost_code_column or cost_code_column not in self._fields:
            return set()
        return {
            (
                line.account_id.id,
                line[cost_code_column].id,
                line[cost_type_column].id or False,
            )
            for line in self
            # revenue (customer invoices) is not cost: same rule as the Actual column
            if line.account_id and line[cost_code_column] and line.category != "invoice"
        }

    def _construction_refresh_budgets(self, keys):
        self.env["construction.budget.line"]._refresh_actuals_for_keys(keys)

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        self._construction_refresh_budgets(lines._construction_budget_keys())
        return lines

    def write(self, vals):
        plan = self.env["account.analytic.plan"]
        watched = {
            "amount",
            "account_id",
            "category",
            plan._construction_column("cost_code"),
            plan._construction_column("cost_type"),
        }
        if not watched & set(vals):
            return super().write(vals)
        before = self._construction_budget_keys()
        result = super().write(vals)
        self._construction_refresh_budgets(before | self._construction_budget_keys())
        return result

    def unlink(self):
        keys = self._construction_budget_keys()
        result = super().unlink()
        self._construction_refresh_budgets(keys)
        return result
