import secrets
import time

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..tools import signing
from ..tools.exceptions import PermanentEventError
from ..tools.security import check_manager

BACKEND_KINDS = [
    ("project_management", "Project Management"),
    ("field_app", "Field App"),
    ("supplier_portal", "Supplier Portal"),
    ("document_control", "Document Control"),
    ("other", "Other"),
]


class ConstructionBackend(models.Model):
    """An external system that talks to the suite through the integration API.

    It acts as one integration user (API keys are that user's ``res.users.apikeys``),
    in one company, optionally signing its requests with an HMAC secret.
    """

    _name = "construction.backend"
    _inherit = ["mail.thread"]
    _description = "Construction External System"
    _order = "name, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    kind = fields.Selection(
        selection=BACKEND_KINDS, required=True, default="other", tracking=True
    )
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        comodel_name="res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        tracking=True,
    )
    user_id = fields.Many2one(
        comodel_name="res.users",
        string="Integration User",
        index=True,
        ondelete="restrict",
        tracking=True,
        help="The technical user the external system acts as. It should hold only "
        "the Construction Integration group; API keys are this user's keys.",
    )
    require_signature = fields.Boolean(
        tracking=True,
        help="Refuse requests without a valid X-Construction-Signature.",
    )
    # Secrets: readable by administrators only, never in lists nor API answers.
    signing_secret = fields.Char(groups="base.group_system", copy=False)
    signing_secret_next = fields.Char(groups="base.group_system", copy=False)
    has_signing_secret = fields.Boolean(compute="_compute_has_signing_secret")
    rate_limit = fields.Integer(
        string="Rate Limit (requests/minute)",
        default=120,
        tracking=True,
        help="Requests accepted per minute for this system; 0 means unlimited.",
    )
    event_types = fields.Char(
        string="Allowed Event Types",
        help="Comma-separated event types this system may send; empty allows all.",
    )
    map_by_code = fields.Boolean(
        string="Match Identical Codes",
        default=True,
        help="When no mapping exists, an external cost code equal to one of our "
        "codes (in this company) maps onto it.",
    )
    channel_id = fields.Many2one(
        comodel_name="queue.job.channel", readonly=True, copy=False
    )
    outbound_url = fields.Char(
        string="Outbound URL",
        tracking=True,
        help="Webhook endpoint receiving the subscribed events (HTTP POST, JSON, "
        "signed with the current signing secret when one is set).",
    )
    outbound_event_types = fields.Char(
        string="Subscribed Event Types",
        tracking=True,
        help="Comma-separated event types sent to this system; * sends all. "
        "Events nobody subscribes to are not stored.",
    )
    outbound_connect_timeout = fields.Integer(string="Connect Timeout (s)", default=5)
    outbound_read_timeout = fields.Integer(string="Read Timeout (s)", default=15)
    outbox_message_ids = fields.One2many(
        comodel_name="construction.outbox.message", inverse_name="backend_id"
    )
    outbox_count = fields.Integer(compute="_compute_outbox_count")
    event_ids = fields.One2many(
        comodel_name="construction.event", inverse_name="backend_id"
    )
    event_count = fields.Integer(compute="_compute_event_count")
    failed_event_count = fields.Integer(compute="_compute_event_count")
    api_key_count = fields.Integer(compute="_compute_api_key_count")
    approval_policy_ids = fields.One2many(
        comodel_name="construction.backend.approval",
        inverse_name="backend_id",
        string="Accounting Approval",
        help="Financial event types of this system staged for an accounting "
        "approver instead of posted directly.",
    )

    _sql_constraints = [
        (
            "user_unique",
            "UNIQUE(user_id)",
            "An integration user can serve only one external system.",
        ),
        (
            "rate_limit_positive",
            "CHECK(rate_limit >= 0)",
            "The rate limit cannot be negative.",
        ),
        (
            "outbound_timeouts_positive",
            "CHECK(outbound_connect_timeout >= 0 AND outbound_read_timeout >= 0)",
            "Outbound timeouts cannot be negative.",
        ),
    ]

    def _compute_has_signing_secret(self):
        # sudo: only tells whether a secret is set, never its value.
        for backend in self:
            backend.has_signing_secret = bool(backend.sudo().signing_secret)

    def _compute_event_count(self):
        counts = {
            (backend.id, state): count
            for backend, state, count in self.env["construction.event"]._read_group(
                [("backend_id", "in", self.ids)],
                groupby=["backend_id", "state"],
                aggregates=["__count"],
            )
        }
        for backend in self:
            backend.event_count = sum(
                count for (bid, _state), count in counts.items() if bid == backend.id
            )
            backend.failed_event_count = sum(
                counts.get((backend.id, state), 0) for state in ("failed", "dead")
            )

    def _compute_outbox_count(self):
        counts = dict(
            self.env["construction.outbox.message"]._read_group(
                [("backend_id", "in", self.ids)],
                groupby=["backend_id"],
                aggregates=["__count"],
            )
        )
        for backend in self:
            backend.outbox_count = counts.get(backend, 0)

    def _receives(self, event_type):
        """Whether this active system subscribes to outbound ``event_type``."""
        self.ensure_one()
        if not self.active or not self.outbound_url:
            return False
        subscribed = {
            t.strip() for t in (self.outbound_event_types or "").split(",") if t.strip()
        }
        return "*" in subscribed or event_type in subscribed

    def _health(self):
        """Queue depth, oldest pending age and failure counts of this system."""
        self.ensure_one()
        now = fields.Datetime.now()

        def age(date):
            return int((now - date).total_seconds()) if date else None

        # sudo: counts of this system's own inbox and outbox only, whatever the
        # record rules of the caller (a manager checking the health of a system);
        # no record content is returned.
        Event = self.env["construction.event"].sudo()
        Outbox = self.env["construction.outbox.message"].sudo()
        domain = [("backend_id", "=", self.id)]
        events = dict(Event._read_group(domain, ["state"], ["__count"]))
        messages = dict(Outbox._read_group(domain, ["state"], ["__count"]))
        oldest_event = Event.search(
            domain + [("state", "in", ("received", "queued", "processing", "parked"))],
            order="received_date, id",
            limit=1,
        )
        oldest_message = Outbox.search(
            domain + [("state", "in", ("pending", "sending", "retrying"))],
            order="id",
            limit=1,
        )
        inbox = {
            "queued": sum(
                events.get(s, 0) for s in ("received", "queued", "processing")
            ),
            "parked": events.get("parked", 0),
            "awaiting_approval": events.get("awaiting_approval", 0),
            "failed": events.get("failed", 0),
            "dead": events.get("dead", 0),
            "oldest_pending_age_seconds": age(oldest_event.received_date),
        }
        outbox = {
            "pending": sum(messages.get(s, 0) for s in ("pending", "sending")),
            "retrying": messages.get("retrying", 0),
            "failed": messages.get("failed", 0),
            "dead": messages.get("dead", 0),
            "oldest_pending_age_seconds": age(oldest_message.create_date),
        }
        attention = any(
            (inbox["failed"], inbox["dead"], outbox["failed"], outbox["dead"])
        )
        return {
            "status": "attention" if attention else "ok",
            "backend": {"id": self.id, "name": self.name},
            "checked_at": now.isoformat() + "Z",
            "inbox": inbox,
            "outbox": outbox,
        }

    def action_view_outbox(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_connector_base.construction_outbox_action"
        )
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {}
        return action

    def _compute_api_key_count(self):
        for backend in self:
            # sudo: counting the integration user's keys (managers cannot read
            # other users' keys); no key material is read.
            backend.api_key_count = len(backend.user_id.sudo().api_key_ids)

    @api.constrains("outbound_url")
    def _check_outbound_url(self):
        for backend in self.filtered("outbound_url"):
            if not backend.outbound_url.startswith(("https://", "http://")):
                raise ValidationError(
                    _(
                        "The outbound URL of %(backend)s must start with https:// "
                        "(or http:// for a local receiver).",
                        backend=backend.name,
                    )
                )

    @api.constrains("user_id")
    def _check_user_id(self):
        integration = self.env.ref(
            "construction_connector_base.group_construction_integration"
        )
        for backend in self.filtered("user_id"):
            user = backend.user_id.sudo()  # sudo: group membership check only
            if integration not in user.groups_id:
                raise ValidationError(
                    _(
                        "User %(user)s must belong to the Construction Integration "
                        "group to act for %(backend)s.",
                        user=user.name,
                        backend=backend.name,
                    )
                )
            if user._is_system():
                raise ValidationError(
                    _(
                        "User %(user)s is an administrator: an external system must "
                        "act as a least-privilege integration user.",
                        user=user.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        backends = super().create(vals_list)
        backends._ensure_channel()
        return backends

    # ---- ACTIONS ----

    def action_create_integration_user(self):
        """Create the backend's technical user (no password, API access only)."""
        for backend in self.filtered(lambda b: not b.user_id):
            backend.user_id = backend._create_integration_user()
        return True

    def action_generate_api_key(self):
        """Create a new API key for the integration user and show it once."""
        self.ensure_one()
        key = self._generate_api_key()
        return self.env["construction.secret.display"]._show(
            _("API key for %(backend)s", backend=self.name),
            key,
            _(
                "Send it as 'Authorization: Bearer <key>'. It is shown only now; "
                "store it in the external system."
            ),
        )

    def action_revoke_api_keys(self):
        self.ensure_one()
        # sudo: a manager revokes the integration user's keys (res.users.apikeys
        # has no ACL for other users' keys); only this backend's user is touched.
        self.user_id.sudo().api_key_ids._remove()
        self.message_post(body=_("All API keys revoked."))
        return True

    def action_generate_next_secret(self):
        """Start a signing-secret rotation: a new 'next' secret, shown once."""
        self.ensure_one()
        self._check_manager()
        secret = secrets.token_hex(32)
        # sudo: writes a system-only field on behalf of a construction manager.
        self.sudo().signing_secret_next = secret
        self.message_post(body=_("New next signing secret generated."))
        return self.env["construction.secret.display"]._show(
            _("Signing secret for %(backend)s", backend=self.name),
            secret,
            _(
                "Both the current and this next secret are accepted. Once the "
                "sender uses it, click 'Promote Next Secret'."
            ),
        )

    def action_promote_next_secret(self):
        self.ensure_one()
        self._check_manager()
        backend = self.sudo()  # sudo: system-only fields, values are not returned
        if not backend.signing_secret_next:
            raise UserError(_("There is no next secret to promote."))
        backend.write(
            {
                "signing_secret": backend.signing_secret_next,
                "signing_secret_next": False,
            }
        )
        self.message_post(body=_("Next signing secret promoted to current."))
        return True

    def action_view_events(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_connector_base.construction_event_action"
        )
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {"default_backend_id": self.id}
        return action

    # ---- BUSINESS ----

    def _check_manager(self):
        check_manager(self.env, _("Only a Construction Manager can manage secrets."))

    def _ensure_channel(self):
        """One queue_job channel per backend, child of root (capacity set by config)."""
        root = self.env.ref("queue_job.channel_root")
        Channel = self.env["queue.job.channel"].sudo()  # sudo: technical queue config
        for backend in self.filtered(lambda b: not b.channel_id):
            name = f"construction_backend_{backend.id}"
            channel = Channel.search(
                [("name", "=", name), ("parent_id", "=", root.id)], limit=1
            ) or Channel.create({"name": name, "parent_id": root.id})
            backend.channel_id = channel

    def _create_integration_user(self):
        self.ensure_one()
        group = self.env.ref(
            "construction_connector_base.group_construction_integration"
        )
        login = f"integration.{self.id}.{secrets.token_hex(3)}@construction.invalid"
        # sudo: creating a technical user is an administrative act done on purpose
        # by a manager (or the provisioning command); it gets one group only.
        return (
            self.env["res.users"]
            .sudo()
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": _("%(backend)s (integration)", backend=self.name),
                    "login": login,
                    "company_id": self.company_id.id,
                    "company_ids": [Command.set(self.company_id.ids)],
                    "groups_id": [Command.set(group.ids)],
                }
            )
        )

    def _generate_api_key(self, name=None):
        """A new, non-expiring API key of the integration user (returned once)."""
        self.ensure_one()
        if not self.user_id:
            self.action_create_integration_user()
        # sudo + with_user: res.users.apikeys._generate creates the key for
        # env.user; sudo lets a non-expiring key be created for this user only.
        keys = self.env["res.users.apikeys"].with_user(self.user_id).sudo()
        key = keys._generate(None, name or _("Construction API"), None)
        self.message_post(body=_("New API key generated."))
        return key

    def _allows_event_type(self, event_type):
        self.ensure_one()
        if not self.event_types:
            return True
        allowed = {name.strip() for name in self.event_types.split(",")}
        return event_type in allowed

    def _requires_approval(self, event_type):
        """Whether events of ``event_type`` from this system wait for approval."""
        self.ensure_one()
        # sudo: the policy is read while receiving, as the integration user.
        return any(
            line.policy == "stage" and line.event_type == event_type
            for line in self.sudo().approval_policy_ids
        )

    def _signing_secrets(self):
        # sudo: the secrets are read to verify a signature and never returned.
        backend = self.sudo()
        return [s for s in (backend.signing_secret, backend.signing_secret_next) if s]

    def _verify_signature(self, timestamp, raw_body, signature):
        """Returns an error message, or False when the signature is valid and fresh.

        A valid signature is then recorded: the same one is refused next time.
        """
        self.ensure_one()
        if not timestamp or not signature:
            return _(
                "Missing %(ts)s or %(sig)s header.",
                ts=signing.TIMESTAMP_HEADER,
                sig=signing.SIGNATURE_HEADER,
            )
        try:
            stamp = int(timestamp)
        except ValueError:
            return _("Invalid %(ts)s header.", ts=signing.TIMESTAMP_HEADER)
        if abs(time.time() - stamp) > signing.SIGNATURE_TOLERANCE:
            return _("Timestamp outside the 5-minute window.")
        if not any(
            signing.matches(secret, timestamp, raw_body, signature)
            for secret in self._signing_secrets()
        ):
            return _("Signature mismatch.")
        if not self.env["construction.api.signature"]._consume(self, signature):
            return _("Signature already used (replayed request).")
        return False

    def _count_request(self):
        """Count this request toward the rate limit: ``(requests counted in this
        minute, seconds until the minute ends)``, or None when unlimited."""
        self.ensure_one()
        if not self.rate_limit:
            return None
        now = int(time.time())
        window = now - now % 60
        count = self.env["construction.api.rate"]._hit(self, window)
        return count, window + 60 - now

    def _wake_parked_events(self, exclude=None):
        """Requeue the backend's parked events now (a parent may have arrived)."""
        parked = self.env["construction.event"].search(
            [("backend_id", "in", self.ids), ("state", "=", "parked")]
        )
        if exclude:
            parked -= exclude
        parked._requeue()

    # ---- MAPPINGS (the public API for handlers) ----

    def _map(self, kind, code, label=None):
        """The Odoo record mapped to an external code, or PermanentEventError."""
        self.ensure_one()
        mapping = self.env["construction.mapping"].search(
            [
                ("backend_id", "=", self.id),
                ("kind", "=", kind),
                ("external_code", "=", code),
            ],
            limit=1,
        )
        if mapping and mapping.target_ref:
            return mapping.target_ref
        raise PermanentEventError(
            _(
                "unmapped %(label)s %(code)s for backend %(backend)s",
                label=label or kind.replace("_", " "),
                code=code,
                backend=self.name,
            )
        )

    def _map_cost_code(self, code):
        """Our cost code (account.analytic.account) for an external cost code."""
        self.ensure_one()
        try:
            return self._map("cost_code", code, _("cost code"))
        except PermanentEventError:
            if not self.map_by_code:
                raise
            account = self.env["account.analytic.account"].search(
                [
                    ("construction_role", "=", "cost_code"),
                    ("code", "=", code),
                    ("company_id", "=", self.company_id.id),
                ],
                limit=1,
            )
            if not account:
                raise
            return account

    def _map_many(self, kind, codes):
        """{external code: our record} of the ``kind`` codes this system maps,
        one query (cost codes also by identical code when ``map_by_code``);
        unmapped codes are left out."""
        self.ensure_one()
        codes = list(dict.fromkeys(codes))
        mappings = self.env["construction.mapping"].search(
            [
                ("backend_id", "=", self.id),
                ("kind", "=", kind),
                ("external_code", "in", codes),
            ]
        )
        found = {m.external_code: m.target_ref for m in mappings if m.target_ref}
        missing = [code for code in codes if code not in found]
        if kind == "cost_code" and missing and self.map_by_code:
            accounts = self.env["account.analytic.account"].search(
                [
                    ("construction_role", "=", "cost_code"),
                    ("code", "in", missing),
                    ("company_id", "=", self.company_id.id),
                ]
            )
            for account in accounts:
                found.setdefault(account.code, account)
        return found

    def _map_cost_codes(self, codes):
        """{external code: our cost code} for many codes in two queries at most;
        the first unmapped code raises like ``_map_cost_code``."""
        found = self._map_many("cost_code", codes)
        for code in codes:
            if code not in found:
                self._map_cost_code(code)  # raises the usual error
        return found

    def _map_project(self, ref):
        self.ensure_one()
        return self._map("project", ref, _("project"))

    def _map_partner(self, ref, kind=None):
        """A partner; ``kind`` ('vendor', 'customer') only words the error."""
        self.ensure_one()
        return self._map("partner", ref, kind or _("partner"))

    def _map_tax(self, ref):
        self.ensure_one()
        return self._map("tax", ref, _("tax"))

    def _map_uom(self, ref):
        self.ensure_one()
        return self._map("uom", ref, _("unit"))
