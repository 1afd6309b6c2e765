from datetime import datetime, timedelta, timezone

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools.openapi import RECONCILIATION_SNAPSHOT
from .construction_reconciliation import METRICS


def _parse_as_of(value):
    """ISO 8601 date or date-time -> naive UTC datetime, or None when invalid."""
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if stamp.tzinfo:
            stamp = stamp.astimezone(timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):  # not a date; before year 1 in UTC
        return None
    return stamp


class ConstructionReconciliationSnapshot(models.Model):
    """The figures an external system reported at one point in time."""

    _name = "construction.reconciliation.snapshot"
    _description = "External Reconciliation Snapshot"
    _order = "as_of desc, id desc"
    _rec_name = "as_of"

    backend_id = fields.Many2one(
        comodel_name="construction.backend",
        string="External System",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True, readonly=True
    )
    as_of = fields.Datetime(string="As Of", required=True, readonly=True, index=True)
    source = fields.Char(readonly=True, help="Report or system the figures came from.")
    line_ids = fields.One2many(
        "construction.reconciliation.snapshot.line", "snapshot_id", readonly=True
    )
    line_count = fields.Integer(compute="_compute_line_count")

    def _compute_line_count(self):
        counts = dict(
            self.env["construction.reconciliation.snapshot.line"]._read_group(
                [("snapshot_id", "in", self.ids)], ["snapshot_id"], ["__count"]
            )
        )
        for snapshot in self:
            snapshot.line_count = counts.get(snapshot, 0)

    @api.model
    def _api_errors(self, payload):
        """Schema violations plus duplicate figures, as problem+json errors."""
        errors = self.env["construction.event"]._schema_errors(
            RECONCILIATION_SNAPSHOT.load_schema(), payload
        )
        if errors:
            return errors
        if _parse_as_of(payload["as_of"]) is None:
            errors.append(
                {"pointer": "/as_of", "detail": "Not an ISO 8601 date or date-time."}
            )
        seen = set()
        for index, line in enumerate(payload["lines"]):
            key = (line["project"], line["cost_code"], line["metric"])
            if key in seen:
                errors.append(
                    {
                        "pointer": f"/lines/{index}",
                        "detail": "Duplicate figure for project %r, cost code %r, "
                        "metric %r." % key,
                    }
                )
            seen.add(key)
        return errors

    @api.model
    def _resolve_refs(self, backend, kind, codes):
        """{external code: record id} of the codes the backend maps."""
        return {
            code: record.id for code, record in backend._map_many(kind, codes).items()
        }

    @api.model
    def _create_from_api(self, backend, payload):
        """(snapshot, errors): nothing is created when a reference is unknown."""
        lines = payload["lines"]
        projects = self._resolve_refs(
            backend, "project", {line["project"] for line in lines}
        )
        cost_codes = self._resolve_refs(
            backend, "cost_code", {line["cost_code"] for line in lines}
        )
        errors = []
        for index, line in enumerate(lines):
            for field, resolved, label in (
                ("project", projects, "project"),
                ("cost_code", cost_codes, "cost code"),
            ):
                if line[field] not in resolved:
                    errors.append(
                        {
                            "pointer": f"/lines/{index}/{field}",
                            "detail": f"Unknown {label} {line[field]!r} for this "
                            "system (no mapping).",
                        }
                    )
        if errors:
            return self.browse(), errors
        snapshot = self.create(
            {
                "backend_id": backend.id,
                "as_of": _parse_as_of(payload["as_of"]),
                "source": payload.get("source"),
                "line_ids": [
                    fields.Command.create(
                        {
                            "project_id": projects[line["project"]],
                            "cost_code_id": cost_codes[line["cost_code"]],
                            "metric": line["metric"],
                            "amount": line["amount"],
                        }
                    )
                    for line in lines
                ],
            }
        )
        return snapshot, []

    @api.model
    def _purge_old(self):
        """Delete snapshots older than the retention that are no project's latest."""
        days = self.env["construction.event"]._get_param(
            "reconciliation_snapshot_retention_days", 90
        )
        if days <= 0:
            return
        self.flush_model()
        self.env["construction.reconciliation.snapshot.line"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT s.id
                  FROM construction_reconciliation_snapshot s
                 WHERE s.as_of < %(cutoff)s
                   AND s.id NOT IN (
                        SELECT DISTINCT ON (l.backend_id, l.project_id) l.snapshot_id
                          FROM construction_reconciliation_snapshot_line l
                          JOIN construction_reconciliation_snapshot s2
                            ON s2.id = l.snapshot_id
                      ORDER BY l.backend_id, l.project_id, s2.as_of DESC, s2.id DESC
                   )
                """,
                cutoff=fields.Datetime.now() - timedelta(days=days),
            )
        )
        old = self.sudo().browse([row[0] for row in self.env.cr.fetchall()])
        old.unlink()  # sudo: housekeeping of the scheduled action

    def _to_api(self):
        self.ensure_one()
        return {
            "id": self.id,
            "as_of": self.as_of.isoformat() + "Z",
            "source": self.source or None,
            "lines": len(self.line_ids),
        }


class ConstructionReconciliationSnapshotLine(models.Model):
    _name = "construction.reconciliation.snapshot.line"
    _description = "External Reconciliation Figure"
    _order = "snapshot_id desc, project_id, cost_code_id, metric"

    snapshot_id = fields.Many2one(
        "construction.reconciliation.snapshot",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    backend_id = fields.Many2one(
        related="snapshot_id.backend_id", store=True, index=True
    )
    company_id = fields.Many2one(related="snapshot_id.company_id", store=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    as_of = fields.Datetime(related="snapshot_id.as_of", store=True)
    source = fields.Char(related="snapshot_id.source")
    project_id = fields.Many2one(
        "project.project", required=True, readonly=True, index=True, ondelete="cascade"
    )
    cost_code_id = fields.Many2one(
        "account.analytic.account",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    metric = fields.Selection(selection=METRICS, required=True, readonly=True)
    amount = fields.Monetary(readonly=True)

    _sql_constraints = [
        (
            "figure_unique",
            "UNIQUE(snapshot_id, project_id, cost_code_id, metric)",
            "A snapshot holds one figure per project, cost code and metric.",
        ),
    ]


class ConstructionBackend(models.Model):
    _inherit = "construction.backend"

    reconciliation_tolerance = fields.Monetary(
        currency_field="reconciliation_currency_id",
        tracking=True,
        help="Differences up to this amount (per project, cost code and metric) "
        "do not open a mismatch. 0: any difference after currency rounding.",
    )
    reconciliation_currency_id = fields.Many2one(related="company_id.currency_id")
    reconciliation_snapshot_ids = fields.One2many(
        "construction.reconciliation.snapshot", "backend_id"
    )
    reconciliation_mismatch_count = fields.Integer(
        compute="_compute_reconciliation_mismatch_count"
    )

    _sql_constraints = [
        (
            "reconciliation_tolerance_positive",
            "CHECK(reconciliation_tolerance >= 0)",
            "The reconciliation tolerance cannot be negative.",
        ),
    ]

    def _compute_reconciliation_mismatch_count(self):
        counts = dict(
            self.env["construction.reconciliation.mismatch"]._read_group(
                [("backend_id", "in", self.ids), ("state", "=", "open")],
                ["backend_id"],
                ["__count"],
            )
        )
        for backend in self:
            backend.reconciliation_mismatch_count = counts.get(backend, 0)

    # ---- adapter hooks (a connector overrides them to pull its figures) ----

    def _reconciliation_has_source(self, project=None):
        """Whether this system reports figures (for ``project``, if given)."""
        self.ensure_one()
        domain = [("backend_id", "=", self.id)]
        if project:
            domain.append(("project_id", "=", project.id))
        return bool(
            self.env["construction.reconciliation.snapshot.line"]
            .sudo()
            .search_count(domain, limit=1)
        )

    def _reconciliation_scope_projects(self):
        """Projects a full run compares: reported ones and open mismatches'."""
        self.ensure_one()
        Line = self.env["construction.reconciliation.snapshot.line"].sudo()
        reported = Line._read_group([("backend_id", "=", self.id)], ["project_id"], [])
        with_mismatch = (
            self.env["construction.reconciliation.mismatch"]
            .sudo()
            ._read_group(
                [("backend_id", "=", self.id), ("state", "=", "open")],
                ["project_id"],
                [],
            )
        )
        project_ids = {project.id for (project,) in reported + with_mismatch}
        return self.env["project.project"].browse(sorted(project_ids))

    def _reconciliation_external_figures(self, projects):
        """{(project id, cost code id, metric): amount} the system reports.

        Default: for each project, the figures of the latest snapshot pushed to
        ``/reconciliation/snapshot`` that covers it (one grouped query).
        """
        self.ensure_one()
        if not projects:
            return {}
        self.env["construction.reconciliation.snapshot.line"].flush_model()
        self.env["construction.reconciliation.snapshot"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                WITH latest AS (
                    SELECT DISTINCT ON (l.project_id) l.project_id, l.snapshot_id
                      FROM construction_reconciliation_snapshot_line l
                      JOIN construction_reconciliation_snapshot s
                        ON s.id = l.snapshot_id
                     WHERE l.backend_id = %(backend)s
                       AND l.project_id IN %(projects)s
                  ORDER BY l.project_id, s.as_of DESC, s.id DESC
                )
                SELECT l.project_id, l.cost_code_id, l.metric, SUM(l.amount)
                  FROM construction_reconciliation_snapshot_line l
                  JOIN latest
                    ON latest.snapshot_id = l.snapshot_id
                   AND latest.project_id = l.project_id
              GROUP BY l.project_id, l.cost_code_id, l.metric
                """,
                backend=self.id,
                projects=tuple(projects.ids),
            )
        )
        return {
            (project_id, cost_code_id, metric): amount
            for project_id, cost_code_id, metric, amount in self.env.cr.fetchall()
        }

    # ---- actions ----

    def action_reconcile(self):
        """Reconcile now (button on the external system)."""
        self.ensure_one()
        if not self._reconciliation_has_source():
            raise UserError(
                _(
                    "%(backend)s has reported no figures yet: push a snapshot to "
                    "/api/construction/v1/reconciliation/snapshot first.",
                    backend=self.name,
                )
            )
        run = self.env["construction.reconciliation.run"]._reconcile(self)
        return run._open_action()

    def action_view_reconciliation_mismatches(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_connector_base.construction_reconciliation_mismatch_action"
        )
        action["domain"] = [("backend_id", "=", self.id)]
        return action
