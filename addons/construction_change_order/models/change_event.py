from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError


class ConstructionChangeEvent(models.Model):
    """A potential change: captured early with rough cost and revenue (ROM)."""

    _name = "construction.change.event"
    _description = "Change Event"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "project_id, number desc, id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Number", required=True, copy=False, readonly=True, default="/"
    )
    number = fields.Integer(string="Sequence Number", copy=False, readonly=True)
    title = fields.Char(required=True, tracking=True)
    project_id = fields.Many2one(
        comodel_name="project.project",
        required=True,
        index=True,
        check_company=True,
        tracking=True,
        ondelete="restrict",
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
    currency_id = fields.Many2one(related="company_id.currency_id")
    origin = fields.Selection(
        selection=[
            ("rfi", "RFI"),
            ("field_observation", "Field Observation"),
            ("owner_request", "Owner Request"),
            ("design_error", "Design Error or Omission"),
            ("unforeseen_condition", "Unforeseen Condition"),
            ("other", "Other"),
        ],
        required=True,
        default="owner_request",
        tracking=True,
    )
    origin_reference = fields.Char(help="RFI number, observation reference...")
    scope = fields.Selection(
        selection=[
            ("in_scope", "In Scope"),
            ("out_of_scope", "Out of Scope"),
            ("tbd", "To Be Determined"),
        ],
        required=True,
        default="tbd",
        tracking=True,
        help="Out of scope: the owner pays (revenue expected). In scope: the cost is "
        "ours.",
    )
    state = fields.Selection(
        selection=[
            ("open", "Open"),
            ("pending", "Pending"),
            ("closed", "Closed"),
            ("void", "Void"),
        ],
        default="open",
        required=True,
        copy=False,
        index=True,
        tracking=True,
    )
    reason_id = fields.Many2one("construction.change.order.reason", tracking=True)
    description = fields.Html()
    line_ids = fields.One2many(
        comodel_name="construction.change.event.line",
        inverse_name="event_id",
        copy=True,
    )
    change_order_ids = fields.Many2many(
        comodel_name="construction.change.order",
        relation="construction_change_event_order_rel",
        column1="event_id",
        column2="change_order_id",
        string="Change Orders",
        copy=False,
    )
    change_order_count = fields.Integer(compute="_compute_change_order_count")
    amount_cost = fields.Monetary(
        string="Cost ROM", compute="_compute_amounts", store=True, tracking=True
    )
    amount_revenue = fields.Monetary(
        string="Revenue ROM", compute="_compute_amounts", store=True, tracking=True
    )

    _sql_constraints = [
        (
            "number_unique",
            "UNIQUE(project_id, number)",
            "Change event numbers are unique per project.",
        ),
    ]

    @api.depends("project_id")
    def _compute_company_id(self):
        for event in self:
            event.company_id = (
                event.project_id.company_id or event.company_id or self.env.company
            )

    @api.depends("line_ids.cost_estimate", "line_ids.revenue_estimate")
    def _compute_amounts(self):
        for event in self:
            event.amount_cost = sum(event.line_ids.mapped("cost_estimate"))
            event.amount_revenue = sum(event.line_ids.mapped("revenue_estimate"))

    @api.depends("change_order_ids")
    def _compute_change_order_count(self):
        for event in self:
            event.change_order_count = len(event.change_order_ids)

    @api.model_create_multi
    def create(self, vals_list):
        next_numbers = {}
        for vals in vals_list:
            project_id = vals.get("project_id")
            if not project_id:
                continue
            if project_id not in next_numbers:
                next_numbers[project_id] = self._next_number(project_id)
            vals["number"] = next_numbers[project_id]
            next_numbers[project_id] += 1
            if vals.get("name", "/") == "/":
                vals["name"] = "CE-%03d" % vals["number"]
        return super().create(vals_list)

    @api.model
    def _next_number(self, project_id):
        # Serialize numbering per project (see construction.change.order).
        self.env.cr.execute(
            "UPDATE project_project SET write_date = write_date WHERE id = %s",
            (project_id,),
        )
        self.env.cr.execute(
            "SELECT COALESCE(MAX(number), 0) + 1 FROM construction_change_event "
            "WHERE project_id = %s",
            (project_id,),
        )
        return self.env.cr.fetchone()[0]

    def write(self, vals):
        if "project_id" in vals and self.filtered(
            lambda e: e.change_order_ids and e.project_id.id != vals["project_id"]
        ):
            raise UserError(
                _("A change event linked to change orders cannot change project.")
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_linked(self):
        if self.filtered("change_order_ids"):
            raise UserError(
                _("A change event linked to change orders cannot be deleted: void it.")
            )

    def action_pending(self):
        self.filtered(lambda e: e.state == "open").state = "pending"

    def action_close(self):
        self.filtered(lambda e: e.state in ("open", "pending")).state = "closed"

    def action_void(self):
        for event in self:
            if event.change_order_ids.filtered(
                lambda co: co.stage_kind in ("approved", "no_charge")
            ):
                raise UserError(
                    _(
                        "Change event %(event)s has approved change orders: void "
                        "them first.",
                        event=event.name,
                    )
                )
        self.state = "void"

    def action_reopen(self):
        self.filtered(lambda e: e.state in ("closed", "void")).state = "open"

    def action_create_change_order(self):
        """Create a (potential) change order from this event's lines."""
        self.ensure_one()
        if self.state == "void":
            raise UserError(_("A void change event cannot be priced."))
        order = self.env["construction.change.order"].create(
            self._prepare_change_order_vals()
        )
        if self.state == "open":
            self.state = "pending"
        return order._get_form_action()

    def _prepare_change_order_vals(self, side="prime"):
        self.ensure_one()
        tier = self.project_id._get_change_order_tiers(side)
        return {
            "project_id": self.project_id.id,
            "side": side,
            "tier_level": "co" if tier == "one" else "pco",
            "title": self.title,
            "reason_id": self.reason_id.id,
            "partner_id": self.project_id.partner_id.id,
            "change_event_ids": [fields.Command.link(self.id)],
            "line_ids": [
                fields.Command.create(line._prepare_change_order_line_vals())
                for line in self.line_ids
            ],
        }

    def action_view_change_orders(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_change_order.construction_change_order_action"
        )
        action["domain"] = [("id", "in", self.change_order_ids.ids)]
        action["context"] = {"default_project_id": self.project_id.id}
        return action


class ConstructionChangeEventLine(models.Model):
    _name = "construction.change.event.line"
    _description = "Change Event Line"
    _order = "event_id, sequence, id"
    _check_company_auto = True

    event_id = fields.Many2one(
        comodel_name="construction.change.event",
        required=True,
        index=True,
        ondelete="cascade",
    )
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one(related="event_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="event_id.currency_id")
    cost_code_id = fields.Many2one(
        comodel_name="account.analytic.account",
        index=True,
        check_company=True,
        ondelete="restrict",
        domain="[('construction_role', '=', 'cost_code')]",
    )
    cost_type_id = fields.Many2one(
        comodel_name="account.analytic.account",
        check_company=True,
        ondelete="restrict",
        domain="[('construction_role', '=', 'cost_type')]",
    )
    name = fields.Char(string="Description", required=True)
    cost_estimate = fields.Monetary(string="Cost ROM")
    revenue_estimate = fields.Monetary(string="Revenue ROM")

    @api.constrains("cost_code_id", "cost_type_id")
    def _check_dimensions(self):
        for line in self:
            if not line.cost_code_id:
                raise ValidationError(
                    _("Change event line %(line)s needs a cost code.", line=line.name)
                )
            if line.cost_code_id.construction_role != "cost_code":
                raise ValidationError(
                    _("%(account)s is not a cost code.", account=line.cost_code_id.name)
                )
            if line.cost_type_id and line.cost_type_id.construction_role != "cost_type":
                raise ValidationError(
                    _("%(account)s is not a cost type.", account=line.cost_type_id.name)
                )

    def _prepare_change_order_line_vals(self):
        self.ensure_one()
        cost = self.cost_estimate
        markup = 0.0
        if cost and self.revenue_estimate:
            markup = (self.revenue_estimate - cost) / cost * 100.0
        return {
            "cost_code_id": self.cost_code_id.id,
            "cost_type_id": self.cost_type_id.id,
            "name": self.name,
            "quantity": 1.0,
            "unit_cost": cost,
            "markup_percent": markup,
            "price_amount": self.revenue_estimate or cost,
        }
