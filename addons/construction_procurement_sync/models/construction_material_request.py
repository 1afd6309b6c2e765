from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_compare, float_is_zero

REQUEST_STATES = [
    ("draft", "Draft"),
    ("to_approve", "To Approve"),
    ("approved", "Approved"),
    ("in_progress", "In Progress"),
    ("done", "Done"),
    ("rejected", "Rejected"),
]


class ConstructionMaterialRequest(models.Model):
    _name = "construction.material.request"
    _description = "Material Request"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(required=True, copy=False, readonly=True, default="/")
    project_id = fields.Many2one(
        comodel_name="project.project",
        required=True,
        index=True,
        check_company=True,
        tracking=True,
    )
    company_id = fields.Many2one(
        comodel_name="res.company",
        required=True,
        index=True,
        compute="_compute_company_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    requester_id = fields.Many2one(
        comodel_name="res.users",
        required=True,
        default=lambda self: self.env.user,
        tracking=True,
    )
    approver_id = fields.Many2one(comodel_name="res.users", readonly=True, copy=False)
    approval_date = fields.Datetime(readonly=True, copy=False)
    date_needed = fields.Date(
        string="Needed By", tracking=True, help="Default for the lines."
    )
    state = fields.Selection(
        selection=REQUEST_STATES,
        default="draft",
        required=True,
        copy=False,
        index=True,
        tracking=True,
    )
    source = fields.Selection(
        selection=[
            ("manual", "Entered in Odoo"),
            ("change_order", "Change Order"),
            ("external", "External Requisition Tool"),
        ],
        default="manual",
        required=True,
        readonly=True,
    )
    origin = fields.Char(
        help="Reference of the change order or external requisition it comes from."
    )
    change_order_id = fields.Many2one(
        comodel_name="construction.change.order",
        string="Change Order",
        readonly=True,
        index="btree_not_null",
        check_company=True,
        copy=False,
    )
    reject_reason = fields.Text(readonly=True, copy=False, tracking=True)
    description = fields.Text()
    line_ids = fields.One2many(
        comodel_name="construction.material.request.line",
        inverse_name="request_id",
        copy=True,
    )
    purchase_order_ids = fields.Many2many(
        comodel_name="purchase.order", compute="_compute_purchase_orders"
    )
    purchase_order_count = fields.Integer(compute="_compute_purchase_orders")
    can_approve = fields.Boolean(compute="_compute_can_approve")

    @api.depends("project_id")
    def _compute_company_id(self):
        for request in self:
            request.company_id = (
                request.project_id.company_id or request.company_id or self.env.company
            )

    @api.depends("line_ids.purchase_line_ids.order_id")
    def _compute_purchase_orders(self):
        for request in self:
            orders = request.line_ids.purchase_line_ids.order_id
            request.purchase_order_ids = orders
            request.purchase_order_count = len(orders)

    @api.depends_context("uid")
    @api.depends("project_id.user_id")
    def _compute_can_approve(self):
        for request in self:
            request.can_approve = request._is_approver()

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                # sudo: numbering only; integration users approving a change order
                # through the API raise material requests without sequence rights.
                vals["name"] = (
                    self.env["ir.sequence"]
                    .sudo()
                    .next_by_code("construction.material.request")
                    or "/"
                )
        return super().create(vals_list)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_ordered(self):
        if any(request.state not in ("draft", "rejected") for request in self):
            raise UserError(
                _("Only draft or rejected material requests can be deleted.")
            )

    def _is_approver(self):
        self.ensure_one()
        user = self.env.user
        return bool(
            (self.project_id.user_id and self.project_id.user_id == user)
            or user.has_group("construction_connector_base.group_construction_manager")
        )

    # ---- workflow ----

    def action_submit(self):
        for request in self:
            if request.state != "draft":
                raise UserError(
                    _(
                        "Only draft requests can be submitted (%(name)s).",
                        name=request.name,
                    )
                )
            if not request.line_ids:
                raise ValidationError(
                    _("Material request %(name)s has no lines.", name=request.name)
                )
            request.line_ids._check_required_dimensions()
        self.write({"state": "to_approve"})
        for request in self:
            approver = request.project_id.user_id
            if approver and approver != self.env.user:
                request.activity_schedule(
                    "mail.mail_activity_data_todo",
                    user_id=approver.id,
                    summary=_("Approve material request"),
                )

    def action_approve(self):
        for request in self:
            if request.state != "to_approve":
                raise UserError(
                    _(
                        "Only requests waiting for approval can be approved "
                        "(%(name)s).",
                        name=request.name,
                    )
                )
            if not request._is_approver():
                raise UserError(
                    _(
                        "Only the project manager of %(project)s or a Construction "
                        "Manager can approve %(name)s.",
                        project=request.project_id.name,
                        name=request.name,
                    )
                )
        self.write(
            {
                "state": "approved",
                "approver_id": self.env.user.id,
                "approval_date": fields.Datetime.now(),
            }
        )
        self.activity_unlink(["mail.mail_activity_data_todo"])

    def action_reject(self, reason=None):
        for request in self:
            if request.state not in ("to_approve", "approved"):
                raise UserError(
                    _("%(name)s cannot be rejected in its state.", name=request.name)
                )
            if not request._is_approver():
                raise UserError(
                    _(
                        "Only the project manager or a Construction Manager can "
                        "reject %(name)s.",
                        name=request.name,
                    )
                )
            if request.line_ids.purchase_line_ids.filtered(
                lambda pol: pol.state != "cancel"
            ):
                raise UserError(
                    _(
                        "%(name)s already has purchase lines: cancel them first.",
                        name=request.name,
                    )
                )
        self.write({"state": "rejected", "reject_reason": reason or False})
        self.activity_unlink(["mail.mail_activity_data_todo"])

    def action_draft(self):
        self.filtered(lambda r: r.state == "rejected").write(
            {"state": "draft", "approver_id": False, "approval_date": False}
        )

    def action_done(self):
        self.filtered(lambda r: r.state in ("approved", "in_progress")).write(
            {"state": "done"}
        )

    def _update_progress_state(self):
        """In progress once ordered; done when every line is received or cancelled."""
        for request in self:
            if request.state not in ("approved", "in_progress"):
                continue
            lines = request.line_ids
            if lines and all(line.is_complete for line in lines):
                request.state = "done"
            elif lines.purchase_line_ids and request.state == "approved":
                request.state = "in_progress"

    def action_create_rfq(self):
        """Turn the approved lines into requests for quotation, one per vendor."""
        orders = self.line_ids._create_rfqs()
        return self._action_view_orders(orders)

    @api.model
    def _demo_procurement(self):
        """Demo data: a material request ordered and partly received, and an
        electrical subcontract with 10% retainage, on the demo medical office."""
        project = self.env.ref(
            "construction_connector_base.project_medical_office_demo",
            raise_if_not_found=False,
        )
        if not project:
            return
        codes = {
            code.code: code
            for code in self.env["account.analytic.account"].search(
                [
                    ("construction_role", "=", "cost_code"),
                    ("company_id", "=", project.company_id.id),
                    ("code", "in", ["03-300", "26-100"]),
                ]
            )
        }
        material = self.env.ref("construction_connector_base.cost_type_material")
        subcontract = self.env.ref("construction_connector_base.cost_type_subcontract")
        request = self.create(
            {
                "project_id": project.id,
                "date_needed": fields.Date.add(
                    fields.Date.context_today(self), days=14
                ),
                "description": "Level 2 slab pour",
                "line_ids": [
                    (
                        0,
                        0,
                        {
                            "cost_code_id": codes["03-300"].id,
                            "cost_type_id": material.id,
                            "product_id": self.env.ref(
                                "construction_procurement_sync.product_ready_mix_demo"
                            ).id,
                            "product_qty": 120.0,
                        },
                    )
                ],
            }
        )
        request.action_submit()
        request.action_approve()
        request.action_create_rfq()
        request.purchase_order_ids.button_confirm()
        self.create(
            {
                "project_id": project.id,
                "description": "Level 3 slab pour (waiting for approval)",
                "line_ids": [
                    (
                        0,
                        0,
                        {
                            "cost_code_id": codes["03-300"].id,
                            "cost_type_id": material.id,
                            "product_id": self.env.ref(
                                "construction_procurement_sync.product_ready_mix_demo"
                            ).id,
                            "product_qty": 95.0,
                        },
                    )
                ],
            }
        ).action_submit()
        electrical = self.env.ref(
            "construction_procurement_sync.product_electrical_subcontract_demo"
        )
        order = self.env["purchase.order"].create(
            {
                "partner_id": self.env.ref(
                    "construction_connector_base.partner_vendor_electrical_demo"
                ).id,
                "project_id": project.id,
                "construction_is_subcontract": True,
                "construction_retainage_percent": 10.0,
                "order_line": [
                    (
                        0,
                        0,
                        {
                            "product_id": electrical.id,
                            "name": "Electrical rough-in and trim, levels 1-3",
                            "product_qty": 1.0,
                            "price_unit": 145000.0,
                            "analytic_distribution": {
                                f"{project.account_id.id},{codes['26-100'].id},"
                                f"{subcontract.id}": 100
                            },
                        },
                    )
                ],
            }
        )
        order.button_confirm()

    def action_view_purchase_orders(self):
        self.ensure_one()
        return self._action_view_orders(self.purchase_order_ids)

    def _action_view_orders(self, orders):
        action = self.env["ir.actions.act_window"]._for_xml_id("purchase.purchase_rfq")
        action["domain"] = [("id", "in", orders.ids)]
        if len(orders) == 1:
            action["views"] = [(False, "form")]
            action["res_id"] = orders.id
        return action


class ConstructionMaterialRequestLine(models.Model):
    _name = "construction.material.request.line"
    _description = "Material Request Line"
    _order = "request_id, sequence, id"
    _check_company_auto = True

    request_id = fields.Many2one(
        comodel_name="construction.material.request",
        required=True,
        index=True,
        ondelete="cascade",
    )
    sequence = fields.Integer(default=10)
    project_id = fields.Many2one(related="request_id.project_id", store=True)
    company_id = fields.Many2one(
        related="request_id.company_id", store=True, index=True
    )
    state = fields.Selection(related="request_id.state", store=True)
    cost_code_id = fields.Many2one(
        comodel_name="account.analytic.account",
        index=True,
        check_company=True,
        domain="[('construction_role', '=', 'cost_code')]",
    )
    cost_type_id = fields.Many2one(
        comodel_name="account.analytic.account",
        check_company=True,
        domain="[('construction_role', '=', 'cost_type')]",
        default=lambda self: self.env.ref(
            "construction_connector_base.cost_type_material", raise_if_not_found=False
        ),
    )
    product_id = fields.Many2one(
        comodel_name="product.product",
        check_company=True,
        domain="[('purchase_ok', '=', True)]",
    )
    name = fields.Char(
        string="Description",
        compute="_compute_name",
        store=True,
        readonly=False,
        precompute=True,
    )
    product_qty = fields.Float(
        string="Quantity", digits="Product Unit of Measure", default=1.0, required=True
    )
    product_uom_id = fields.Many2one(
        comodel_name="uom.uom",
        string="Unit",
        compute="_compute_product_uom_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    date_needed = fields.Date(
        string="Needed By",
        compute="_compute_date_needed",
        store=True,
        readonly=False,
        precompute=True,
    )
    vendor_id = fields.Many2one(
        comodel_name="res.partner",
        string="Vendor",
        check_company=True,
        help="Vendor to ask; empty: the product's main vendor.",
    )
    purchase_line_ids = fields.One2many(
        comodel_name="purchase.order.line",
        inverse_name="construction_request_line_id",
        string="Purchase Lines",
        readonly=True,
    )
    qty_in_progress = fields.Float(
        string="On RFQ",
        compute="_compute_quantities",
        digits="Product Unit of Measure",
        help="Quantity on requests for quotation not yet confirmed.",
    )
    qty_ordered = fields.Float(
        string="Ordered",
        compute="_compute_quantities",
        digits="Product Unit of Measure",
        help="Quantity on confirmed purchase orders.",
    )
    qty_received = fields.Float(
        string="Received",
        compute="_compute_quantities",
        digits="Product Unit of Measure",
    )
    qty_cancelled = fields.Float(
        string="Cancelled",
        compute="_compute_quantities",
        digits="Product Unit of Measure",
    )
    qty_to_order = fields.Float(
        string="To Order",
        compute="_compute_quantities",
        digits="Product Unit of Measure",
    )
    qty_pending_receipt = fields.Float(
        string="Pending Receipt",
        compute="_compute_quantities",
        digits="Product Unit of Measure",
    )
    is_complete = fields.Boolean(compute="_compute_quantities")

    @api.depends("product_id")
    def _compute_name(self):
        for line in self:
            if line.product_id and not line.name:
                line.name = line.product_id.display_name

    @api.depends("product_id")
    def _compute_product_uom_id(self):
        for line in self:
            if line.product_id:
                line.product_uom_id = line.product_id.uom_po_id
            elif not line.product_uom_id:
                line.product_uom_id = self.env.ref(
                    "uom.product_uom_unit", raise_if_not_found=False
                )

    @api.depends("request_id.date_needed")
    def _compute_date_needed(self):
        for line in self:
            if not line.date_needed:
                line.date_needed = line.request_id.date_needed

    @api.depends(
        "product_qty",
        "product_uom_id",
        "purchase_line_ids.state",
        "purchase_line_ids.product_qty",
        "purchase_line_ids.product_uom",
        "purchase_line_ids.qty_received",
    )
    def _compute_quantities(self):
        for line in self:
            uom = line.product_uom_id
            in_progress = ordered = received = cancelled = 0.0
            for pol in line.purchase_line_ids:
                qty = pol.product_uom._compute_quantity(pol.product_qty, uom)
                if pol.state == "cancel":
                    cancelled += qty
                elif pol.state in ("purchase", "done"):
                    ordered += qty
                    received += pol.product_uom._compute_quantity(pol.qty_received, uom)
                else:
                    in_progress += qty
            line.qty_in_progress = in_progress
            line.qty_ordered = ordered
            line.qty_received = received
            line.qty_cancelled = cancelled
            line.qty_to_order = max(line.product_qty - in_progress - ordered, 0.0)
            line.qty_pending_receipt = max(ordered - received, 0.0)
            rounding = uom.rounding or 0.01
            line.is_complete = bool(line.purchase_line_ids) and (
                float_is_zero(line.qty_to_order, precision_rounding=rounding)
                and float_is_zero(line.qty_pending_receipt, precision_rounding=rounding)
                and float_compare(
                    received + cancelled, 0.0, precision_rounding=rounding
                )
                > 0
            )

    @api.constrains("product_qty")
    def _check_product_qty(self):
        for line in self:
            if float_compare(line.product_qty, 0.0, precision_digits=6) <= 0:
                raise ValidationError(
                    _(
                        "The requested quantity of %(line)s must be greater than zero.",
                        line=line.name or line.product_id.display_name or "",
                    )
                )

    @api.constrains("cost_code_id", "cost_type_id")
    def _check_dimension_roles(self):
        for line in self:
            if line.cost_code_id and line.cost_code_id.construction_role != "cost_code":
                raise ValidationError(
                    _("%(account)s is not a cost code.", account=line.cost_code_id.name)
                )
            if line.cost_type_id and line.cost_type_id.construction_role != "cost_type":
                raise ValidationError(
                    _("%(account)s is not a cost type.", account=line.cost_type_id.name)
                )

    def _check_required_dimensions(self):
        for line in self:
            if line.project_id.construction_require_cost_code and not line.cost_code_id:
                raise ValidationError(
                    _(
                        "Line %(line)s of %(request)s needs a cost code: project "
                        "%(project)s requires one on every purchase.",
                        line=line.name or line.product_id.display_name or "",
                        request=line.request_id.name,
                        project=line.project_id.name,
                    )
                )

    def _analytic_distribution(self):
        self.ensure_one()
        account = self.project_id.account_id
        if not account:
            self.project_id._create_analytic_account()
            account = self.project_id.account_id
        accounts = [account, self.cost_code_id, self.cost_type_id]
        return {",".join(str(a.id) for a in accounts if a): 100}

    def _select_vendor(self):
        self.ensure_one()
        if self.vendor_id:
            return self.vendor_id
        seller = (
            self.product_id.with_company(self.company_id)._select_seller(
                quantity=self.qty_to_order, uom_id=self.product_uom_id
            )
            or self.product_id.with_company(self.company_id).seller_ids[:1]
        )
        return seller.partner_id

    def _create_rfqs(self):
        """RFQs for what remains to order on these lines, one per vendor and project.

        Checks every line first, so nothing is created when one line is not ready.
        """
        lines = self.filtered(
            lambda line: (
                not float_is_zero(
                    line.qty_to_order, precision_rounding=line.product_uom_id.rounding
                )
            )
        )
        problems = []
        groups = defaultdict(lambda: self.browse())
        for line in lines:
            label = line.name or line.product_id.display_name or str(line.id)
            if line.request_id.state not in ("approved", "in_progress"):
                problems.append(
                    _(
                        "%(request)s is not approved.",
                        request=line.request_id.name,
                    )
                )
                continue
            if not line.product_id:
                problems.append(_("Line %(line)s has no product.", line=label))
                continue
            vendor = line._select_vendor()
            if not vendor:
                problems.append(
                    _(
                        "Line %(line)s has no vendor: choose one or add a vendor "
                        "to %(product)s.",
                        line=label,
                        product=line.product_id.display_name,
                    )
                )
                continue
            groups[(vendor, line.project_id, line.company_id)] |= line
        if not lines:
            raise UserError(_("Nothing is left to order on these material requests."))
        if problems:
            raise UserError("\n".join(dict.fromkeys(problems)))
        orders = self.env["purchase.order"]
        for (vendor, project, company), group in groups.items():
            order = (
                self.env["purchase.order"]
                .with_company(company)
                .create(
                    {
                        "partner_id": vendor.id,
                        "company_id": company.id,
                        "project_id": project.id,
                        "origin": ", ".join(group.request_id.mapped("name")),
                    }
                )
            )
            self.env["purchase.order.line"].with_company(company).create(
                [
                    dict(line._prepare_purchase_order_line(order), order_id=order.id)
                    for line in group
                ]
            )
            orders |= order
        lines.request_id._update_progress_state()
        return orders

    def _prepare_purchase_order_line(self, order):
        self.ensure_one()
        product = self.product_id
        qty = self.product_uom_id._compute_quantity(
            self.qty_to_order, product.uom_po_id
        )
        supplier = product.with_company(order.company_id)._select_seller(
            partner_id=order.partner_id, quantity=qty, uom_id=product.uom_po_id
        )
        if supplier:
            values = self.env["purchase.order.line"]._prepare_purchase_order_line(
                product, qty, product.uom_po_id, order.company_id, supplier, order
            )
        else:
            values = {
                "product_id": product.id,
                "product_qty": qty,
                "product_uom": product.uom_po_id.id,
                "price_unit": product.standard_price,
                "name": product.display_name,
            }
        values.pop("order_id", None)
        values.update(
            {
                "name": self.name or values.get("name"),
                "analytic_distribution": self._analytic_distribution(),
                "construction_request_line_id": self.id,
            }
        )
        if self.date_needed:
            values["date_planned"] = fields.Datetime.to_datetime(self.date_needed)
        return values
