from odoo import api, fields, models


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
    accounting_date = fields.Date(
        help="Accepting a supplier invoice, subcontractor requisition or progress "
        "claim: the date its bill or invoice is recorded in the ledger (its posting "
        "period), when it differs from the document's own date. Empty: the "
        "document's date.",
    )
    takes_accounting_date = fields.Boolean(compute="_compute_takes_accounting_date")
    comment = fields.Text(
        help="Accepting: Odoo-side information (account, analytic, note) logged on "
        "the resulting document. Rejecting: the reason, sent back to the external "
        "system (required).",
    )

    @api.depends("event_ids")
    def _compute_takes_accounting_date(self):
        for wizard in self:
            wizard.takes_accounting_date = wizard.event_ids._takes_accounting_date()

    def action_confirm(self):
        self.ensure_one()
        if self.decision == "accepted":
            self.event_ids._accept(self.comment, self.accounting_date)
        else:
            self.event_ids._reject(self.comment)
        return {"type": "ir.actions.act_window_close"}
