import hashlib
from datetime import timedelta

from odoo import api, fields, models


class ConstructionApiSignature(models.Model):
    """Signatures already accepted, so a replayed signed request is refused.

    The unique constraint makes the refusal hold across workers; rows older than the
    signature window are purged by a cron.
    """

    _name = "construction.api.signature"
    _description = "Construction API Used Signature"
    _log_access = False

    backend_id = fields.Many2one(
        comodel_name="construction.backend", required=True, ondelete="cascade"
    )
    signature_hash = fields.Char(required=True)
    used_date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)

    _sql_constraints = [
        (
            "signature_unique",
            "UNIQUE(backend_id, signature_hash)",
            "This signature was already used.",
        ),
    ]

    @api.model
    def _consume(self, backend, signature):
        """Record a signature; False when it was used before."""
        digest = hashlib.sha256(signature.encode()).hexdigest()
        # ON CONFLICT: a concurrent twin waits for the first transaction, then
        # inserts nothing; no error is raised nor logged.
        self.env.cr.execute(
            "INSERT INTO construction_api_signature "
            "(backend_id, signature_hash, used_date) "
            "VALUES (%s, %s, now() at time zone 'utc') "
            "ON CONFLICT (backend_id, signature_hash) DO NOTHING RETURNING id",
            (backend.id, digest),
        )
        return bool(self.env.cr.fetchone())

    @api.model
    def _gc_signatures(self):
        limit = fields.Datetime.now() - timedelta(minutes=15)
        self.search([("used_date", "<", limit)]).unlink()


class ConstructionApiRate(models.Model):
    """Requests per backend and minute, counted in the database (all workers)."""

    _name = "construction.api.rate"
    _description = "Construction API Rate Counter"
    _log_access = False

    backend_id = fields.Many2one(
        comodel_name="construction.backend", required=True, ondelete="cascade"
    )
    window_start = fields.Integer(required=True, help="Unix time of the minute window.")
    request_count = fields.Integer()

    _sql_constraints = [
        (
            "window_unique",
            "UNIQUE(backend_id, window_start)",
            "One counter per minute.",
        ),
    ]

    @api.model
    def _hit(self, backend, window):
        """Atomically count one request in the window; returns the new count.

        The count is committed in its own short transaction: a request refused
        later (bad body, bad signature, conflict) still counts, and the counter
        row is not locked while the request runs.
        """
        with self.env.registry.cursor() as cr:
            cr.execute(
                "INSERT INTO construction_api_rate "
                "(backend_id, window_start, request_count) "
                "VALUES (%s, %s, 1) "
                "ON CONFLICT (backend_id, window_start) "
                "DO UPDATE SET request_count = construction_api_rate.request_count + 1 "
                "RETURNING request_count",
                (backend.id, window),
            )
            return cr.fetchone()[0]

    @api.model
    def _gc_counters(self):
        self.env.cr.execute(
            "DELETE FROM construction_api_rate "
            "WHERE window_start < extract(epoch from now())::integer - 3600"
        )
