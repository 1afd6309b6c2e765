from odoo import _, fields, models
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
    new_res_id = fields.Many2oneReference(
        string="New Record",
        model_field="model",
        help="The record (of the same model) the external id points to from now on.",
    )
    reason = fields.Text(required=True)

    def action_confirm(self):
        self.ensure_one()
        if self.mode == "unlink":
            self.binding_id._unlink_binding(self.reason)
            return {"type": "ir.actions.act_window_close"}
        if not self.new_res_id:
            raise UserError(_("Pick the record to relink to."))
        self.binding_id._relink(
            self.env[self.binding_id.model].browse(self.new_res_id), self.reason
        )
        return {"type": "ir.actions.act_window_close"}
