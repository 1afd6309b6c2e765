from odoo import _, api, fields, models
from odoo.exceptions import UserError


class ConstructionSovLine(models.Model):
    """One line of a prime contract's schedule of values (G703 columns A-C)."""

    _name = "construction.sov.line"
    _description = "Schedule of Values Line"
    _order = "contract_id, sequence, id"
    _check_company_auto = True
    _rec_names_search = ["item_no", "name"]

    contract_id = fields.Many2one(
        "construction.contract", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="contract_id.company_id", store=True)
    currency_id = fields.Many2one(related="contract_id.currency_id")
    sequence = fields.Integer(default=10)
    item_no = fields.Char(string="Item No.", required=True)
    name = fields.Char(string="Description of Work", required=True)
    cost_code_id = fields.Many2one(
        "account.analytic.account",
        string="Cost Code",
        check_company=True,
        domain="[('construction_role', '=', 'cost_code')]",
    )
    origin = fields.Selection(
        [("original", "Original Contract"), ("change_order", "Change Order")],
        default="original",
        required=True,
    )
    original_value = fields.Monetary(
        help="Scheduled value in the original contract (0 for lines added by a"
        " change order)."
    )
    change_ids = fields.One2many("construction.contract.change", "sov_line_id")
    change_amount = fields.Monetary(
        string="Approved Changes", compute="_compute_scheduled_value", store=True
    )
    scheduled_value = fields.Monetary(
        compute="_compute_scheduled_value",
        store=True,
        help="Original value plus approved change orders (G703 column C).",
    )
    retainage_override = fields.Boolean(
        string="Own Retainage Rate",
        help="Withhold this line's own rate on work and stored materials instead"
        " of the contract's rules (no reduction applies to it).",
    )
    retainage_rate = fields.Float(string="Line Retainage (%)", digits=(5, 2))
    billed_to_date = fields.Monetary(
        string="Completed and Stored to Date", compute="_compute_billing"
    )
    retainage_withheld = fields.Monetary(compute="_compute_billing")
    retainage_released = fields.Monetary(compute="_compute_billing")
    retainage_held = fields.Monetary(compute="_compute_billing")

    _sql_constraints = [
        (
            "item_unique",
            "unique(contract_id, item_no)",
            "Item numbers must be unique within a contract.",
        ),
        (
            "rate_range",
            "CHECK(retainage_rate >= 0 AND retainage_rate <= 100)",
            "A line's retainage rate is a percentage between 0 and 100.",
        ),
    ]

    @api.depends("original_value", "change_ids.amount")
    def _compute_scheduled_value(self):
        for line in self:
            line.change_amount = sum(line.change_ids.mapped("amount"))
            line.scheduled_value = line.original_value + line.change_amount

    @api.depends(
        "contract_id.pay_application_ids.state",
        "contract_id.release_ids.state",
        "contract_id.release_ids.line_ids.amount",
    )
    def _compute_billing(self):
        ReleaseLine = self.env["construction.retainage.release.line"]
        released = {
            sov_line.id: amount
            for sov_line, amount in ReleaseLine._read_group(
                [
                    ("sov_line_id", "in", self.ids),
                    ("release_id.state", "in", ("invoiced", "paid")),
                ],
                ["sov_line_id"],
                ["amount:sum"],
            )
        }
        for line in self:
            app = line.contract_id._last_invoiced_application()
            app_line = app.line_ids.filtered(lambda al, sl=line: al.sov_line_id == sl)
            line.billed_to_date = app_line.total_completed_stored
            line.retainage_withheld = app_line.retainage_to_date
            line.retainage_released = released.get(line.id, 0.0)
            line.retainage_held = line.retainage_withheld - line.retainage_released

    def _check_editable(self, vals=None):
        for line in self:
            if line.contract_id.state == "draft":
                continue
            if vals is not None and not {"original_value", "contract_id"} & set(vals):
                continue
            raise UserError(
                _(
                    "The original schedule of values of %(contract)s is locked once"
                    " the contract is active: change it through an approved change"
                    " order.",
                    contract=line.contract_id.name,
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines.filtered(lambda line: line.origin == "original")._check_editable()
        lines.contract_id._refresh_draft_applications()
        return lines

    def write(self, vals):
        self._check_editable(vals)
        res = super().write(vals)
        self.contract_id._refresh_draft_applications()
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_if_not_billed(self):
        billed = self.env["construction.pay.application.line"].search_count(
            [("sov_line_id", "in", self.ids)], limit=1
        )
        if billed or any(line.contract_id.state != "draft" for line in self):
            raise UserError(
                _(
                    "Schedule of values lines of an active or billed contract cannot"
                    " be deleted."
                )
            )
