from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

MAPPING_KINDS = {
    "cost_code": ("Cost Code", "account.analytic.account"),
    "project": ("Project", "project.project"),
    "partner": ("Partner", "res.partner"),
    "tax": ("Tax", "account.tax"),
    "uom": ("Unit of Measure", "uom.uom"),
}


class ConstructionMapping(models.Model):
    """Master-data mapping: an external code of a backend to one of our records."""

    _name = "construction.mapping"
    _description = "Construction Master-Data Mapping"
    _order = "backend_id, kind, external_code"
    _rec_name = "external_code"

    backend_id = fields.Many2one(
        comodel_name="construction.backend",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    kind = fields.Selection(
        selection=[(key, label) for key, (label, _model) in MAPPING_KINDS.items()],
        required=True,
    )
    external_code = fields.Char(required=True, index=True)
    target_ref = fields.Reference(
        selection=[(model, label) for label, model in MAPPING_KINDS.values()],
        string="Maps To",
        required=True,
    )
    note = fields.Char()

    _sql_constraints = [
        (
            "code_unique",
            "UNIQUE(backend_id, kind, external_code)",
            "This external code is already mapped for this system.",
        ),
    ]

    @api.constrains("kind", "target_ref", "backend_id")
    def _check_target(self):
        for mapping in self:
            target = mapping.target_ref
            expected = MAPPING_KINDS[mapping.kind][1]
            if not target or target._name != expected:
                raise ValidationError(
                    _(
                        "A %(kind)s mapping must point to a %(model)s record.",
                        kind=mapping.kind,
                        model=expected,
                    )
                )
            company = "company_id" in target._fields and target.sudo().company_id
            if company and company != mapping.backend_id.company_id:
                raise ValidationError(
                    _(
                        "%(target)s belongs to %(company)s, not to the company of "
                        "%(backend)s.",
                        target=target.sudo().display_name,
                        company=company.name,
                        backend=mapping.backend_id.name,
                    )
                )
            if mapping.kind == "cost_code" and target.construction_role != "cost_code":
                raise ValidationError(
                    _("%(target)s is not a cost code.", target=target.display_name)
                )
