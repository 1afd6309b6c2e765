from odoo import fields, models


class ConstructionChangeOrderDecision(models.TransientModel):
    """Approve (optional comment), reject (reason required) or void (reason)."""

    _name = "construction.change.order.decision"
    _description = "Change Order Decision"

    change_order_id = fields.Many2one(
        "construction.change.order", required=True, ondelete="cascade"
    )
    decision = fields.Selection(
        selection=[("approve", "Approve"), ("reject", "Reject"), ("void", "Void")],
        required=True,
        default="approve",
    )
    comment = fields.Text(help="Required to reject or to void an approved change.")
    impact_preview_html = fields.Html(
        related="change_order_id.impact_preview_html", sanitize=False
    )

    def action_confirm(self):
        self.ensure_one()
        order = self.change_order_id
        if self.decision == "approve":
            order.action_approve(comment=self.comment)
        elif self.decision == "reject":
            order.action_reject(self.comment)
        else:
            order.action_void(self.comment)
        return {"type": "ir.actions.act_window_close"}
