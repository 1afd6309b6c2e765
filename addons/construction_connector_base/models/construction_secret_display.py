from odoo import api, fields, models


class ConstructionSecretDisplay(models.TransientModel):
    """Shows a freshly generated API key or signing secret once."""

    _name = "construction.secret.display"
    _description = "Construction Secret (shown once)"

    title = fields.Char(readonly=True)
    secret = fields.Char(readonly=True)
    note = fields.Text(readonly=True)

    @api.model
    def _show(self, title, secret, note):
        wizard = self.create({"title": title, "secret": secret, "note": note})
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": wizard.id,
            "name": title,
            "view_mode": "form",
            "target": "new",
        }

    def action_close(self):
        # Forget the secret as soon as the dialog is closed.
        self.unlink()
        return {"type": "ir.actions.act_window_close"}
