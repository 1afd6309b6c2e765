from odoo import _, api, fields, models
from odoo.exceptions import UserError


class ConstructionBillingMilestone(models.Model):
    """A billing milestone of a milestone-billed contract, reached through its
    Odoo project milestone."""

    _name = "construction.billing.milestone"
    _description = "Billing Milestone"
    _order = "contract_id, sequence, id"
    _check_company_auto = True

    contract_id = fields.Many2one(
        "construction.contract", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="contract_id.company_id", store=True)
    currency_id = fields.Many2one(related="contract_id.currency_id")
    project_id = fields.Many2one(related="contract_id.project_id")
    sequence = fields.Integer(default=10)
    name = fields.Char(required=True)
    project_milestone_id = fields.Many2one(
        "project.milestone",
        string="Project Milestone",
        required=True,
        domain="[('project_id', '=', project_id)]",
    )
    is_reached = fields.Boolean(related="project_milestone_id.is_reached")
    amount_type = fields.Selection(
        [("fixed", "Fixed Amount"), ("percent", "% of Contract Sum")],
        default="fixed",
        required=True,
    )
    percent = fields.Float(string="% of Contract", digits=(5, 2))
    fixed_amount = fields.Monetary()
    amount = fields.Monetary(
        compute="_compute_amount",
        help="Amount to bill: the fixed amount, or the percentage of the contract"
        " sum to date. Frozen once invoiced.",
    )
    invoice_id = fields.Many2one(
        "account.move", readonly=True, copy=False, ondelete="set null"
    )
    invoiced_amount = fields.Monetary(readonly=True, copy=False)
    retainage_amount = fields.Monetary(
        string="Retainage Withheld", readonly=True, copy=False
    )
    state = fields.Selection(
        [
            ("pending", "Not Reached"),
            ("billable", "Billable"),
            ("invoiced", "Invoiced"),
            ("paid", "Paid"),
        ],
        compute="_compute_state",
        store=True,
    )

    @api.depends(
        "amount_type",
        "percent",
        "fixed_amount",
        "contract_id.contract_sum_to_date",
        "invoiced_amount",
        "invoice_id",
    )
    def _compute_amount(self):
        for milestone in self:
            if milestone.invoice_id:
                milestone.amount = milestone.invoiced_amount
            elif milestone.amount_type == "percent":
                milestone.amount = milestone.currency_id.round(
                    milestone.contract_id.contract_sum_to_date * milestone.percent / 100
                )
            else:
                milestone.amount = milestone.fixed_amount

    @api.depends(
        "project_milestone_id.is_reached",
        "invoice_id.state",
        "invoice_id.payment_state",
    )
    def _compute_state(self):
        for milestone in self:
            invoice = milestone.invoice_id
            if invoice and invoice.state != "cancel":
                paid = invoice.payment_state in ("paid", "in_payment")
                milestone.state = "paid" if paid else "invoiced"
            elif milestone.project_milestone_id.is_reached:
                milestone.state = "billable"
            else:
                milestone.state = "pending"

    def write(self, vals):
        if set(vals) & {"amount_type", "percent", "fixed_amount", "contract_id"}:
            if self.filtered(lambda m: m.invoice_id and m.invoice_id.state != "cancel"):
                raise UserError(_("An invoiced milestone cannot change."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_if_not_invoiced(self):
        if self.filtered(lambda m: m.invoice_id and m.invoice_id.state != "cancel"):
            raise UserError(_("An invoiced milestone cannot be deleted."))

    def _create_invoice(self):
        """One invoice per contract for its billable milestones: one revenue
        line per milestone, and the retainage withheld (if the contract says
        so, within its cap) on the Retention Receivable account."""
        moves = self.env["account.move"]
        today = fields.Date.context_today(self)
        for contract in self.contract_id:
            milestones = self.filtered(
                lambda m, c=contract: m.contract_id == c and m.state == "billable"
            )
            if contract.billing_method != "milestone" or contract.state != "active":
                raise UserError(
                    _(
                        "Contract %(contract)s is not an active milestone-billed"
                        " contract.",
                        contract=contract.name,
                    )
                )
            if not milestones:
                raise UserError(
                    _(
                        "No reached milestone is waiting to be invoiced on"
                        " %(contract)s.",
                        contract=contract.name,
                    )
                )
            currency = contract.currency_id
            line_cmds = []
            retainage = {}
            for milestone in milestones.sorted(lambda m: (m.sequence, m.id)):
                amount = milestone.amount
                if currency.compare_amounts(amount, 0) <= 0:
                    raise UserError(
                        _(
                            "Milestone %(name)s has no amount to bill.",
                            name=milestone.name,
                        )
                    )
                line_cmds.append(
                    fields.Command.create(milestone._prepare_account_move_line())
                )
                retainage[milestone] = (
                    currency.round(amount * contract.retainage_rate_work / 100)
                    if contract.milestone_retainage
                    else 0.0
                )
            if contract.milestone_retainage and contract.retainage_cap:
                base = (
                    contract.contract_sum_to_date
                    if contract.retainage_cap_include_change_orders
                    else contract.original_contract_sum
                )
                cap = currency.round(base * contract.retainage_cap_percent / 100)
                held = sum(
                    contract.milestone_ids.filtered(
                        lambda m: m.invoice_id and m.invoice_id.state != "cancel"
                    ).mapped("retainage_amount")
                )
                room = max(0.0, currency.round(cap - held))
                for milestone, amount in retainage.items():
                    retainage[milestone] = min(amount, room)
                    room = currency.round(room - retainage[milestone])
            total_retainage = currency.round(sum(retainage.values()))
            if not currency.is_zero(total_retainage):
                line_cmds.append(
                    fields.Command.create(
                        {
                            "name": _("Retainage withheld on milestones"),
                            "account_id": contract._get_retention_account().id,
                            "quantity": 1.0,
                            "price_unit": -total_retainage,
                            "tax_ids": [fields.Command.clear()],
                        }
                    )
                )
            move = (
                self.env["account.move"]
                .with_company(contract.company_id)
                .with_context(default_move_type="out_invoice")
                .create(
                    {
                        "move_type": "out_invoice",
                        "partner_id": contract.partner_id.id,
                        "journal_id": contract.journal_id.id,
                        "invoice_date": today,
                        **contract._invoice_terms(today),
                        "invoice_origin": contract.name,
                        "ref": ", ".join(milestones.mapped("name")),
                        "construction_contract_id": contract.id,
                        "invoice_line_ids": line_cmds,
                    }
                )
            )
            for milestone in milestones:
                milestone.write(
                    {
                        "invoice_id": move.id,
                        "invoiced_amount": milestone.amount,
                        "retainage_amount": retainage[milestone],
                    }
                )
            moves |= move
        return moves

    def _prepare_account_move_line(self):
        self.ensure_one()
        contract = self.contract_id
        account = contract.project_id.account_id
        return {
            "name": _("Milestone: %(name)s", name=self.name),
            "account_id": contract.revenue_account_id.id,
            "quantity": 1.0,
            "price_unit": self.amount,
            "tax_ids": [fields.Command.set(contract.tax_ids.ids)],
            "analytic_distribution": {str(account.id): 100} if account else False,
        }
