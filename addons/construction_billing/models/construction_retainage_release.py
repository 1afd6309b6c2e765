from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_amount


class ConstructionRetainageRelease(models.Model):
    """Release of retainage held on a contract, consolidated across pay
    applications and milestones on one invoice."""

    _name = "construction.retainage.release"
    _inherit = ["mail.thread"]
    _description = "Retainage Release"
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(
        required=True, copy=False, readonly=True, default=lambda self: _("New")
    )
    contract_id = fields.Many2one(
        "construction.contract",
        required=True,
        check_company=True,
        ondelete="restrict",
        index=True,
        domain="[('state', '!=', 'draft')]",
    )
    partner_id = fields.Many2one(related="contract_id.partner_id", store=True)
    project_id = fields.Many2one(related="contract_id.project_id", store=True)
    company_id = fields.Many2one(related="contract_id.company_id", store=True)
    currency_id = fields.Many2one(related="contract_id.currency_id")
    date = fields.Date(required=True, default=fields.Date.context_today)
    line_ids = fields.One2many(
        "construction.retainage.release.line", "release_id", string="Lines"
    )
    amount_total = fields.Monetary(compute="_compute_amount_total", store=True)
    invoice_id = fields.Many2one(
        "account.move", readonly=True, copy=False, ondelete="set null"
    )
    state = fields.Selection(
        [("draft", "Draft"), ("invoiced", "Invoiced"), ("paid", "Paid")],
        compute="_compute_state",
        store=True,
        tracking=True,
    )

    @api.depends("line_ids.amount")
    def _compute_amount_total(self):
        for release in self:
            release.amount_total = sum(release.line_ids.mapped("amount"))

    @api.depends("invoice_id.state", "invoice_id.payment_state")
    def _compute_state(self):
        for release in self:
            invoice = release.invoice_id
            if invoice.state == "posted":
                paid = invoice.payment_state in ("paid", "in_payment")
                release.state = "paid" if paid else "invoiced"
            else:
                release.state = "draft"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name", _("New")) == _("New"):
                vals["name"] = self.env["ir.sequence"].next_by_code(
                    "construction.retainage.release"
                ) or _("New")
        return super().create(vals_list)

    def _check_open(self):
        for release in self:
            if release.invoice_id and release.invoice_id.state != "cancel":
                raise UserError(
                    _(
                        "Release %(name)s is invoiced; cancel its invoice to change"
                        " it.",
                        name=release.name,
                    )
                )

    @api.ondelete(at_uninstall=False)
    def _unlink_if_not_invoiced(self):
        self._check_open()

    def _held_by_source(self):
        """Retainage held per SOV line and per milestone, excluding this
        release: withheld on posted invoices less every other release whose
        invoice is not cancelled."""
        self.ensure_one()
        contract = self.contract_id
        held = {}
        app = contract._last_invoiced_application()
        for line in app.line_ids:
            held[("sov", line.sov_line_id.id)] = line.retainage_to_date
        for milestone in contract.milestone_ids:
            if milestone.invoice_id.state == "posted":
                held[("milestone", milestone.id)] = milestone.retainage_amount
        others = self.env["construction.retainage.release.line"].search(
            [
                ("release_id.contract_id", "=", contract.id),
                ("release_id", "!=", self.id),
                ("release_id.invoice_id", "!=", False),
                ("release_id.invoice_id.state", "!=", "cancel"),
            ]
        )
        for line in others:
            key = line._source_key()
            held[key] = held.get(key, 0.0) - line.amount
        return held

    def action_fill_percent(self, percent=100.0):
        """(Re)build the lines releasing `percent` of what is held per line."""
        self._check_open()
        for release in self:
            currency = release.currency_id
            commands = [fields.Command.clear()]
            for (kind, res_id), held in release._held_by_source().items():
                if currency.compare_amounts(held, 0) <= 0:
                    continue
                commands.append(
                    fields.Command.create(
                        {
                            "sov_line_id": res_id if kind == "sov" else False,
                            "milestone_id": res_id if kind == "milestone" else False,
                            "amount": currency.round(held * percent / 100),
                        }
                    )
                )
            release.line_ids = commands

    def action_release_all(self):
        self.action_fill_percent(100.0)

    def action_release_half(self):
        self.action_fill_percent(50.0)

    def _check_amounts(self):
        for release in self:
            currency = release.currency_id
            held = release._held_by_source()
            if currency.compare_amounts(release.amount_total, 0) <= 0:
                raise ValidationError(
                    _("Release %(name)s releases nothing.", name=release.name)
                )
            for line in release.line_ids:
                available = held.get(line._source_key(), 0.0)
                if currency.compare_amounts(line.amount, 0) < 0:
                    raise ValidationError(_("A release amount cannot be negative."))
                if currency.compare_amounts(line.amount, available) > 0:
                    raise ValidationError(
                        _(
                            "%(item)s: releasing %(amount)s but only %(held)s of"
                            " retainage is held.",
                            item=line.display_name,
                            amount=format_amount(self.env, line.amount, currency),
                            held=format_amount(self.env, available, currency),
                        )
                    )

    def action_create_invoice(self):
        """Invoice the release: the released retainage moves from the Retention
        Receivable account to the customer's receivable (no tax: it was
        charged when the work was billed)."""
        self._check_open()
        self._check_amounts()
        for release in self:
            contract = release.contract_id
            account = contract._get_retention_account()
            lines = [
                fields.Command.create(
                    {
                        "name": self.env._(
                            "Retainage released: %(item)s", item=line.display_name
                        ),
                        "account_id": account.id,
                        "quantity": 1.0,
                        "price_unit": line.amount,
                        "tax_ids": [fields.Command.clear()],
                    }
                )
                for line in release.line_ids
                if not release.currency_id.is_zero(line.amount)
            ]
            move = (
                self.env["account.move"]
                .with_company(contract.company_id)
                .with_context(default_move_type="out_invoice")
                .create(
                    {
                        "move_type": "out_invoice",
                        "partner_id": contract.partner_id.id,
                        "journal_id": contract.journal_id.id,
                        "invoice_date": release.date,
                        **contract._invoice_terms(release.date),
                        "invoice_origin": contract.name,
                        "ref": _("Retainage release %(name)s", name=release.name),
                        "construction_contract_id": contract.id,
                        "construction_release_id": release.id,
                        "invoice_line_ids": lines,
                    }
                )
            )
            release.invoice_id = move
        return self.invoice_id


class ConstructionRetainageReleaseLine(models.Model):
    _name = "construction.retainage.release.line"
    _description = "Retainage Release Line"
    _order = "release_id, id"

    release_id = fields.Many2one(
        "construction.retainage.release",
        required=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one(related="release_id.company_id", store=True)
    currency_id = fields.Many2one(related="release_id.currency_id")
    contract_id = fields.Many2one(related="release_id.contract_id")
    sov_line_id = fields.Many2one(
        "construction.sov.line",
        string="Schedule of Values Line",
        ondelete="restrict",
        domain="[('contract_id', '=', contract_id)]",
    )
    milestone_id = fields.Many2one(
        "construction.billing.milestone",
        ondelete="restrict",
        domain="[('contract_id', '=', contract_id)]",
    )
    held_amount = fields.Monetary(
        string="Held Before This Release", compute="_compute_held_amount"
    )
    amount = fields.Monetary(string="Amount Released")

    _sql_constraints = [
        (
            "one_source",
            "CHECK((sov_line_id IS NULL) != (milestone_id IS NULL))",
            "A release line releases either a schedule-of-values line or a milestone.",
        ),
    ]

    @api.depends("sov_line_id", "milestone_id")
    def _compute_display_name(self):
        for line in self:
            if line.sov_line_id:
                line.display_name = _(
                    "Item %(item)s %(name)s",
                    item=line.sov_line_id.item_no,
                    name=line.sov_line_id.name,
                )
            else:
                line.display_name = _("Milestone %(name)s", name=line.milestone_id.name)

    def _source_key(self):
        self.ensure_one()
        if self.sov_line_id:
            return ("sov", self.sov_line_id.id)
        return ("milestone", self.milestone_id.id)

    @api.depends("release_id", "sov_line_id", "milestone_id")
    def _compute_held_amount(self):
        for release in self.release_id:
            held = release._held_by_source()
            for line in self.filtered(lambda rl, r=release: rl.release_id == r):
                line.held_amount = held.get(line._source_key(), 0.0)
        (self - self.filtered("release_id")).held_amount = 0.0

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines.release_id._check_open()
        return lines

    def write(self, vals):
        self.release_id._check_open()
        return super().write(vals)
