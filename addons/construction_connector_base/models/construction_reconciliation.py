"""Reconciliation of Odoo's job-cost figures with an external system's figures.

A run compares, per project, cost code and metric, what Odoo holds (grouped queries
over the records behind each figure, see ``_reconciliation_odoo_figures``) with what
the external system reports (``construction.backend._reconciliation_external_figures``:
the latest pushed snapshot by default, or a connector's adapter). Each difference
above the backend's tolerance opens (or updates) a mismatch; a mismatch closes itself
when a later run agrees.
"""

import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools.exceptions import ReconciliationRunning
from ..tools.security import check_manager

_logger = logging.getLogger(__name__)

METRICS = [
    ("budget", "Original Budget"),
    ("approved_changes", "Approved Changes"),
    ("committed", "Committed (Ordered Value)"),
    ("billed", "Billed to Date"),
    ("retainage_held", "Retainage Held"),
    ("jtd_cost", "Job-to-Date Cost"),
]
METRIC_KEYS = [key for key, _label in METRICS]
# Namespace of the advisory locks taken by runs (one lock per backend).
LOCK_CLASS = 0x52454331


class ConstructionReconciliationRun(models.Model):
    _name = "construction.reconciliation.run"
    _inherit = ["mail.thread"]
    _description = "Construction Reconciliation Run"
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(required=True, readonly=True, copy=False, default="/")
    backend_id = fields.Many2one(
        comodel_name="construction.backend",
        string="External System",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    project_id = fields.Many2one(
        comodel_name="project.project",
        readonly=True,
        index="btree_not_null",
        ondelete="cascade",
        check_company=True,
        help="Empty: every project the external system reports on.",
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True, readonly=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    state = fields.Selection(
        selection=[
            ("running", "Running"),
            ("done", "Done"),
            ("failed", "Failed"),
            ("skipped", "Skipped"),
        ],
        default="running",
        required=True,
        readonly=True,
        index=True,
        tracking=True,
    )
    trigger = fields.Selection(
        selection=[("cron", "Scheduled"), ("manual", "Manual"), ("api", "API")],
        default="manual",
        required=True,
        readonly=True,
    )
    user_id = fields.Many2one(
        "res.users", readonly=True, default=lambda self: self.env.user
    )
    started_at = fields.Datetime(
        readonly=True, default=lambda self: fields.Datetime.now()
    )
    finished_at = fields.Datetime(readonly=True)
    tolerance = fields.Monetary(readonly=True)
    project_count = fields.Integer(string="Projects", readonly=True)
    compared_count = fields.Integer(
        string="Figures Compared",
        readonly=True,
        help="Project, cost code and metric combinations compared.",
    )
    opened_count = fields.Integer(string="Opened", readonly=True)
    updated_count = fields.Integer(string="Updated", readonly=True)
    closed_count = fields.Integer(string="Closed", readonly=True)
    open_count = fields.Integer(
        string="Open Mismatches", readonly=True, help="Open after this run."
    )
    error = fields.Text(readonly=True)
    opened_mismatch_ids = fields.One2many(
        "construction.reconciliation.mismatch", "opened_run_id"
    )
    closed_mismatch_ids = fields.One2many(
        "construction.reconciliation.mismatch", "closed_run_id"
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                vals["name"] = self.env["ir.sequence"].next_by_code(
                    "construction.reconciliation.run"
                ) or _("Reconciliation")
        return super().create(vals_list)

    # ---- extension points (domain addons add the metrics they own) ----

    @api.model
    def _reconciliation_metrics(self):
        """The metrics Odoo can compute with the installed addons."""
        return ["budget", "jtd_cost"]

    @api.model
    def _reconciliation_budget_columns(self):
        """{metric: stored budget-line column summed for it}."""
        return {"budget": "original_amount"}

    @api.model
    def _reconciliation_odoo_figures(self, projects):
        """{(project id, cost code id, metric): amount} held by Odoo.

        Grouped queries only; addons extend it for the metrics they own.
        """
        figures = {}
        if not projects:
            return figures
        columns = self._reconciliation_budget_columns()
        # sudo: sums for an integration manager's (or the cron's) comparison; only
        # totals per project and cost code leave this method.
        groups = (
            self.env["construction.budget.line"]
            .sudo()
            ._read_group(
                [("project_id", "in", projects.ids)],
                ["project_id", "cost_code_id"],
                [f"{column}:sum" for column in columns.values()],
            )
        )
        for project, cost_code, *amounts in groups:
            for metric, amount in zip(columns, amounts, strict=True):
                figures[(project.id, cost_code.id, metric)] = amount or 0.0
        figures.update(self._reconciliation_jtd_cost(projects))
        return figures

    @api.model
    def _reconciliation_jtd_cost(self, projects):
        """Job-to-date cost straight from the analytic ledger (one grouped query)."""
        project_by_account = {
            project.account_id.id: project.id
            for project in projects.sudo()
            if project.account_id
        }
        if not project_by_account:
            return {}
        cost_code_column = self.env["account.analytic.plan"]._construction_column(
            "cost_code"
        )
        # sudo: see _reconciliation_odoo_figures.
        groups = (
            self.env["account.analytic.line"]
            .sudo()
            ._read_group(
                [
                    ("account_id", "in", list(project_by_account)),
                    (cost_code_column, "!=", False),
                    ("category", "!=", "invoice"),
                ],
                ["account_id", cost_code_column],
                ["amount:sum"],
            )
        )
        # Costs are negative analytic amounts.
        return {
            (project_by_account[account.id], cost_code.id, "jtd_cost"): -amount
            for account, cost_code, amount in groups
        }

    # ---- running ----

    @api.model
    def _lock_backend(self, backend):
        """Transaction-scoped advisory lock of a backend's reconciliation.

        Raises ReconciliationRunning (a UserError) when another transaction holds it.
        """
        self.env.cr.execute(
            SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", LOCK_CLASS, backend.id)
        )
        if not self.env.cr.fetchone()[0]:
            raise ReconciliationRunning(
                _(
                    "A reconciliation of %(backend)s is already running. Wait for it "
                    "to finish, then start again.",
                    backend=backend.display_name,
                )
            )

    @api.model
    def _reconcile(self, backend, project=None, trigger="manual"):
        """Run one reconciliation of ``backend`` (all its projects, or ``project``).

        Returns the run (done, or failed with the error when the external figures
        could not be read). A second run for the same backend while one is in
        progress raises ReconciliationRunning and writes nothing.
        """
        backend.ensure_one()
        check_manager(
            self.env, _("Only a Construction Manager can start a reconciliation.")
        )
        self._lock_backend(backend)
        run = self.create(
            {
                "backend_id": backend.id,
                "project_id": project.id if project else False,
                "trigger": trigger,
                "tolerance": backend.reconciliation_tolerance,
            }
        )
        try:
            with self.env.cr.savepoint():
                run._execute()
        except Exception as err:  # noqa: BLE001 - recorded on the run, not lost
            _logger.exception("Reconciliation %s failed", run.name)
            run.write(
                {
                    "state": "failed",
                    "error": str(err),
                    "finished_at": fields.Datetime.now(),
                }
            )
            run.message_post(body=_("Reconciliation failed: %(error)s", error=err))
        return run

    def _execute(self):
        self.ensure_one()
        backend = self.backend_id
        currency = self.currency_id
        projects = self.project_id or backend._reconciliation_scope_projects()
        metrics = set(self._reconciliation_metrics())
        external = backend._reconciliation_external_figures(projects)
        odoo = self._reconciliation_odoo_figures(projects)
        Mismatch = self.env["construction.reconciliation.mismatch"]
        open_by_key = {
            mismatch._key(): mismatch
            for mismatch in Mismatch.search(
                [
                    ("backend_id", "=", backend.id),
                    ("project_id", "in", projects.ids),
                    ("state", "=", "open"),
                ]
            )
        }
        project_ids = set(projects.ids)
        keys = sorted(
            key
            for key in set(odoo) | set(external)
            if key[2] in metrics and key[0] in project_ids
        )
        to_create = []
        # ids, not recordset unions: thousands of figures must stay linear
        updated, agreeing, still_open = [], [], []
        compared = 0
        for key in keys:
            odoo_amount = currency.round(odoo.get(key, 0.0))
            existing = open_by_key.pop(key, Mismatch)
            if key not in external and currency.is_zero(odoo_amount):
                # A zero column Odoo stores and the system does not report.
                agreeing += existing.ids
                continue
            compared += 1
            external_amount = currency.round(external.get(key, 0.0))
            difference = currency.round(odoo_amount - external_amount)
            if currency.compare_amounts(abs(difference), self.tolerance) <= 0:
                agreeing += existing.ids
                continue
            vals = {
                "odoo_amount": odoo_amount,
                "external_amount": external_amount,
                "difference": difference,
                "tolerance": self.tolerance,
                "odoo_missing": key not in odoo,
                "external_missing": key not in external,
                "last_run_id": self.id,
            }
            if existing:
                updated += existing.ids
                changed = (
                    currency.compare_amounts(existing.odoo_amount, odoo_amount)
                    or currency.compare_amounts(
                        existing.external_amount, external_amount
                    )
                    or currency.compare_amounts(existing.tolerance, self.tolerance)
                )
                if changed:
                    existing.write(vals)
                else:
                    still_open += existing.ids
            else:
                project_id, cost_code_id, metric = key
                to_create.append(
                    dict(
                        vals,
                        backend_id=backend.id,
                        project_id=project_id,
                        cost_code_id=cost_code_id,
                        metric=metric,
                        opened_run_id=self.id,
                    )
                )
        # Open mismatches neither side reports any more agree at zero.
        for mismatch in open_by_key.values():
            agreeing += mismatch.ids
        opened = Mismatch.with_context(mail_create_nolog=True).create(to_create)
        Mismatch.browse(still_open).write({"last_run_id": self.id})
        Mismatch.browse(agreeing).write(
            {
                "state": "closed",
                "closed_run_id": self.id,
                "closed_at": fields.Datetime.now(),
                "last_run_id": self.id,
            }
        )
        self.write(
            {
                "state": "done",
                "finished_at": fields.Datetime.now(),
                "project_count": len(projects),
                "compared_count": compared,
                "opened_count": len(opened),
                "updated_count": len(updated),
                "closed_count": len(agreeing),
                "open_count": len(opened) + len(updated),
            }
        )
        if opened or agreeing:
            self.message_post(
                body=_(
                    "%(opened)s mismatch(es) opened, %(updated)s still open, "
                    "%(closed)s closed.",
                    opened=len(opened),
                    updated=len(updated),
                    closed=len(agreeing),
                )
            )

    @api.model
    def _cron_reconcile(self):
        """Nightly: every active backend that reports figures."""
        backends = self.env["construction.backend"].search([])
        for backend in backends:
            if not backend._reconciliation_has_source():
                continue
            try:
                self._reconcile(backend, trigger="cron")
            except ReconciliationRunning as err:
                _logger.info(
                    "Reconciliation of %s skipped: already running", backend.name
                )
                self._record_skipped(backend, str(err), trigger="cron")
        self.env["construction.reconciliation.snapshot"]._purge_old()

    @api.model
    def _record_skipped(self, backend, reason, trigger="cron"):
        """A run that did not happen (another one was in progress), kept in the
        runs list with its reason; it compares nothing and touches no mismatch."""
        now = fields.Datetime.now()
        return self.create(
            {
                "backend_id": backend.id,
                "trigger": trigger,
                "state": "skipped",
                "error": reason,
                "started_at": now,
                "finished_at": now,
                "tolerance": backend.reconciliation_tolerance,
            }
        )

    def _to_api(self):
        self.ensure_one()
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "compared": self.compared_count,
            "opened": self.opened_count,
            "updated": self.updated_count,
            "closed": self.closed_count,
            "open": self.open_count,
        }

    def _open_action(self):
        """Window action showing these runs (form when there is one)."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_connector_base.construction_reconciliation_run_action"
        )
        if len(self) == 1:
            action.update(res_id=self.id, views=[(False, "form")])
        else:
            action["domain"] = [("id", "in", self.ids)]
        return action

    def action_view_mismatches(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_connector_base.construction_reconciliation_mismatch_action"
        )
        action["domain"] = [
            "|",
            "|",
            ("opened_run_id", "=", self.id),
            ("closed_run_id", "=", self.id),
            ("last_run_id", "=", self.id),
        ]
        action["context"] = {}
        return action


class ConstructionReconciliationMismatch(models.Model):
    _name = "construction.reconciliation.mismatch"
    _inherit = ["mail.thread"]
    _description = "Construction Reconciliation Mismatch"
    _order = "state desc, project_id, cost_code_id, metric, id desc"
    _check_company_auto = True

    backend_id = fields.Many2one(
        comodel_name="construction.backend",
        string="External System",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True, readonly=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    project_id = fields.Many2one(
        comodel_name="project.project",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    cost_code_id = fields.Many2one(
        comodel_name="account.analytic.account",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    metric = fields.Selection(selection=METRICS, required=True, readonly=True)
    odoo_amount = fields.Monetary(string="Odoo Figure", readonly=True, tracking=True)
    external_amount = fields.Monetary(
        string="External Figure", readonly=True, tracking=True
    )
    difference = fields.Monetary(
        readonly=True, tracking=True, help="Odoo figure minus external figure."
    )
    tolerance = fields.Monetary(string="Tolerance Used", readonly=True)
    odoo_missing = fields.Boolean(
        string="Missing in Odoo", readonly=True, help="Odoo has no figure for it."
    )
    external_missing = fields.Boolean(
        string="Missing Externally",
        readonly=True,
        help="The external system reported no figure for it.",
    )
    state = fields.Selection(
        selection=[("open", "Open"), ("closed", "Closed")],
        default="open",
        required=True,
        readonly=True,
        index=True,
        tracking=True,
    )
    opened_run_id = fields.Many2one(
        "construction.reconciliation.run", readonly=True, ondelete="set null"
    )
    closed_run_id = fields.Many2one(
        "construction.reconciliation.run", readonly=True, ondelete="set null"
    )
    last_run_id = fields.Many2one(
        "construction.reconciliation.run",
        string="Last Checked By",
        readonly=True,
        ondelete="set null",
    )
    closed_at = fields.Datetime(readonly=True)

    def init(self):
        # At most one open mismatch per backend, project, cost code and metric.
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s "
                "(backend_id, project_id, cost_code_id, metric) WHERE state = 'open'",
                SQL.identifier("construction_reconciliation_mismatch_open_uniq"),
                SQL.identifier(self._table),
            )
        )

    @api.depends("project_id", "cost_code_id", "metric")
    def _compute_display_name(self):
        labels = dict(self._fields["metric"]._description_selection(self.env))
        for mismatch in self:
            mismatch.display_name = " / ".join(
                part
                for part in (
                    mismatch.project_id.name,
                    mismatch.cost_code_id.code,
                    labels.get(mismatch.metric),
                )
                if part
            )

    def _key(self):
        self.ensure_one()
        return (self.project_id.id, self.cost_code_id.id, self.metric)

    def _records_action(self, model, domain):
        """A window action listing ``model`` records matching ``domain``."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.display_name,
            "res_model": model,
            "views": [(False, "list"), (False, "form")],
            "domain": domain,
            "context": {},
        }

    def _odoo_records_action(self):
        """The window action listing the records behind Odoo's figure, or None."""
        self.ensure_one()
        if (
            self.metric
            in self.env[
                "construction.reconciliation.run"
            ]._reconciliation_budget_columns()
        ):
            return self._records_action(
                "construction.budget.line",
                [
                    ("project_id", "=", self.project_id.id),
                    ("cost_code_id", "=", self.cost_code_id.id),
                ],
            )
        if self.metric == "jtd_cost":
            return self._records_action(
                "account.analytic.line",
                self.env["construction.budget.line"]._actual_domain(
                    self.project_id.account_id, self.cost_code_id
                ),
            )
        return None

    def action_view_odoo_records(self):
        self.ensure_one()
        action = self._odoo_records_action()
        if not action:
            raise UserError(_("No Odoo records are behind this figure."))
        return action
