from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import float_compare

from .purchase_order import CHANGED_EVENT

# Purchase line fields whose change moves the committed cost of a budget.
COMMITMENT_FIELDS = {
    "analytic_distribution",
    "product_qty",
    "product_uom",
    "price_unit",
    "discount",
    "taxes_id",
    "display_type",
}
# Purchase line fields a supplier portal is told about when they change.
PORTAL_FIELDS = {"product_qty", "price_unit", "date_planned", "product_id", "name"}


class PurchaseOrderLine(models.Model):
    _inherit = "purchase.order.line"

    construction_project_id = fields.Many2one(
        comodel_name="project.project",
        string="Project",
        compute="_compute_construction_dimensions",
        store=True,
        index="btree_not_null",
        help="Project of the (main) analytic distribution key.",
    )
    construction_cost_code_id = fields.Many2one(
        comodel_name="account.analytic.account",
        string="Cost Code",
        compute="_compute_construction_dimensions",
        store=True,
        index="btree_not_null",
    )
    construction_cost_type_id = fields.Many2one(
        comodel_name="account.analytic.account",
        string="Cost Type",
        compute="_compute_construction_dimensions",
        store=True,
    )
    construction_request_line_id = fields.Many2one(
        comodel_name="construction.material.request.line",
        string="Material Request Line",
        index="btree_not_null",
        copy=False,
        readonly=True,
    )
    construction_change_order_id = fields.Many2one(
        comodel_name="construction.change.order",
        string="Change Order",
        index="btree_not_null",
        copy=False,
        readonly=True,
        help="Commitment change order that added this line.",
    )
    construction_qty_billed = fields.Float(
        string="Billed Qty (Posted)",
        compute="_compute_construction_qty_billed",
        store=True,
        digits="Product Unit of Measure",
        help="Quantity on posted vendor bills minus posted refunds, in the unit of "
        "the order line. Draft bills do not relieve the commitment.",
    )
    construction_committed_amount = fields.Monetary(
        string="Committed",
        compute="_compute_construction_committed_amount",
        store=True,
        currency_field="company_currency_id",
        help="Untaxed value of what is ordered and not yet billed, in company "
        "currency; zero until the order is confirmed.",
    )
    company_currency_id = fields.Many2one(
        related="company_id.currency_id", string="Company Currency"
    )

    @api.depends("analytic_distribution")
    def _compute_construction_dimensions(self):
        Account = self.env["account.analytic.account"]
        keys = {k for line in self for k in (line.analytic_distribution or {})}
        split = Account._construction_split_keys(keys)
        for line in self:
            distribution = line.analytic_distribution or {}
            if not distribution:
                line.construction_project_id = False
                line.construction_cost_code_id = False
                line.construction_cost_type_id = False
                continue
            main_key = max(distribution, key=lambda k: (distribution[k] or 0.0, k))
            project, cost_code, cost_type, _others = split[main_key]
            line.construction_project_id = project
            line.construction_cost_code_id = cost_code
            line.construction_cost_type_id = cost_type

    @api.depends(
        "invoice_lines.price_subtotal",
        "price_subtotal",
        "order_id.construction_is_subcontract",
    )
    def _compute_qty_invoiced(self):
        """A subcontract's schedule-of-values line is billed by amount (each pay
        application bills quantity 1 at the period's amount): its billed quantity
        is the billed share of the line's value, so the order shows "Waiting Bills"
        until the whole value is billed, not "Fully Billed" after period 1."""
        super()._compute_qty_invoiced()
        for line in self:
            if not line.order_id.construction_is_subcontract or line.display_type:
                continue
            if line.currency_id.is_zero(line.price_subtotal):
                continue
            billed = 0.0
            for inv_line in line._get_invoice_lines():
                move = inv_line.move_id
                if move.state == "cancel" or move.move_type not in (
                    "in_invoice",
                    "in_refund",
                ):
                    continue
                amount = inv_line.currency_id._convert(
                    inv_line.price_subtotal,
                    line.currency_id,
                    line.company_id,
                    move.invoice_date or move.date,
                    round=False,
                )
                billed += amount if move.move_type == "in_invoice" else -amount
            line.qty_invoiced = line.product_qty * billed / line.price_subtotal
            if line.order_id.state in ("purchase", "done"):
                line.qty_to_invoice = line.product_qty - line.qty_invoiced
            else:
                line.qty_to_invoice = 0.0

    @api.depends(
        "invoice_lines.move_id.state",
        "invoice_lines.quantity",
        "invoice_lines.product_uom_id",
        "product_uom",
    )
    def _compute_construction_qty_billed(self):
        for line in self:
            qty = 0.0
            for inv_line in line.invoice_lines:
                move = inv_line.move_id
                if move.state != "posted":
                    continue
                line_qty = inv_line.product_uom_id._compute_quantity(
                    inv_line.quantity, line.product_uom
                )
                if move.move_type == "in_invoice":
                    qty += line_qty
                elif move.move_type == "in_refund":
                    qty -= line_qty
            line.construction_qty_billed = qty

    @api.depends(
        "state",
        "display_type",
        "product_qty",
        "price_subtotal",
        "construction_qty_billed",
        "order_id.currency_rate",
        "order_id.construction_is_subcontract",
        "invoice_lines.balance",
        "invoice_lines.move_id.state",
    )
    def _compute_construction_committed_amount(self):
        for line in self:
            if line.order_id.construction_is_subcontract:
                # Subcontract lines are billed by amount (pay applications).
                line.construction_committed_amount = line._construction_open_by_amount()
                continue
            line.construction_committed_amount = line._construction_open_amount(
                line.product_qty - line.construction_qty_billed
            )

    def _construction_open_by_amount(self):
        """Untaxed value not yet billed on posted bills, company currency."""
        self.ensure_one()
        currency = self.company_id.currency_id
        if self.display_type or self.state not in ("purchase", "done"):
            return 0.0
        ordered = self.price_subtotal
        if self.currency_id and self.currency_id != currency:
            ordered = ordered / (self.order_id.currency_rate or 1.0)
        billed = 0.0
        for inv_line in self.invoice_lines:
            if inv_line.move_id.state != "posted":
                continue
            # balance: debit positive on bills, negative on refunds.
            billed += inv_line.balance
        open_amount = ordered - billed
        # Never beyond the line's value nor past zero (deductive lines are negative).
        if ordered >= 0:
            open_amount = min(max(open_amount, 0.0), ordered)
        else:
            open_amount = max(min(open_amount, 0.0), ordered)
        return currency.round(open_amount)

    def _construction_open_amount(self, qty):
        """Untaxed value of ``qty`` of this line in company currency, at the order's
        price and rate; zero unless the order is confirmed."""
        self.ensure_one()
        currency = self.company_id.currency_id
        rounding = self.product_uom.rounding or 0.01
        if (
            self.display_type
            or self.state not in ("purchase", "done")
            or float_compare(self.product_qty, 0.0, precision_rounding=rounding) <= 0
            or float_compare(qty, 0.0, precision_rounding=rounding) <= 0
        ):
            return 0.0
        qty = min(qty, self.product_qty)
        amount = self.price_subtotal * qty / self.product_qty
        if self.currency_id and self.currency_id != currency:
            amount = amount / (self.order_id.currency_rate or 1.0)
        return currency.round(amount)

    def _construction_amount_cc(self):
        """Untaxed ordered amount in company currency (any state)."""
        self.ensure_one()
        currency = self.company_id.currency_id
        amount = self.price_subtotal
        if self.currency_id and self.currency_id != currency:
            amount = amount / (self.order_id.currency_rate or 1.0)
        return currency.round(amount)

    # ---- constraints ----

    @api.constrains("product_qty")
    def _check_construction_qty(self):
        for line in self:
            if line.display_type or not line.construction_project_id:
                continue
            if (
                float_compare(
                    line.product_qty,
                    0.0,
                    precision_rounding=line.product_uom.rounding or 0.01,
                )
                < 0
            ):
                raise ValidationError(
                    _(
                        "Purchase line %(line)s of project %(project)s has a "
                        "negative quantity: lower it with a commitment change order "
                        "or a vendor refund instead.",
                        line=line.name,
                        project=line.construction_project_id.name,
                    )
                )

    # ---- budget refresh ----

    def _construction_budget_keys(self):
        return self.env[
            "account.analytic.account"
        ]._construction_budget_keys_from_distributions(
            self.mapped("analytic_distribution")
        )

    def _construction_refresh_budgets(self, keys=None):
        if keys is None:
            keys = self._construction_budget_keys()
        self.env["construction.budget.line"]._refresh_committed_for_keys(keys)

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        confirmed = lines.filtered(lambda line: line.state in ("purchase", "done"))
        confirmed._construction_refresh_budgets()
        confirmed.order_id._construction_publish(CHANGED_EVENT)
        return lines

    def write(self, vals):
        watched = COMMITMENT_FIELDS & set(vals)
        before = self._construction_budget_keys() if watched else set()
        result = super().write(vals)
        confirmed = self.filtered(lambda line: line.state in ("purchase", "done"))
        if watched and confirmed:
            confirmed._construction_refresh_budgets(
                before | confirmed._construction_budget_keys()
            )
        if PORTAL_FIELDS & set(vals) and confirmed:
            confirmed.order_id._construction_publish(CHANGED_EVENT)
        return result

    def unlink(self):
        keys = self.filtered(
            lambda line: line.state in ("purchase", "done")
        )._construction_budget_keys()
        result = super().unlink()
        if keys:
            self.env["construction.budget.line"]._refresh_committed_for_keys(keys)
        return result
