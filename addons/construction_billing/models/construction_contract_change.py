from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError


class ConstructionContractChange(models.Model):
    """An approved change to the contract sum, on one schedule-of-values line.

    Written by approved prime change orders (``construction_change_order``
    extension point) and reversed by a negative record when a change order is
    voided: history is never rewritten, so earlier pay applications keep their
    figures. The date decides which pay application first includes it (changes
    approved on or before the application's period end).
    """

    _name = "construction.contract.change"
    _description = "Approved Contract Change"
    _order = "date, id"
    _check_company_auto = True

    contract_id = fields.Many2one(
        "construction.contract", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="contract_id.company_id", store=True)
    currency_id = fields.Many2one(related="contract_id.currency_id")
    sov_line_id = fields.Many2one(
        "construction.sov.line",
        string="Schedule of Values Line",
        ondelete="restrict",
        help="Line whose scheduled value changes (required on progress-billed"
        " contracts; milestone contracts change their contract sum only).",
        domain="[('contract_id', '=', contract_id)]",
    )
    date = fields.Date(
        string="Approval Date", required=True, default=fields.Date.context_today
    )
    reference = fields.Char(required=True, help="Change order number.")
    name = fields.Char(string="Description")
    amount = fields.Monetary(help="Addition (positive) or deduction (negative).")
    res_model = fields.Char(string="Source Model", readonly=True)
    res_id = fields.Many2oneReference(
        string="Source Record", model_field="res_model", readonly=True
    )

    @api.constrains("sov_line_id", "contract_id")
    def _check_line_contract(self):
        for change in self:
            if change.sov_line_id and change.sov_line_id.contract_id != (
                change.contract_id
            ):
                raise ValidationError(
                    _("A contract change must be on a line of the same contract.")
                )
            if (
                not change.sov_line_id
                and change.contract_id.billing_method == "progress"
            ):
                raise ValidationError(
                    _(
                        "A change to a progress-billed contract must name the"
                        " schedule-of-values line it changes."
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        changes = super().create(vals_list)
        changes.contract_id._refresh_draft_applications()
        return changes

    def write(self, vals):
        if vals:
            raise UserError(
                _(
                    "Approved contract changes are history: record a new change"
                    " to correct one."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            _(
                "Approved contract changes are history: record a new change to"
                " correct one."
            )
        )
