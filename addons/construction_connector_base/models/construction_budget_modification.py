from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..tools.security import check_manager


class ConstructionBudgetModification(models.Model):
    """A transfer of budget between lines of one project: its lines net to zero."""

    _name = "construction.budget.modification"
    _description = "Budget Modification"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(required=True, copy=False, readonly=True, default="/")
    budget_id = fields.Many2one(
        comodel_name="construction.budget",
        required=True,
        index=True,
        check_company=True,
        tracking=True,
        ondelete="cascade",
    )
    project_id = fields.Many2one(related="budget_id.project_id", store=True)
    company_id = fields.Many2one(related="budget_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="budget_id.currency_id")
    date = fields.Date(required=True, default=fields.Date.context_today, tracking=True)
    reason = fields.Text(required=True, tracking=True)
    state = fields.Selection(
        selection=[
            ("draft", "Draft"),
            ("applied", "Applied"),
            ("cancelled", "Cancelled"),
        ],
        default="draft",
        required=True,
        copy=False,
        index=True,
        tracking=True,
    )
    line_ids = fields.One2many(
        comodel_name="construction.budget.modification.line",
        inverse_name="modification_id",
        copy=True,
    )
    amount_transferred = fields.Monetary(compute="_compute_amounts", store=True)
    balance = fields.Monetary(
        compute="_compute_amounts",
        store=True,
        help="Sum of the line amounts: must be zero before the modification applies.",
    )

    @api.depends("line_ids.amount")
    def _compute_amounts(self):
        for modification in self:
            amounts = modification.line_ids.mapped("amount")
            modification.amount_transferred = sum(a for a in amounts if a > 0)
            modification.balance = modification.currency_id.round(sum(amounts))

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                vals["name"] = (
                    self.env["ir.sequence"].next_by_code(
                        "construction.budget.modification"
                    )
                    or "/"
                )
        return super().create(vals_list)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_applied(self):
        if any(mod.state == "applied" for mod in self):
            raise UserError(
                _("An applied budget modification cannot be deleted: cancel it.")
            )

    def action_apply(self):
        self._check_manager()
        for modification in self.filtered(lambda m: m.state == "draft"):
            modification._check_applicable()
            modification.state = "applied"
        # A transfer can't leave a line with a negative revised budget.
        for line in self.line_ids.budget_line_id:
            if line.currency_id.compare_amounts(line.revised_amount, 0.0) < 0:
                raise ValidationError(
                    _(
                        "This modification would make the revised budget of %(line)s "
                        "negative (%(amount)s).",
                        line=line.display_name,
                        amount=line.currency_id.format(line.revised_amount),
                    )
                )

    def action_cancel(self):
        self._check_manager()
        self.filtered(lambda m: m.state != "cancelled").state = "cancelled"

    def action_draft(self):
        self.filtered(lambda m: m.state == "cancelled").state = "draft"

    def _check_applicable(self):
        self.ensure_one()
        if not self.line_ids:
            raise ValidationError(
                _("Budget modification %(name)s has no lines.", name=self.name)
            )
        if self.currency_id.compare_amounts(self.balance, 0.0):
            raise ValidationError(
                _(
                    "Budget modification %(name)s does not net to zero (balance "
                    "%(balance)s): every amount moved into a line must come out of "
                    "another.",
                    name=self.name,
                    balance=self.currency_id.format(self.balance),
                )
            )

    def _check_manager(self):
        check_manager(
            self.env,
            _("Only a Construction Manager can apply or cancel budget modifications."),
        )


class ConstructionBudgetModificationLine(models.Model):
    _name = "construction.budget.modification.line"
    _description = "Budget Modification Line"
    _check_company_auto = True

    modification_id = fields.Many2one(
        comodel_name="construction.budget.modification",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(related="modification_id.company_id", store=True)
    currency_id = fields.Many2one(related="modification_id.currency_id")
    state = fields.Selection(related="modification_id.state", store=True)
    budget_line_id = fields.Many2one(
        comodel_name="construction.budget.line",
        required=True,
        index=True,
        check_company=True,
        ondelete="restrict",
        domain="[('budget_id', '=', parent.budget_id)]",
    )
    name = fields.Char(string="Description")
    amount = fields.Monetary(
        required=True, help="Positive moves budget into the line, negative out of it."
    )

    @api.constrains("budget_line_id", "modification_id")
    def _check_same_budget(self):
        for line in self:
            if line.budget_line_id.budget_id != line.modification_id.budget_id:
                raise ValidationError(
                    _(
                        "Line %(line)s belongs to another budget than %(name)s.",
                        line=line.budget_line_id.display_name,
                        name=line.modification_id.name,
                    )
                )

    @api.constrains("amount")
    def _check_amount(self):
        for line in self:
            if line.currency_id.is_zero(line.amount):
                raise ValidationError(_("A budget modification line needs an amount."))

    def write(self, vals):
        if self.filtered(lambda line: line.state == "applied"):
            raise UserError(_("An applied budget modification cannot be edited."))
        return super().write(vals)
