from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError


class ConstructionChangeOrder(models.Model):
    _inherit = "construction.change.order"

    purchase_order_id = fields.Many2one(
        comodel_name="purchase.order",
        string="Purchase Order / Subcontract",
        index="btree_not_null",
        check_company=True,
        tracking=True,
        copy=False,
        domain="[('state', 'in', ('purchase', 'done')), "
        "('project_id', 'in', (project_id, False))]",
        help="Commitment this change order changes: on approval its lines are "
        "added to the order, raising or lowering its committed amount.",
    )
    purchase_line_ids = fields.One2many(
        comodel_name="purchase.order.line",
        inverse_name="construction_change_order_id",
        string="Purchase Lines",
        readonly=True,
    )
    material_request_ids = fields.One2many(
        comodel_name="construction.material.request",
        inverse_name="change_order_id",
        readonly=True,
    )

    @api.model
    def _get_locked_writable_fields(self):
        return super()._get_locked_writable_fields() | {"purchase_order_id"}

    @api.constrains("purchase_order_id", "side", "project_id", "partner_id")
    def _check_purchase_order(self):
        # sudo: change-order users need not read purchase orders; only the linked
        # order's project and vendor are compared.
        for change in self.sudo().filtered("purchase_order_id"):
            order = change.purchase_order_id
            if change.side != "commitment":
                raise ValidationError(
                    _(
                        "%(co)s is an owner change order: only commitment change "
                        "orders change a purchase order.",
                        co=change.display_name,
                    )
                )
            if order.project_id and (order.project_id != change.project_id):
                raise ValidationError(
                    _(
                        "%(order)s belongs to project %(project)s, not to the change "
                        "order's project.",
                        order=order.name,
                        project=order.project_id.name,
                    )
                )
            if change.partner_id and (
                change.partner_id.commercial_partner_id
                != order.partner_id.commercial_partner_id
            ):
                raise ValidationError(
                    _(
                        "%(co)s is with %(partner)s but %(order)s is with %(vendor)s.",
                        co=change.display_name,
                        partner=change.partner_id.name,
                        order=order.name,
                        vendor=order.partner_id.name,
                    )
                )

    # ---- extension points ----

    def _get_commitment_amount(self):
        """Untaxed value of the order without this change order's lines."""
        self.ensure_one()
        # sudo: the commitment's total is read for the change order's own check;
        # nothing of the order is shown beyond that amount.
        order = self.sudo().purchase_order_id
        if not order:
            return super()._get_commitment_amount()
        lines = order.order_line.filtered(
            lambda line: (
                not line.display_type and line.construction_change_order_id != self
            )
        )
        amount = sum(lines.mapped("price_subtotal"))
        if order.currency_id != self.currency_id:
            amount = order.currency_id._convert(
                amount, self.currency_id, self.company_id, order.date_order
            )
        return self.currency_id.round(amount)

    def _apply_approval_effects(self):
        result = super()._apply_approval_effects()
        for change in self.filtered(lambda co: co.stage_kind == "approved"):
            if change.side == "commitment" and change.purchase_order_id:
                change._procurement_add_order_lines()
            elif change.side == "prime":
                change._procurement_raise_material_request()
        return result

    def _revert_approval_effects(self):
        for change in self:
            change._procurement_remove_order_lines()
            change._procurement_drop_material_requests()
        return super()._revert_approval_effects()

    def _get_impact_preview(self):
        preview = super()._get_impact_preview()
        # sudo: the preview shows the linked order's committed amount only.
        order = self.sudo().purchase_order_id
        if self.side == "commitment" and order:
            before = order.construction_committed_amount
            added = self.amount_total if self.stage_kind != "approved" else 0.0
            if self.stage_kind == "approved":
                own = sum(
                    self.sudo().purchase_line_ids.mapped(
                        "construction_committed_amount"
                    )
                )
                before -= own
                added = own
            currency = self.currency_id
            preview["committed_before"] = currency.round(before)
            preview["committed_after"] = currency.round(before + added)
            preview.setdefault("summary_rows", []).append(
                {
                    "label": _("Committed on %(order)s", order=order.name),
                    "before": preview["committed_before"],
                    "after": preview["committed_after"],
                }
            )
        return preview

    # ---- procurement effects ----

    def _procurement_add_order_lines(self):
        """One purchase line per change order line, on the same cost code."""
        self.ensure_one()
        # sudo: approving a commitment change order is the authority to change
        # its order; the approver need not hold purchase rights. Only this
        # change order's lines are added to the order it names.
        order = self.sudo().purchase_order_id
        product = self.env.ref(
            "construction_procurement_sync.product_commitment_change"
        ).with_company(order.company_id)
        account = self.project_id.account_id
        if not account:
            self.project_id._create_analytic_account()
            account = self.project_id.account_id
        values = []
        for line in self._all_lines():
            # A commitment change order is worth its cost (markup is for owners).
            if self.currency_id.is_zero(line.cost_amount):
                continue
            price = line.cost_amount
            if order.currency_id != self.currency_id:
                price = self.currency_id._convert(
                    price, order.currency_id, order.company_id, fields.Date.today()
                )
            keys = [account, line.cost_code_id, line.cost_type_id]
            same_code = order.order_line.filtered(
                lambda pol, code=line.cost_code_id: (
                    pol.construction_cost_code_id == code
                    and not pol.construction_change_order_id
                )
            )[:1]
            taxes = same_code.taxes_id if same_code else product.supplier_taxes_id
            values.append(
                {
                    "order_id": order.id,
                    "product_id": product.id,
                    "name": f"{self.name}: {line.name}",
                    "product_qty": 1.0,
                    "product_uom": product.uom_po_id.id,
                    "price_unit": price,
                    "taxes_id": [(6, 0, taxes.ids)],
                    "date_planned": fields.Datetime.now(),
                    "analytic_distribution": {
                        ",".join(str(a.id) for a in keys if a): 100
                    },
                    "construction_change_order_id": self.id,
                }
            )
        if values:
            order.order_line.with_company(order.company_id).create(values)
            order.message_post(
                body=_(
                    "Change order %(co)s approved: %(amount)s added to the order.",
                    co=self.display_name,
                    amount=self.currency_id.format(self.amount_total),
                ),
                subtype_xmlid="mail.mt_note",
            )

    def _procurement_remove_order_lines(self):
        self.ensure_one()
        lines = self.sudo().purchase_line_ids.filtered(lambda line: line.product_qty)
        if not lines:
            return
        billed = lines.filtered(lambda line: line.qty_invoiced)
        if billed:
            raise UserError(
                _(
                    "%(co)s cannot be voided: its lines on %(order)s are already "
                    "billed. Issue a deductive change order instead.",
                    co=self.display_name,
                    order=self.sudo().purchase_order_id.name,
                )
            )
        # sudo: voiding the change order takes its own lines off the order (see
        # _procurement_add_order_lines).
        lines.sudo().write({"product_qty": 0.0})
        self.purchase_order_id.sudo().message_post(
            body=_(
                "Change order %(co)s voided: its lines are taken off the order.",
                co=self.display_name,
            ),
            subtype_xmlid="mail.mt_note",
        )

    def _procurement_raise_material_request(self):
        """Material cost of an approved owner change: a draft material request."""
        self.ensure_one()
        lines = self._all_lines().filtered(
            lambda line: (
                line.cost_type_id.cost_type_kind == "material" and line.quantity > 0
            )
        )
        if not lines or self.material_request_ids:
            return
        self.env["construction.material.request"].create(
            {
                "project_id": self.project_id.id,
                "source": "change_order",
                "origin": self.name,
                "change_order_id": self.id,
                "line_ids": [
                    (
                        0,
                        0,
                        {
                            "cost_code_id": line.cost_code_id.id,
                            "cost_type_id": line.cost_type_id.id,
                            "name": line.name,
                            "product_qty": line.quantity,
                            "product_uom_id": line.uom_id.id or False,
                        },
                    )
                    for line in lines
                ],
            }
        )

    def _procurement_drop_material_requests(self):
        self.ensure_one()
        requests = self.material_request_ids
        if requests.filtered(lambda r: r.state in ("in_progress", "done")):
            raise UserError(
                _(
                    "%(co)s cannot be voided: its material request is already being "
                    "purchased. Cancel the purchases first.",
                    co=self.display_name,
                )
            )
        requests.filtered(lambda r: r.state in ("draft", "rejected")).unlink()
        requests.exists().write({"state": "rejected"})

    def action_view_purchase_order(self):
        self.ensure_one()
        return self.purchase_order_id.get_formview_action()
