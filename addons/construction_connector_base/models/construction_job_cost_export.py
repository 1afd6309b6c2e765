from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools.security import check_manager

JOB_COST_EVENT = "job_cost.export"
# (payload key, budget line column) of the job-to-date cost export.
JOB_COST_COLUMNS = [
    ("original_budget", "original_amount"),
    ("budget_modifications", "modification_amount"),
    ("approved_changes", "approved_change_amount"),
    ("revised_budget", "revised_amount"),
    ("pending_changes", "pending_change_amount"),
    ("open_commitments", "committed_amount"),
    ("actual_cost", "actual_amount"),
    ("forecast_to_complete", "forecast_to_complete"),
    ("estimate_at_completion", "estimate_at_completion"),
    ("over_under", "over_under_amount"),
]


class ConstructionBudget(models.Model):
    """Job-to-date cost export per project and cost code (``job_cost.export``)."""

    _inherit = "construction.budget"

    def _job_cost_rows(self):
        """{budget: [(cost code, {column: sum})]} in one grouped query."""
        groups = self.env["construction.budget.line"]._read_group(
            [("budget_id", "in", self.ids)],
            ["budget_id", "cost_code_id"],
            [f"{column}:sum" for _key, column in JOB_COST_COLUMNS],
        )
        rows = {budget: [] for budget in self}
        for budget, cost_code, *sums in groups:
            rows[budget].append(
                (cost_code, dict(zip(JOB_COST_COLUMNS, sums, strict=True)))
            )
        return rows

    def _job_cost_payload(self, rows):
        self.ensure_one()
        currency = self.currency_id
        cost_codes = []
        totals = dict.fromkeys((key for key, _column in JOB_COST_COLUMNS), 0.0)
        for cost_code, sums in sorted(rows, key=lambda row: row[0].code or ""):
            entry = {"cost_code": cost_code.code, "name": cost_code.name}
            for (key, _column), value in sums.items():
                entry[key] = currency.round(value or 0.0)
                totals[key] += entry[key]
            cost_codes.append(entry)
        return {
            "project": {
                "id": self.project_id.id,
                "name": self.project_id.name,
            },
            "budget_state": self.state,
            "currency": currency.name,
            "as_of": fields.Datetime.to_string(fields.Datetime.now()) + "Z",
            "cost_codes": cost_codes,
            "totals": {key: currency.round(value) for key, value in totals.items()},
        }

    def _export_job_cost(self):
        """One ``job_cost.export`` message per budget and subscribed system."""
        Outbox = self.env["construction.outbox.message"]
        companies = Outbox._subscribed_backends(False, JOB_COST_EVENT, None).company_id
        budgets = self.filtered(lambda b: b.company_id in companies)
        if not budgets:
            return Outbox
        rows = budgets._job_cost_rows()
        messages = Outbox
        for budget in budgets:
            messages |= self.env["construction.event"]._publish(
                False, JOB_COST_EVENT, budget, budget._job_cost_payload(rows[budget])
            )
        return messages

    def action_export_job_cost(self):
        """Button: send the job-to-date cost of these projects now (managers)."""
        check_manager(
            self.env, _("Only a Construction Manager can send job-to-date cost.")
        )
        messages = self._export_job_cost()
        if not messages:
            raise UserError(
                _(
                    "No external system subscribes to %(event)s in this company: "
                    "add it to a system's outbound event types first.",
                    event=JOB_COST_EVENT,
                )
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _(
                    "Job-to-date cost queued: %(count)s message(s) to %(systems)s.",
                    count=len(messages),
                    systems=", ".join(sorted(set(messages.backend_id.mapped("name")))),
                ),
            },
        }

    @api.model
    def _cron_export_job_cost(self):
        """Scheduled: export every active project's budget to its subscribers."""
        # sudo: scheduled export of every company's projects (no user context).
        budgets = self.sudo().search([("project_id.active", "=", True)])
        return budgets._export_job_cost()
