from odoo import fields, models


class ConstructionChangeOrderReason(models.Model):
    _name = "construction.change.order.reason"
    _description = "Change Order Reason"
    _order = "sequence, name"

    name = fields.Char(required=True, translate=True)
    code = fields.Char()
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("code_unique", "UNIQUE(code)", "A change reason code must be unique."),
    ]
