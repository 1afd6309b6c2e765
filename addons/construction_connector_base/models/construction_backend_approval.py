from odoo import api, fields, models

APPROVAL_POLICIES = [
    ("direct", "Post Directly"),
    ("stage", "Stage for Accounting Approval"),
]


class ConstructionBackendApproval(models.Model):
    """Per external system and financial event type: post directly or stage.

    A staged event waits in "Awaiting Approval" until an accounting approver
    accepts it (then it is processed as usual) or rejects it with a comment (sent
    back to the system through the outbox). Event types without a line post
    directly.
    """

    _name = "construction.backend.approval"
    _description = "Construction Accounting Approval Policy"
    _order = "backend_id, event_type"

    backend_id = fields.Many2one(
        comodel_name="construction.backend",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    event_type = fields.Selection(
        selection="_selection_event_type",
        required=True,
        help="Financial event types (change orders, supplier invoices, progress "
        "claims) registered by the installed addons.",
    )
    policy = fields.Selection(
        selection=APPROVAL_POLICIES, required=True, default="stage"
    )
    note = fields.Char()
    approver_id = fields.Many2one(
        comodel_name="res.users",
        string="Approver",
        domain=lambda self: [
            (
                "groups_id",
                "in",
                self.env.ref(
                    "construction_connector_base.group_construction_accounting_approver"
                ).id,
            ),
            ("share", "=", False),
        ],
        help="Gets the to-do of each staged event of this type. Empty (or no longer "
        "an accounting approver of the company): the company's first accounting "
        "approver.",
    )

    _sql_constraints = [
        (
            "event_type_unique",
            "UNIQUE(backend_id, event_type)",
            "This event type already has a policy for this system.",
        ),
    ]

    @api.model
    def _selection_event_type(self):
        types = self.env["construction.event"]._event_types()
        return sorted(
            (name, etype.summary or name)
            for name, etype in types.items()
            if etype.financial
        )
