from odoo import api, fields, models

BINDING_ACTIONS = [
    ("link", "Linked"),
    ("unlink", "Unlinked"),
    ("relink", "Relinked"),
]


class ConstructionBindingLog(models.Model):
    """Audit chain of a binding: which record an external id pointed to, when.

    Kept when the binding itself is removed (unlink): the backend, model and
    external id are copied on every line.
    """

    _name = "construction.binding.log"
    _description = "Construction Binding History"
    _order = "date desc, id desc"
    _rec_name = "external_id"

    binding_id = fields.Many2one(
        comodel_name="construction.binding",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
    )
    backend_id = fields.Many2one(
        comodel_name="construction.backend",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    model = fields.Char(required=True, index=True, readonly=True)
    external_id = fields.Char(required=True, index=True, readonly=True)
    action = fields.Selection(selection=BINDING_ACTIONS, required=True, readonly=True)
    old_res_id = fields.Many2oneReference(
        string="Previous Record ID", model_field="model", readonly=True
    )
    new_res_id = fields.Many2oneReference(
        string="New Record ID", model_field="model", readonly=True
    )
    old_record_name = fields.Char(string="Previous Record", readonly=True)
    new_record_name = fields.Char(string="New Record", readonly=True)
    user_id = fields.Many2one(
        comodel_name="res.users",
        string="By",
        required=True,
        default=lambda self: self.env.user,
        readonly=True,
    )
    date = fields.Datetime(
        required=True, default=fields.Datetime.now, readonly=True, index=True
    )
    reason = fields.Text(readonly=True)

    @api.model
    def _log(self, bindings, action, old_ids=None, reason=False):
        """One line per binding; ``old_ids`` maps binding id -> previous res_id."""
        old_ids = old_ids or {}
        vals_list = []
        for binding in bindings:
            old_id = old_ids.get(binding.id, 0)
            new_id = binding.res_id if action != "unlink" else 0
            names = binding._record_names([old_id, new_id])
            vals_list.append(
                {
                    "binding_id": binding.id if action != "unlink" else False,
                    "backend_id": binding.backend_id.id,
                    "model": binding.model,
                    "external_id": binding.external_id,
                    "action": action,
                    "old_res_id": old_id,
                    "new_res_id": new_id,
                    "old_record_name": names.get(old_id),
                    "new_record_name": names.get(new_id),
                    "reason": reason,
                }
            )
        # sudo: the audit trail is written by the framework for any caller that
        # may change bindings; nobody edits it (no write access).
        logs = self.sudo().create(vals_list)
        self.env["construction.binding"].invalidate_model(["log_ids"])
        return logs
