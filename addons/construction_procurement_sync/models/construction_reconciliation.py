from odoo import api, models

COMMITTED_STATES = ("purchase", "done")


class ConstructionReconciliationRun(models.Model):
    _inherit = "construction.reconciliation.run"

    @api.model
    def _reconciliation_metrics(self):
        return super()._reconciliation_metrics() + ["committed"]

    @api.model
    def _reconciliation_odoo_figures(self, projects):
        """Committed cost: the ordered value of confirmed purchase orders and
        subcontracts, as the commitments report shows it (one grouped query)."""
        figures = super()._reconciliation_odoo_figures(projects)
        if not projects:
            return figures
        # sudo: totals only, see the base method.
        groups = (
            self.env["construction.commitment.report"]
            .sudo()
            ._read_group(
                [
                    ("project_id", "in", projects.ids),
                    ("cost_code_id", "!=", False),
                    ("state", "in", COMMITTED_STATES),
                ],
                ["project_id", "cost_code_id"],
                ["ordered_amount:sum"],
            )
        )
        figures.update(
            {
                (project.id, cost_code.id, "committed"): amount
                for project, cost_code, amount in groups
            }
        )
        return figures


class ConstructionReconciliationMismatch(models.Model):
    _inherit = "construction.reconciliation.mismatch"

    def _odoo_records_action(self):
        if self.metric != "committed":
            return super()._odoo_records_action()
        rows = self.env["construction.commitment.report"].search(
            [
                ("project_id", "=", self.project_id.id),
                ("cost_code_id", "=", self.cost_code_id.id),
                ("state", "in", COMMITTED_STATES),
            ]
        )
        return self._records_action(
            "purchase.order.line", [("id", "in", rows.purchase_line_id.ids)]
        )
