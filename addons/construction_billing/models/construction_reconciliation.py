from odoo import api, models
from odoo.tools import SQL

BILLED_STATES = ("invoiced", "paid")


class ConstructionReconciliationRun(models.Model):
    _inherit = "construction.reconciliation.run"

    @api.model
    def _reconciliation_metrics(self):
        return super()._reconciliation_metrics() + ["billed", "retainage_held"]

    @api.model
    def _reconciliation_odoo_figures(self, projects):
        """Billed to date and retainage held per schedule-of-values cost code.

        Billed to date and retainage withheld are the G703 columns G and I of each
        contract's latest invoiced application (what the ledger holds, as on the
        contract); retainage held is withheld minus invoiced releases. One grouped
        query. Milestone billing has no cost code and is not compared.
        """
        figures = super()._reconciliation_odoo_figures(projects)
        if not projects:
            return figures
        for model in (
            "construction.pay.application",
            "construction.pay.application.line",
            "construction.retainage.release",
            "construction.retainage.release.line",
            "construction.sov.line",
        ):
            self.env[model].flush_model()
        self.env.cr.execute(
            SQL(
                """
                WITH last_app AS (
                    SELECT DISTINCT ON (app.contract_id) app.id, app.contract_id
                      FROM construction_pay_application app
                      JOIN construction_contract contract
                        ON contract.id = app.contract_id
                     WHERE contract.project_id IN %(projects)s
                       AND app.state IN %(states)s
                  ORDER BY app.contract_id, app.number DESC, app.id DESC
                ), billed AS (
                    SELECT contract.project_id, sov.cost_code_id,
                           SUM(line.total_completed_stored) AS billed,
                           SUM(line.retainage_to_date) AS withheld
                      FROM construction_pay_application_line line
                      JOIN last_app ON last_app.id = line.application_id
                      JOIN construction_contract contract
                        ON contract.id = last_app.contract_id
                      JOIN construction_sov_line sov ON sov.id = line.sov_line_id
                     WHERE sov.cost_code_id IS NOT NULL
                  GROUP BY contract.project_id, sov.cost_code_id
                ), released AS (
                    SELECT contract.project_id, sov.cost_code_id,
                           SUM(rline.amount) AS released
                      FROM construction_retainage_release_line rline
                      JOIN construction_retainage_release rel
                        ON rel.id = rline.release_id
                      JOIN construction_contract contract
                        ON contract.id = rel.contract_id
                      JOIN construction_sov_line sov ON sov.id = rline.sov_line_id
                     WHERE contract.project_id IN %(projects)s
                       AND rel.state IN %(states)s
                       AND sov.cost_code_id IS NOT NULL
                  GROUP BY contract.project_id, sov.cost_code_id
                )
                SELECT COALESCE(b.project_id, r.project_id),
                       COALESCE(b.cost_code_id, r.cost_code_id),
                       COALESCE(b.billed, 0),
                       COALESCE(b.withheld, 0) - COALESCE(r.released, 0)
                  FROM billed b
             FULL JOIN released r
                    ON r.project_id = b.project_id
                   AND r.cost_code_id = b.cost_code_id
                """,
                projects=tuple(projects.ids),
                states=BILLED_STATES,
            )
        )
        for project_id, cost_code_id, billed, held in self.env.cr.fetchall():
            figures[(project_id, cost_code_id, "billed")] = billed
            figures[(project_id, cost_code_id, "retainage_held")] = held
        return figures


class ConstructionReconciliationMismatch(models.Model):
    _inherit = "construction.reconciliation.mismatch"

    def _odoo_records_action(self):
        if self.metric not in ("billed", "retainage_held"):
            return super()._odoo_records_action()
        # G703 lines of each contract's latest invoiced application (columns G
        # and I); retainage releases are on the contract's Retainage Releases.
        applications = self.env["construction.pay.application"].search(
            [
                ("project_id", "=", self.project_id.id),
                ("state", "in", BILLED_STATES),
            ],
            order="contract_id, number desc, id desc",
        )
        latest = {}
        for application in applications:
            latest.setdefault(application.contract_id, application)
        return self._records_action(
            "construction.pay.application.line",
            [
                ("application_id", "in", [app.id for app in latest.values()]),
                ("sov_line_id.cost_code_id", "=", self.cost_code_id.id),
            ],
        )
