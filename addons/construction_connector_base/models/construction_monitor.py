import json

from odoo import _, api, fields, models

PENDING_EVENT_STATES = ("received", "queued", "processing", "parked")
BACKLOG_STATES = ("pending", "sending", "retrying")
SEVERITIES = [
    ("ok", "OK"),
    ("info", "Info"),
    ("warning", "Warning"),
    ("danger", "Attention"),
]


def format_age(seconds):
    """'3 d 4 h', '2 h 5 min' or '7 min' for an age in seconds."""
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


class ConstructionMonitorTile(models.TransientModel):
    """One tile of Construction > Integration > Overview.

    Tiles are computed on demand by :meth:`_overview_tiles` (grouped counts, no
    per-record loops) for the companies of the current user; domain addons add
    their own tiles by extending it. The same tiles feed the daily digest.
    """

    _name = "construction.monitor.tile"
    _description = "Construction Integration Overview Tile"
    _order = "sequence, id"

    key = fields.Char(readonly=True)
    sequence = fields.Integer(readonly=True)
    section = fields.Char(readonly=True)
    name = fields.Char(readonly=True)
    count = fields.Integer(readonly=True)
    detail = fields.Char(readonly=True)
    severity = fields.Selection(SEVERITIES, readonly=True, default="ok")
    attention = fields.Boolean(readonly=True)
    res_model = fields.Char(readonly=True)
    domain = fields.Text(readonly=True, help="JSON domain of the records behind it.")
    backend_id = fields.Many2one("construction.backend", readonly=True)
    project_id = fields.Many2one("project.project", readonly=True)

    # ---- SETTINGS ----

    @api.model
    def _param_int(self, name, default):
        """Integer setting ``construction_connector_base.<name>``."""
        return self.env["construction.outbox.message"]._get_param(name, default)

    # ---- TILES ----

    @api.model
    def _tile(self, key, section, sequence, name, count, res_model, domain, **extra):
        """A tile as a dict; ``severity`` defaults to danger when count > 0."""
        severity = extra.pop("severity", "danger" if count else "ok")
        tile = {
            "key": key,
            "section": section,
            "sequence": sequence,
            "name": name,
            "count": count,
            "detail": extra.pop("detail", ""),
            "severity": severity,
            "attention": bool(count) and severity in ("warning", "danger"),
            "res_model": res_model,
            "domain": domain,
            "backend_id": False,
            "project_id": False,
        }
        tile.update(extra)
        return tile

    @api.model
    def _company_domain(self):
        # Explicit, so that the digest (run as superuser) counts one company only.
        return [("company_id", "in", self.env.companies.ids)]

    @api.model
    def _overview_tiles(self):
        """List of tile dicts (see :meth:`_tile`), in display order.

        Extend it to add sections: ``tiles = super()._overview_tiles()`` then
        append; sequences 100-199 inbound, 200-299 outbound, 300+ domain addons.
        """
        return (
            self._inbound_tiles()
            + self._outbound_tiles()
            + self._reconciliation_tiles()
        )

    @api.model
    def _reconciliation_tiles(self):
        domain = self._company_domain() + [("state", "=", "open")]
        count = self.env["construction.reconciliation.mismatch"].search_count(domain)
        return [
            self._tile(
                "reconciliation_open",
                _("Reconciliation"),
                290,
                _("Open reconciliation mismatches"),
                count,
                "construction.reconciliation.mismatch",
                domain,
                action_xmlid="construction_connector_base."
                "construction_reconciliation_mismatch_action",
            )
        ]

    @api.model
    def _inbound_tiles(self):
        Event = self.env["construction.event"]
        base = self._company_domain()
        section = _("Inbound events")
        states = dict(
            Event._read_group(
                base
                + [
                    (
                        "state",
                        "in",
                        ("failed", "dead", "awaiting_approval") + PENDING_EVENT_STATES,
                    )
                ],
                ["state"],
                ["__count"],
            )
        )
        failed, dead = states.get("failed", 0), states.get("dead", 0)
        pending = sum(states.get(s, 0) for s in PENDING_EVENT_STATES)
        tiles = [
            self._tile(
                "event_failed",
                section,
                100,
                _("Failed events"),
                failed,
                "construction.event",
                base + [("state", "=", "failed")],
                detail=_("retried automatically, then dead"),
            ),
            self._tile(
                "event_dead",
                section,
                101,
                _("Dead letters"),
                dead,
                "construction.event",
                base + [("state", "=", "dead")],
                detail=_("need a fix and a replay"),
            ),
        ]
        pending_domain = base + [("state", "in", PENDING_EVENT_STATES)]
        oldest = Event.search(pending_domain, order="received_date, id", limit=1)
        tiles.append(
            self._age_tile(
                ("event_pending", section, 102, _("Pending events"), pending),
                "construction.event",
                pending_domain,
                oldest.received_date,
            )
        )
        staged_domain = base + [("state", "=", "awaiting_approval")]
        oldest_staged = Event.search(staged_domain, order="received_date, id", limit=1)
        tiles.append(
            self._age_tile(
                (
                    "event_awaiting_approval",
                    section,
                    103,
                    _("Awaiting accounting approval"),
                    states.get("awaiting_approval", 0),
                ),
                "construction.event",
                staged_domain,
                oldest_staged.received_date,
                alert_minutes=self._param_int("monitor_approval_alert_hours", 48) * 60,
            )
        )
        problem = base + [("state", "in", ("failed", "dead"))]
        by_backend = Event._read_group(problem, ["backend_id", "state"], ["__count"])
        tiles += self._breakdown(
            "event_backend",
            _("Failed events by external system"),
            110,
            "construction.event",
            problem,
            "backend_id",
            by_backend,
        )
        by_project = Event._read_group(
            problem + [("project_id", "!=", False)],
            ["project_id", "state"],
            ["__count"],
        )
        tiles += self._breakdown(
            "event_project",
            _("Failed events by project"),
            150,
            "construction.event",
            problem,
            "project_id",
            by_project,
        )
        return tiles

    @api.model
    def _age_tile(self, head, res_model, domain, oldest_date, alert_minutes=None):
        """A backlog tile: a warning once the oldest item waits longer than
        ``alert_minutes`` (default: ``monitor_pending_alert_minutes``, 60)."""
        key, section, sequence, name, count = head
        now = fields.Datetime.now()
        age = (now - oldest_date).total_seconds() if oldest_date else 0
        if alert_minutes is None:
            alert_minutes = self._param_int("monitor_pending_alert_minutes", 60)
        alert = alert_minutes * 60
        return self._tile(
            key,
            section,
            sequence,
            name,
            count,
            res_model,
            domain,
            severity="warning" if oldest_date and age > alert else "info",
            detail=_("oldest waiting %(age)s", age=format_age(age))
            if oldest_date
            else _("nothing waiting"),
            age_seconds=int(age),
        )

    @api.model
    def _breakdown(self, key, section, sequence, res_model, domain, field, groups):
        """One tile per group record from ``[(record, state, count)]`` rows."""
        per_record = {}
        for record, state, count in groups:
            if record:
                per_record.setdefault(record, {})[state] = count
        tiles = []
        labels = dict(self.env[res_model]._fields["state"].selection)
        for offset, (record, counts) in enumerate(
            sorted(per_record.items(), key=lambda item: item[0].display_name or "")
        ):
            detail = ", ".join(
                f"{counts[state]} {labels[state].lower()}"
                for state in labels
                if counts.get(state)
            )
            tiles.append(
                self._tile(
                    f"{key}_{record.id}",
                    section,
                    sequence + min(offset, 39),
                    record.display_name,
                    sum(counts.values()),
                    res_model,
                    domain + [(field, "=", record.id)],
                    detail=detail,
                    **{field: record.id},
                )
            )
        return tiles

    @api.model
    def _outbound_tiles(self):
        Outbox = self.env["construction.outbox.message"]
        base = self._company_domain()
        section = _("Outbound messages")
        states = dict(
            Outbox._read_group(
                base + [("state", "in", BACKLOG_STATES + ("failed", "dead"))],
                ["state"],
                ["__count"],
            )
        )
        backlog = sum(states.get(s, 0) for s in BACKLOG_STATES)
        backlog_domain = base + [("state", "in", BACKLOG_STATES)]
        oldest = Outbox.search(backlog_domain, order="id", limit=1)
        tiles = [
            self._age_tile(
                ("outbox_backlog", section, 200, _("Outbound backlog"), backlog),
                "construction.outbox.message",
                backlog_domain,
                oldest.create_date,
            ),
            self._tile(
                "outbox_failed",
                section,
                201,
                _("Failed or dead outbound messages"),
                states.get("failed", 0) + states.get("dead", 0),
                "construction.outbox.message",
                base + [("state", "in", ("failed", "dead"))],
                detail=_(
                    "%(failed)s failed, %(dead)s dead",
                    failed=states.get("failed", 0),
                    dead=states.get("dead", 0),
                ),
            ),
        ]
        unsettled = base + [("state", "in", BACKLOG_STATES + ("failed", "dead"))]
        by_backend = Outbox._read_group(unsettled, ["backend_id", "state"], ["__count"])
        backend_tiles = self._breakdown(
            "outbox_backend",
            _("Outbound backlog by external system"),
            210,
            "construction.outbox.message",
            unsettled,
            "backend_id",
            by_backend,
        )
        failing = {
            backend.id
            for backend, state, _count in by_backend
            if state in ("failed", "dead")
        }
        for tile in backend_tiles:
            if tile["backend_id"] not in failing:
                tile.update(severity="info", attention=False)
        return tiles + backend_tiles

    # ---- UI ----

    @api.model
    def action_open_overview(self):
        """Compute fresh tiles for the current user and show them."""
        # Old tiles of this user are useless once recomputed.
        self.search([("create_uid", "=", self.env.uid)]).unlink()
        vals_list = []
        for tile in self._overview_tiles():
            vals = {k: v for k, v in tile.items() if k in self._fields}
            vals["domain"] = json.dumps(tile["domain"], default=str)
            vals_list.append(vals)
        tiles = self.create(vals_list)
        return {
            "type": "ir.actions.act_window",
            "name": _("Integration Overview"),
            "res_model": self._name,
            "view_mode": "kanban,list",
            "views": [
                (
                    self.env.ref(
                        "construction_connector_base.construction_monitor_tile_view_kanban"
                    ).id,
                    "kanban",
                ),
                (
                    self.env.ref(
                        "construction_connector_base.construction_monitor_tile_view_list"
                    ).id,
                    "list",
                ),
            ],
            "domain": [("id", "in", tiles.ids)],
            "context": {"create": False},
            "target": "main",
        }

    def action_refresh(self):
        """Header button of the overview: recompute every tile."""
        return self.browse().action_open_overview()

    def action_open(self):
        """The records behind the tile, filtered, with list, graph and pivot."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": f"{self.section}: {self.name}",
            "res_model": self.res_model,
            "view_mode": "list,form,graph,pivot",
            "views": [
                (False, "list"),
                (False, "form"),
                (False, "graph"),
                (False, "pivot"),
            ],
            "domain": json.loads(self.domain or "[]"),
            "context": {"create": False},
        }

    # ---- DIGEST ----

    @api.model
    def _digest_recipients(self, company):
        group = self.env.ref(
            "construction_connector_base.group_construction_integration_manager"
        )
        return group.users.filtered(
            lambda user: company in user.company_ids and user.email and not user.share
        )

    @api.model
    def _tile_url(self, tile, base_url):
        """Link of a tile in the digest: the list action behind it, if any."""
        actions = {
            "construction.event": "construction_event_action",
            "construction.outbox.message": "construction_outbox_action",
        }
        xmlid = tile.get("action_xmlid") or (
            tile["res_model"] in actions
            and f"construction_connector_base.{actions[tile['res_model']]}"
        )
        return xmlid and f"{base_url}/odoo/action-{xmlid}"

    @api.model
    def _cron_send_digest(self):
        """Email the integration managers of each company whose integration needs
        attention (failures, dead letters, old backlog); nothing when all is quiet."""
        template = self.env.ref(
            "construction_connector_base.mail_template_construction_monitor_digest"
        )
        base_url = self.get_base_url()
        overview_url = (
            f"{base_url}/odoo/action-"
            "construction_connector_base.construction_monitor_overview_action"
        )
        mails = self.env["mail.mail"]
        for company in self.env["res.company"].search([]):
            monitor = self.with_company(company).with_context(
                allowed_company_ids=[company.id]
            )
            tiles = [t for t in monitor._overview_tiles() if t["attention"]]
            if not tiles:
                continue
            recipients = monitor._digest_recipients(company)
            if not recipients:
                continue
            lines = tuple(
                (
                    t["section"],
                    t["name"],
                    t["count"],
                    t["detail"],
                    monitor._tile_url(t, base_url) or overview_url,
                )
                for t in tiles
            )
            mail_id = template.with_context(
                digest_lines=lines, overview_url=overview_url
            ).send_mail(
                company.id,
                email_values={
                    "recipient_ids": [(6, 0, recipients.partner_id.ids)],
                },
            )
            mails |= self.env["mail.mail"].browse(mail_id)
        return mails
