from odoo import _, api, fields, models
from odoo.exceptions import UserError


class ConstructionBindingRelinkWizard(models.TransientModel):
    """Unlink a binding, or relink its external id to another record."""

    _name = "construction.binding.relink.wizard"
    _description = "Unlink or Relink a Binding"

    binding_id = fields.Many2one(
        comodel_name="construction.binding", required=True, ondelete="cascade"
    )
    model = fields.Char(related="binding_id.model")
    mode = fields.Selection(
        selection=[("relink", "Relink"), ("unlink", "Unlink")],
        required=True,
        default="relink",
    )
    record_ref = fields.Reference(
        selection="_selection_record_ref",
        string="New Record",
        help="The record the external id should point to from now on.",
    )
    reason = fields.Text(required=True)

    @api.model
    def _selection_record_ref(self):
        return self.env["construction.binding"]._selection_record_ref()

    @api.onchange("binding_id")
    def _onchange_binding_id(self):
        if self.binding_id and self.mode == "relink" and not self.record_ref:
            self.record_ref = f"{self.binding_id.model},0"

    def action_confirm(self):
        self.ensure_one()
        if self.mode == "unlink":
            self.binding_id._unlink_binding(self.reason)
            return {"type": "ir.actions.act_window_close"}
        if not self.record_ref:
            raise UserError(_("Pick the record to relink to."))
        self.binding_id._relink(self.record_ref, self.reason)
        return {"type": "ir.actions.act_window_close"}
