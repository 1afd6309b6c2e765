from odoo import api, models


class ConstructionBudgetLine(models.Model):
    _inherit = "construction.budget.line"

    @api.depends("budget_id.project_id", "cost_code_id", "cost_type_id")
    def _compute_committed_amount(self):
        """Open commitments of confirmed purchase lines, in one grouped query."""
        res = super()._compute_committed_amount()
        totals = self._committed_amounts_by_key()
        for line in self:
            key = (line.project_id.id, line.cost_code_id.id, line.cost_type_id.id)
            line.committed_amount = line.currency_id.round(
                line.committed_amount + totals.get(key, 0.0)
            )
        return res

    def _committed_amounts_by_key(self):
        """{(project id, cost code id, cost type id or False): open commitment}."""
        if not self.project_id or not self.cost_code_id:
            return {}
        # sudo: budget readers need not read purchase orders; the figure is
        # restricted to the projects and cost codes of budget lines they can see.
        groups = (
            self.env["construction.commitment.report"]
            .sudo()
            ._read_group(
                [
                    ("project_id", "in", self.project_id.ids),
                    ("cost_code_id", "in", self.cost_code_id.ids),
                    ("state", "in", ("purchase", "done")),
                ],
                ["project_id", "cost_code_id", "cost_type_id"],
                ["committed_amount:sum"],
            )
        )
        return {
            (project.id, cost_code.id, cost_type.id or False): amount
            for project, cost_code, cost_type, amount in groups
        }

    def _recompute_actuals(self):
        # Billing moves cost from committed to actual: refresh both together.
        result = super()._recompute_actuals()
        self._recompute_committed()
        return result

    def _recompute_committed(self):
        if self:
            self.env.add_to_compute(self._fields["committed_amount"], self)
            self.modified(["committed_amount"])

    @api.model
    def _refresh_committed_for_keys(self, keys):
        """Purchase commitments changed for these (project account, cost code, cost
        type): recompute the budget lines, adding "Unbudgeted cost" lines where the
        project's budget lacks one (as actual cost does)."""
        self._refresh_actuals_for_keys(keys)
