from odoo import api, models


class ConstructionReconciliationRun(models.Model):
    _inherit = "construction.reconciliation.run"

    @api.model
    def _reconciliation_metrics(self):
        return super()._reconciliation_metrics() + ["approved_changes"]

    @api.model
    def _reconciliation_budget_columns(self):
        # The budget lines store the cost of approved owner change orders.
        return dict(
            super()._reconciliation_budget_columns(),
            approved_changes="approved_change_amount",
        )


class ConstructionReconciliationMismatch(models.Model):
    _inherit = "construction.reconciliation.mismatch"

    def _odoo_records_action(self):
        if self.metric != "approved_changes":
            return super()._odoo_records_action()
        return self._records_action(
            "construction.change.order",
            [
                ("side", "=", "prime"),
                ("budget_effect", "=", "approved"),
                ("line_ids.budget_line_id.project_id", "=", self.project_id.id),
                ("line_ids.budget_line_id.cost_code_id", "=", self.cost_code_id.id),
            ],
        )
