from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..tools.security import check_manager


class ConstructionBinding(models.Model):
    """Links an Odoo record to its id in an external system (one per backend).

    ``last_version`` and ``last_payload_hash`` make handlers idempotent and
    order-tolerant: an older version is superseded, the same payload is a no-op.
    """

    _name = "construction.binding"
    _description = "Construction External Binding"
    _order = "backend_id, model, external_id"
    _rec_name = "external_id"

    backend_id = fields.Many2one(
        comodel_name="construction.backend",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    model = fields.Char(required=True, index=True)
    res_id = fields.Many2oneReference(
        string="Record ID", model_field="model", required=True, index=True
    )
    record_ref = fields.Reference(
        selection="_selection_record_ref",
        string="Record",
        compute="_compute_record_ref",
    )
    external_id = fields.Char(required=True, index=True)
    last_version = fields.Integer()
    last_payload_hash = fields.Char()
    sync_date = fields.Datetime(default=fields.Datetime.now)
    log_ids = fields.One2many(
        comodel_name="construction.binding.log",
        compute="_compute_log_ids",
        string="History",
        help="Every record this external id pointed to: linked by the sync, "
        "unlinked or relinked by whom and when.",
    )

    _sql_constraints = [
        (
            "external_unique",
            "UNIQUE(backend_id, model, external_id)",
            "This external id is already bound for this system.",
        ),
        (
            "record_unique",
            "UNIQUE(backend_id, model, res_id)",
            "This record is already bound to another external id of this system.",
        ),
    ]

    @api.model
    def _selection_record_ref(self):
        return [
            (model.model, model.name)
            for model in self.env["ir.model"].sudo().search([])
        ]

    @api.depends("model", "res_id")
    def _compute_record_ref(self):
        for binding in self:
            binding.record_ref = (
                f"{binding.model},{binding.res_id}"
                if binding.model and binding.res_id
                else False
            )

    def _compute_log_ids(self):
        Log = self.env["construction.binding.log"]
        logs = Log.search(
            [
                ("backend_id", "in", self.backend_id.ids),
                ("model", "in", list(set(self.mapped("model")))),
                ("external_id", "in", self.mapped("external_id")),
            ]
        )
        for binding in self:
            binding.log_ids = logs.filtered(
                lambda log, b=binding: (
                    (log.backend_id, log.model, log.external_id)
                    == (b.backend_id, b.model, b.external_id)
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        bindings = super().create(vals_list)
        self.env["construction.binding.log"]._log(bindings, "link")
        return bindings

    def _record_names(self, res_ids):
        self.ensure_one()
        records = self.env[self.model].browse([i for i in res_ids if i]).exists()
        try:
            return {record.id: record.display_name for record in records}
        except AccessError:
            return {record.id: f"{self.model},{record.id}" for record in records}

    # ---- UNLINK / RELINK (audit chain kept in construction.binding.log) ----

    def _check_binding_manager(self):
        check_manager(
            self.env, _("Only a Construction Manager can unlink or relink a binding.")
        )

    def _unlink_binding(self, reason=False):
        """Forget which record the external id points to (history kept).

        The next event of this external id is applied as a new entity.
        """
        self._check_binding_manager()
        Log = self.env["construction.binding.log"]
        for binding in self:
            Log._log(binding, "unlink", {binding.id: binding.res_id}, reason)
        self.unlink()
        return True

    def _relink(self, record, reason=False):
        """Point the external id at ``record`` instead (history kept).

        The payload hash is cleared so the next event of this entity is applied
        to the new record; the version is kept (older events stay superseded).
        """
        self.ensure_one()
        self._check_binding_manager()
        record = record.exists()
        if not record or len(record) != 1 or record._name != self.model:
            raise UserError(
                _(
                    "Pick one existing %(model)s record to relink %(ext)s to.",
                    model=self.env["ir.model"]._get(self.model).name,
                    ext=self.external_id,
                )
            )
        if record.id == self.res_id:
            raise UserError(_("The binding already points to this record."))
        company = "company_id" in record._fields and record.company_id
        if company and company != self.backend_id.company_id:
            raise UserError(
                _(
                    "%(record)s belongs to another company than %(backend)s.",
                    record=record.display_name,
                    backend=self.backend_id.name,
                )
            )
        other = self.search(
            [
                ("backend_id", "=", self.backend_id.id),
                ("model", "=", self.model),
                ("res_id", "=", record.id),
            ],
            limit=1,
        )
        if other:
            raise UserError(
                _(
                    "%(record)s is already bound to external id %(ext)s of "
                    "%(backend)s: unlink that binding first.",
                    record=record.display_name,
                    ext=other.external_id,
                    backend=self.backend_id.name,
                )
            )
        old_id = self.res_id
        self.write(
            {
                "res_id": record.id,
                "last_payload_hash": False,
                "sync_date": fields.Datetime.now(),
            }
        )
        self.env["construction.binding.log"]._log(
            self, "relink", {self.id: old_id}, reason
        )
        return True

    def action_open_relink_wizard(self):
        self.ensure_one()
        self._check_binding_manager()
        mode = self.env.context.get("binding_mode", "relink")
        return {
            "type": "ir.actions.act_window",
            "res_model": "construction.binding.relink.wizard",
            "view_mode": "form",
            "target": "new",
            "name": _("Relink Binding") if mode == "relink" else _("Unlink Binding"),
            "context": {"default_binding_id": self.id, "default_mode": mode},
        }

    @api.model
    def _find(self, backend, model_name, external_id):
        """The bound record (empty recordset of the model when not bound)."""
        binding = self._find_binding(backend, model_name, external_id)
        return self.env[model_name].browse(binding.res_id if binding else []).exists()

    @api.model
    def _find_binding(self, backend, model_name, external_id):
        return self.search(
            [
                ("backend_id", "=", backend.id),
                ("model", "=", model_name),
                ("external_id", "=", external_id),
            ],
            limit=1,
        )

    @api.model
    def _bind(self, backend, record, external_id, version=None, payload_hash=None):
        """Create or update the binding of ``record`` to ``external_id``."""
        record.ensure_one()
        binding = self._find_binding(backend, record._name, external_id)
        vals = {
            "last_version": version or 0,
            "last_payload_hash": payload_hash,
            "sync_date": fields.Datetime.now(),
        }
        if binding:
            if binding.res_id != record.id:
                raise ValidationError(
                    _(
                        "External id %(ext)s of %(backend)s is bound to another "
                        "record.",
                        ext=external_id,
                        backend=backend.name,
                    )
                )
            binding.write(vals)
            return binding
        return self.create(
            dict(
                vals,
                backend_id=backend.id,
                model=record._name,
                res_id=record.id,
                external_id=external_id,
            )
        )
