from odoo import fields, models


class ConstructionEventApprovalWizard(models.TransientModel):
    """Accept or reject staged events, with the approver's comment."""

    _name = "construction.event.approval.wizard"
    _description = "Accept or Reject Staged Events"

    event_ids = fields.Many2many(
        comodel_name="construction.event", string="Events", required=True
    )
    decision = fields.Selection(
        selection=[("accepted", "Accept"), ("rejected", "Reject")],
        required=True,
        default="accepted",
    )
    comment = fields.Text(
        help="Accepting: Odoo-side information (account, analytic, note) logged on "
        "the resulting document. Rejecting: the reason, sent back to the external "
        "system (required).",
    )

    def action_confirm(self):
        self.ensure_one()
        if self.decision == "accepted":
            self.event_ids._accept(self.comment)
        else:
            self.event_ids._reject(self.comment)
        return {"type": "ir.actions.act_window_close"}
