from odoo import models


class AccountAnalyticLine(models.Model):
    _inherit = "account.analytic.line"

    def _construction_budget_keys(self):
        """Revenue billed to a project and cost code is not cost: it must not
        add "Unbudgeted cost" lines to the job-cost budget (the budget's Actual
        Costs already leave customer invoices out)."""
        costs = self.filtered(
            lambda line: (
                not (
                    line.move_line_id
                    and line.move_line_id.move_id.is_sale_document(
                        include_receipts=True
                    )
                )
            )
        )
        return super(AccountAnalyticLine, costs)._construction_budget_keys()
