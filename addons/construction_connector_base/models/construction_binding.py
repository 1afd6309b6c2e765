from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


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
