from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from odoo.addons.construction_connector_base.tools.security import check_manager

SIDES = [("prime", "Prime Contract (Owner)"), ("commitment", "Commitment (Vendor)")]
TIER_LEVELS = [
    ("pco", "Potential Change Order"),
    ("cor", "Change Order Request"),
    ("co", "Change Order"),
]
# Number prefixes per (side, tier level), as Procore shows them.
PREFIXES = {
    ("prime", "pco"): "PCO",
    ("prime", "cor"): "COR",
    ("prime", "co"): "PCCO",
    ("commitment", "pco"): "CPCO",
    ("commitment", "cor"): "CCOR",
    ("commitment", "co"): "CCO",
}
# Tier levels allowed per project tier setting, and the level a package has.
TIER_LEVELS_BY_SETTING = {
    "one": {"co"},
    "two": {"pco", "co"},
    "three": {"pco", "cor", "co"},
}
PACKAGE_LEVEL = {
    ("two", "pco"): "co",
    ("three", "pco"): "cor",
    ("three", "cor"): "co",
}
# Stage kinds a change order can't be edited in.
LOCKED_KINDS = ("approved", "no_charge", "void", "rejected")
# Stage kinds reached only through their action (approval, rejection, void...).
DECISION_KINDS = ("approved", "rejected", "no_charge", "void")
# Allowed stage-kind transitions.
TRANSITIONS = {
    "draft": {"draft", "pending", "void"},
    "pending": {"pending", "draft", "approved", "rejected", "no_charge", "void"},
    "approved": {"approved", "void"},
    "no_charge": {"no_charge", "void"},
    "rejected": {"rejected", "draft", "void"},
    "void": {"void"},
}
# Context key set by the workflow actions to move a change order to a decision.
DECISION_CONTEXT = "construction_change_order_decision"


class ConstructionChangeOrder(models.Model):
    """A change order on the prime contract (owner) or a commitment (vendor).

    One model for every tier: ``tier_level`` says whether it is a potential change
    order (PCO), a change order request (COR) or the change order itself (CO);
    ``parent_id`` is the package it is grouped into. Lower tiers mirror the status
    of their package, and only a top-level change order goes through approval.
    """

    _name = "construction.change.order"
    _description = "Change Order"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "project_id, side, tier_level desc, number desc, id desc"
    _check_company_auto = True
    _rec_names_search = ["name", "title"]

    name = fields.Char(
        string="Number", required=True, copy=False, readonly=True, default="/"
    )
    number = fields.Integer(
        string="Sequence Number", copy=False, readonly=True, aggregator=False
    )
    title = fields.Char(required=True, tracking=True)
    description = fields.Html()
    reason_id = fields.Many2one(
        comodel_name="construction.change.order.reason",
        string="Reason",
        tracking=True,
    )
    side = fields.Selection(
        selection=SIDES, required=True, default="prime", tracking=True, index=True
    )
    tier_level = fields.Selection(
        selection=TIER_LEVELS,
        string="Tier",
        required=True,
        default="co",
        index=True,
        tracking=True,
    )
    parent_id = fields.Many2one(
        comodel_name="construction.change.order",
        string="Package",
        index="btree_not_null",
        check_company=True,
        ondelete="restrict",
        tracking=True,
        help="The change order request or change order this one is grouped into.",
    )
    child_ids = fields.One2many(
        comodel_name="construction.change.order",
        inverse_name="parent_id",
        string="Grouped Changes",
    )
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
    partner_id = fields.Many2one(
        comodel_name="res.partner",
        string="Customer / Vendor",
        compute="_compute_partner_id",
        store=True,
        readonly=False,
        precompute=True,
        check_company=True,
        tracking=True,
        index="btree_not_null",
        help="The owner for a prime change order (the project's customer unless "
        "set), the subcontractor or supplier for a commitment change order.",
    )
    change_event_ids = fields.Many2many(
        comodel_name="construction.change.event",
        relation="construction_change_event_order_rel",
        column1="change_order_id",
        column2="event_id",
        string="Change Events",
        check_company=True,
    )
    date = fields.Date(default=fields.Date.context_today, tracking=True)
    due_date = fields.Date(tracking=True)
    schedule_impact_days = fields.Integer(
        string="Schedule Impact (days)",
        tracking=True,
        help="Calendar days added to (or, negative, removed from) the contract time.",
    )
    status_id = fields.Many2one(
        comodel_name="construction.change.order.status",
        string="Status",
        required=True,
        index=True,
        copy=False,
        tracking=True,
        ondelete="restrict",
        default=lambda self: self.env["construction.change.order.status"]._get_default(
            "draft"
        ),
        group_expand="_read_group_status_id",
    )
    stage_kind = fields.Selection(
        related="status_id.stage_kind", store=True, index=True, string="Stage"
    )
    budget_effect = fields.Selection(
        related="status_id.budget_effect", store=True, index=True
    )
    line_ids = fields.One2many(
        comodel_name="construction.change.order.line",
        inverse_name="change_order_id",
        copy=True,
    )
    amount_cost = fields.Monetary(
        string="Cost",
        compute="_compute_amounts",
        store=True,
        recursive=True,
        tracking=True,
        help="Cost of this change, including the changes grouped into it.",
    )
    amount_price = fields.Monetary(
        string="Price",
        compute="_compute_amounts",
        store=True,
        recursive=True,
        tracking=True,
        help="Price asked from the owner (cost plus markup), including grouped "
        "changes.",
    )
    amount_markup = fields.Monetary(
        string="Markup", compute="_compute_amounts", store=True, recursive=True
    )
    amount_total = fields.Monetary(
        string="Contract Change",
        compute="_compute_amounts",
        store=True,
        recursive=True,
        help="What this change adds to the contract it changes: the price for an "
        "owner change order, the cost for a commitment change order.",
    )
    is_backcharge = fields.Boolean(
        string="Backcharge",
        tracking=True,
        help="A commitment change order that may take the commitment below zero "
        "(the vendor owes us).",
    )
    requested_by_id = fields.Many2one(
        comodel_name="res.users",
        string="Requested By",
        default=lambda self: self.env.user,
        tracking=True,
        help="Nobody approves a change order they requested or created.",
    )
    prime_change_order_id = fields.Many2one(
        comodel_name="construction.change.order",
        string="Owner Change Order",
        index="btree_not_null",
        check_company=True,
        ondelete="set null",
        tracking=True,
        domain="[('side', '=', 'prime'), ('project_id', '=', project_id)]",
        help="The owner change order that recovers the cost of this commitment "
        "change order.",
    )
    commitment_change_order_ids = fields.One2many(
        comodel_name="construction.change.order",
        inverse_name="prime_change_order_id",
        string="Commitment Change Orders",
    )
    amount_commitment_cost = fields.Monetary(
        string="Committed Cost of Change",
        compute="_compute_recovery",
        help="Total of the linked commitment change orders (not rejected or void).",
    )
    amount_recovery_margin = fields.Monetary(
        string="Margin over Commitments",
        compute="_compute_recovery",
        help="Owner price minus the cost carried by the linked commitment change "
        "orders.",
    )
    approval_round = fields.Integer(copy=False, readonly=True)
    approval_ids = fields.One2many(
        comodel_name="construction.change.order.approval",
        inverse_name="change_order_id",
        string="Approvals",
        copy=False,
    )
    approval_state = fields.Selection(
        selection=[
            ("none", "Not Submitted"),
            ("waiting", "Waiting for Approval"),
            ("approved", "Approved"),
            ("rejected", "Rejected"),
        ],
        compute="_compute_approval_state",
    )
    next_approver_names = fields.Char(compute="_compute_approval_state")
    can_decide = fields.Boolean(compute="_compute_can_decide")
    approved_date = fields.Datetime(copy=False, readonly=True, tracking=True)
    approved_by_id = fields.Many2one("res.users", copy=False, readonly=True)
    rejection_reason = fields.Text(copy=False, readonly=True, tracking=True)
    void_reason = fields.Text(copy=False, readonly=True, tracking=True)
    voided_date = fields.Datetime(copy=False, readonly=True)
    impact_preview_html = fields.Html(
        string="Impact Preview",
        compute="_compute_impact_preview_html",
        sanitize=False,
    )

    _sql_constraints = [
        (
            "number_unique",
            "UNIQUE(project_id, side, tier_level, number)",
            "Change order numbers are unique per project, side and tier.",
        ),
    ]

    # ---- computes ----

    @api.depends("project_id")
    def _compute_company_id(self):
        for order in self:
            order.company_id = (
                order.project_id.company_id or order.company_id or self.env.company
            )

    @api.depends("project_id", "side")
    def _compute_partner_id(self):
        for order in self:
            if order.side == "prime" and not order.partner_id:
                order.partner_id = order.project_id.partner_id

    @api.depends(
        "side",
        "line_ids.cost_amount",
        "line_ids.price_amount",
        "child_ids.amount_cost",
        "child_ids.amount_price",
    )
    def _compute_amounts(self):
        for order in self:
            currency = order.currency_id or self.env.company.currency_id
            cost = sum(order.line_ids.mapped("cost_amount")) + sum(
                order.child_ids.mapped("amount_cost")
            )
            price = sum(order.line_ids.mapped("price_amount")) + sum(
                order.child_ids.mapped("amount_price")
            )
            order.amount_cost = currency.round(cost)
            order.amount_price = currency.round(price)
            order.amount_markup = currency.round(price - cost)
            order.amount_total = order.amount_price if order.side == "prime" else cost

    @api.depends(
        "amount_price",
        "commitment_change_order_ids.amount_total",
        "commitment_change_order_ids.stage_kind",
    )
    def _compute_recovery(self):
        for order in self:
            commitments = order.commitment_change_order_ids.filtered(
                lambda co: co.stage_kind not in ("rejected", "void")
            )
            order.amount_commitment_cost = sum(commitments.mapped("amount_total"))
            order.amount_recovery_margin = order.currency_id.round(
                order.amount_price - order.amount_commitment_cost
            )

    @api.depends(
        "approval_ids.state", "approval_ids.round", "approval_round", "stage_kind"
    )
    def _compute_approval_state(self):
        for order in self:
            approvals = order._current_approvals()
            pending = approvals.filtered(lambda a: a.state == "pending")
            if not approvals or order.stage_kind == "draft":
                order.approval_state = "none"
            elif "rejected" in approvals.mapped("state"):
                order.approval_state = "rejected"
            elif all(a.state == "approved" for a in approvals):
                order.approval_state = "approved"
            else:
                order.approval_state = "waiting"
            order.next_approver_names = pending[:1].approver_names or False

    @api.depends_context("uid")
    @api.depends("approval_ids.state", "stage_kind")
    def _compute_can_decide(self):
        for order in self:
            approval = order._current_approvals().filtered(
                lambda a: a.state == "pending"
            )[:1]
            order.can_decide = bool(
                order.stage_kind == "pending"
                and approval
                and approval._is_approver(self.env.user)
                and not order._is_requester(self.env.user)
            )

    def _compute_impact_preview_html(self):
        for order in self:
            if not order.id or not order.project_id:
                order.impact_preview_html = False
                continue
            order.impact_preview_html = order._render_impact_preview(
                order._get_impact_preview()
            )

    @api.model
    def _read_group_status_id(self, statuses, domain):
        return statuses.search([])

    @api.depends("name", "title")
    def _compute_display_name(self):
        for order in self:
            order.display_name = (
                f"{order.name}: {order.title}" if order.title else order.name
            )

    # ---- constraints ----

    @api.constrains("tier_level", "project_id", "parent_id", "side")
    def _check_tiers(self):
        for order in self:
            setting = (
                order.project_id._get_change_order_tiers(order.side)
                if order.project_id
                else "one"
            )
            if order.tier_level not in TIER_LEVELS_BY_SETTING[setting]:
                raise ValidationError(
                    _(
                        "Project %(project)s uses %(setting)s for its %(side)s "
                        "change orders: a %(tier)s is not allowed.",
                        project=order.project_id.display_name,
                        setting=dict(
                            self.env["project.project"]
                            ._fields["change_order_tiers"]
                            ._description_selection(self.env)
                        )[setting],
                        side=dict(
                            self._fields["side"]._description_selection(self.env)
                        )[order.side],
                        tier=dict(TIER_LEVELS)[order.tier_level],
                    )
                )
            parent = order.parent_id
            if not parent:
                continue
            expected = PACKAGE_LEVEL.get((setting, order.tier_level))
            if parent.tier_level != expected:
                raise ValidationError(
                    _(
                        "%(order)s cannot be grouped into %(parent)s: a "
                        "%(tier)s goes into a %(expected)s.",
                        order=order.display_name,
                        parent=parent.display_name,
                        tier=dict(TIER_LEVELS)[order.tier_level],
                        expected=dict(TIER_LEVELS).get(expected, "-"),
                    )
                )
            if parent.project_id != order.project_id or parent.side != order.side:
                raise ValidationError(
                    _(
                        "%(order)s and its package %(parent)s must have the same "
                        "project and side.",
                        order=order.display_name,
                        parent=parent.display_name,
                    )
                )

    @api.constrains("prime_change_order_id", "side", "project_id")
    def _check_prime_link(self):
        for order in self.filtered("prime_change_order_id"):
            prime = order.prime_change_order_id
            if order.side != "commitment" or prime.side != "prime":
                raise ValidationError(
                    _(
                        "Only a commitment change order can be linked to an owner "
                        "change order."
                    )
                )
            if prime.project_id != order.project_id:
                raise ValidationError(
                    _(
                        "%(order)s and the owner change order %(prime)s must belong "
                        "to the same project.",
                        order=order.display_name,
                        prime=prime.display_name,
                    )
                )

    @api.constrains("is_backcharge", "side")
    def _check_backcharge(self):
        if self.filtered(lambda co: co.is_backcharge and co.side != "commitment"):
            raise ValidationError(
                _("Only a commitment change order can be a backcharge.")
            )

    # ---- CRUD ----

    @api.model_create_multi
    def create(self, vals_list):
        next_numbers = {}
        for vals in vals_list:
            vals.setdefault("side", "prime")
            vals.setdefault("tier_level", "co")
            key = (vals.get("project_id"), vals["side"], vals["tier_level"])
            if not key[0]:
                continue
            if key not in next_numbers:
                next_numbers[key] = self._next_number(*key)
            vals["number"] = next_numbers[key]
            next_numbers[key] += 1
            if vals.get("name", "/") == "/":
                vals["name"] = "%s-%03d" % (PREFIXES[key[1:]], vals["number"])
        orders = super().create(vals_list)
        # A change grouped into a package at creation takes the package's status.
        for order in orders.filtered(
            lambda co: co.parent_id and co.parent_id.stage_kind != "draft"
        ):
            order._take_package_status()
        return orders

    @api.model
    def _next_number(self, project_id, side, tier_level):
        # Numbers are per project, side and tier (PCCO-001, CCO-001, PCO-001...).
        # A no-op update of the project row serializes numbering per project: a
        # concurrent creation waits, then fails with a serialization error that
        # Odoo (and queue_job) retry, instead of reusing the same number.
        self.env.cr.execute(
            "UPDATE project_project SET write_date = write_date WHERE id = %s",
            (project_id,),
        )
        self.env.cr.execute(
            "SELECT COALESCE(MAX(number), 0) + 1 FROM construction_change_order "
            "WHERE project_id = %s AND side = %s AND tier_level = %s",
            (project_id, side, tier_level),
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _get_locked_writable_fields(self):
        """Fields that may still change on an approved, no-charge, rejected or
        void change order (status transitions, links, audit fields).

        Other addons extend it with their own link fields (e.g. the purchase
        order a commitment change order applies to).
        """
        return {
            "status_id",
            "void_reason",
            "voided_date",
            "rejection_reason",
            "approved_date",
            "approved_by_id",
            "approval_round",
            "prime_change_order_id",
            "commitment_change_order_ids",
            "change_event_ids",
            "description",
            "due_date",
        }

    def write(self, vals):
        protected = {
            fname
            for fname in vals
            if fname not in self._get_locked_writable_fields()
            and not fname.startswith(("message_", "activity_", "website_message"))
        }
        if protected:
            locked = self.filtered(lambda co: co.stage_kind in LOCKED_KINDS)
            if locked:
                raise UserError(
                    _(
                        "%(order)s is %(status)s: it cannot be edited. Make a new "
                        "change order instead.",
                        order=locked[0].display_name,
                        status=locked[0].status_id.name,
                    )
                )
        if {"line_ids", "parent_id"} & set(vals) or "child_ids" in vals:
            self._check_amounts_editable()
        old_kinds = {}
        if "status_id" in vals:
            new_status = self.env["construction.change.order.status"].browse(
                vals["status_id"]
            )
            old_kinds = {order: order.stage_kind for order in self}
            for order in self:
                order._check_status_transition(new_status)
            submitted = self.filtered(
                lambda co: co.stage_kind == "draft" and new_status.stage_kind != "draft"
            )
            cascading = self.env.context.get("construction_change_order_cascade")
            if new_status.stage_kind == "pending" and not cascading:
                submitted._check_submittable()
        if "parent_id" in vals and vals["parent_id"]:
            package = self.browse(vals["parent_id"])
            if package.stage_kind in LOCKED_KINDS:
                raise UserError(
                    _(
                        "%(package)s is %(status)s: nothing can be added to it.",
                        package=package.display_name,
                        status=package.status_id.name,
                    )
                )
            if self.filtered(lambda co: co.stage_kind in LOCKED_KINDS):
                raise UserError(
                    _("Only a draft or pending change can be grouped into a package.")
                )
        result = super().write(vals)
        if old_kinds:
            self._on_status_changed(old_kinds)
        if "parent_id" in vals and vals["parent_id"]:
            for order in self.filtered(lambda co: co.parent_id.stage_kind != "draft"):
                order._take_package_status()
        if {"project_id", "side"} & set(vals):
            self._all_lines()._sync_budget_lines()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_only_draft(self):
        for order in self:
            if order.stage_kind != "draft" or order.approval_ids.filtered(
                lambda a: a.state in ("approved", "rejected")
            ):
                raise UserError(
                    _(
                        "%(order)s is not a draft: void it instead of deleting it.",
                        order=order.display_name,
                    )
                )
            if order.child_ids:
                raise UserError(
                    _(
                        "%(order)s groups other changes: remove them first.",
                        order=order.display_name,
                    )
                )

    # ---- workflow ----

    def _check_status_transition(self, new_status):
        self.ensure_one()
        old_kind, new_kind = self.stage_kind, new_status.stage_kind
        if new_kind not in TRANSITIONS[old_kind]:
            raise UserError(
                _(
                    "%(order)s cannot go from %(old)s to %(new)s.",
                    order=self.display_name,
                    old=self.status_id.name,
                    new=new_status.name,
                )
            )
        cascading = self.env.context.get("construction_change_order_cascade")
        if self.parent_id and not cascading and new_status != self.status_id:
            raise UserError(
                _(
                    "%(order)s is grouped into %(package)s: it follows the status "
                    "of its package.",
                    order=self.display_name,
                    package=self.parent_id.display_name,
                )
            )
        if (
            new_kind != old_kind
            and new_kind in DECISION_KINDS
            and not (cascading or self.env.context.get(DECISION_CONTEXT))
        ):
            raise UserError(
                _(
                    "Use the %(action)s button to move %(order)s to %(status)s.",
                    action=dict(
                        approved=_("Approve"),
                        rejected=_("Reject"),
                        no_charge=_("No Charge"),
                        void=_("Void"),
                    )[new_kind],
                    order=self.display_name,
                    status=new_status.name,
                )
            )
        if new_kind == "approved" and self.tier_level != "co" and not cascading:
            raise UserError(
                _(
                    "%(order)s is a %(tier)s: it is approved through the change "
                    "order it is grouped into.",
                    order=self.display_name,
                    tier=dict(TIER_LEVELS)[self.tier_level],
                )
            )

    def _check_submittable(self):
        for order in self:
            if not order._all_lines():
                raise UserError(
                    _(
                        "%(order)s has no lines: price it before submitting it.",
                        order=order.display_name,
                    )
                )
        self._check_commitment_not_negative()

    def _check_amounts_editable(self):
        """Lines and grouped changes can't move once an approver has signed off."""
        for order in self | self.parent_id | self.parent_id.parent_id:
            if order.stage_kind in LOCKED_KINDS:
                raise UserError(
                    _(
                        "%(order)s is %(status)s: it cannot be edited. Make a new "
                        "change order instead.",
                        order=order.display_name,
                        status=order.status_id.name,
                    )
                )
            if order.stage_kind == "pending" and order._current_approvals().filtered(
                lambda a: a.state == "approved"
            ):
                raise UserError(
                    _(
                        "%(order)s already has approvals: set it back to draft to "
                        "revise its amounts (approval starts again).",
                        order=order.display_name,
                    )
                )

    def _on_status_changed(self, old_kinds):
        """Cascade the new status to grouped changes and start or stop approvals."""
        for order in self:
            old_kind, new_kind = old_kinds[order], order.stage_kind
            if old_kind == "draft" and new_kind == "pending":
                order._start_approval_round()
            elif old_kind == "pending" and new_kind in ("draft", "void", "no_charge"):
                order._cancel_open_approvals()
            if order.child_ids:
                order.child_ids.with_context(
                    construction_change_order_cascade=True
                ).write({"status_id": order.status_id.id})
        self._all_lines()._sync_budget_lines()

    def _take_package_status(self):
        self.ensure_one()
        self.with_context(construction_change_order_cascade=True).write(
            {"status_id": self.parent_id.status_id.id}
        )

    def action_submit(self):
        """Send for approval (first pending status)."""
        pending = self.env["construction.change.order.status"]._get_default("pending")
        for order in self:
            if order.stage_kind != "draft":
                raise UserError(
                    _("%(order)s is not a draft.", order=order.display_name)
                )
        self.write({"status_id": pending.id})
        return True

    def action_draft(self):
        draft = self.env["construction.change.order.status"]._get_default("draft")
        self.filtered(lambda co: co.stage_kind in ("pending", "rejected")).write(
            {"status_id": draft.id}
        )
        return True

    def action_approve(self, comment=False):
        """Approve the current level; the last level approves the change order.

        Everything the approval changes (budget columns, contract, commitments,
        outbound events) happens in this transaction.
        """
        for order in self:
            approval = order._check_can_decide()
            # sudo: approvals are an audit trail users can't write directly; the
            # approver's right on this level was checked just above.
            approval.sudo().write(
                {
                    "state": "approved",
                    "decided_by_id": self.env.user.id,
                    "decision_date": fields.Datetime.now(),
                    "comment": comment or False,
                }
            )
            order._message_log(
                body=_(
                    "Approved level %(level)s (%(name)s).%(comment)s",
                    level=approval.sequence_rank,
                    name=approval.name,
                    comment=(" " + comment) if comment else "",
                ),
            )
            following = order._current_approvals().filtered(
                lambda a: a.state == "waiting"
            )[:1]
            if following:
                # sudo: see above; activates the next level of the same round.
                following.sudo().state = "pending"
                following._notify_approvers()
            else:
                order._do_approve()
        return True

    def _do_approve(self, status=None):
        """Move to the approved status and apply the effects of approval."""
        self.ensure_one()
        self._check_commitment_not_negative()
        approved = status or self.env["construction.change.order.status"]._get_default(
            "approved"
        )
        self.with_context(**{DECISION_CONTEXT: True}).write(
            {
                "status_id": approved.id,
                "approved_date": fields.Datetime.now(),
                "approved_by_id": self.env.user.id,
            }
        )
        self._apply_approval_effects()

    def action_reject(self, reason):
        if not (reason or "").strip():
            raise UserError(_("Give the reason for rejecting the change order."))
        rejected = self.env["construction.change.order.status"]._get_default("rejected")
        for order in self:
            approval = order._check_can_decide()
            # sudo: audit trail written after the approver check above.
            approval.sudo().write(
                {
                    "state": "rejected",
                    "decided_by_id": self.env.user.id,
                    "decision_date": fields.Datetime.now(),
                    "comment": reason,
                }
            )
            order._cancel_open_approvals()
            order.with_context(**{DECISION_CONTEXT: True}).write(
                {"status_id": rejected.id, "rejection_reason": reason}
            )
            order._message_log(
                body=_("Rejected: %(reason)s", reason=reason),
            )
        return True

    def action_no_charge(self):
        """The change goes ahead at no charge: decided by a construction manager."""
        self._check_manager(_("mark change orders as no charge"))
        no_charge = self.env["construction.change.order.status"]._get_default(
            "no_charge"
        )
        for order in self:
            if order.stage_kind != "pending":
                raise UserError(
                    _("%(order)s is not pending.", order=order.display_name)
                )
            if order._is_requester(self.env.user):
                raise UserError(
                    _(
                        "You requested %(order)s: someone else must decide it.",
                        order=order.display_name,
                    )
                )
        self.with_context(**{DECISION_CONTEXT: True}).write({"status_id": no_charge.id})
        self._apply_approval_effects()
        return True

    def action_void(self, reason=False):
        """Void; after approval this reverses every effect of the approval."""
        if self.filtered(lambda co: co.stage_kind in ("approved", "no_charge")):
            self._check_manager(_("void approved change orders"))
        return self._void(reason)

    def _void(self, reason=False, status=None):
        void = status or self.env["construction.change.order.status"]._get_default(
            "void"
        )
        decided = self.filtered(lambda co: co.stage_kind in ("approved", "no_charge"))
        if decided:
            if not (reason or "").strip():
                raise UserError(
                    _("Give the reason for voiding an approved change order.")
                )
        for order in self:
            if order.parent_id:
                raise UserError(
                    _(
                        "%(order)s is grouped into %(package)s: void the package or "
                        "take it out.",
                        order=order.display_name,
                        package=order.parent_id.display_name,
                    )
                )
        todo = self.filtered(lambda co: co.stage_kind != "void")
        todo.with_context(**{DECISION_CONTEXT: True}).write(
            {
                "status_id": void.id,
                "void_reason": reason or False,
                "voided_date": fields.Datetime.now(),
            }
        )
        for order in todo:
            order._message_log(
                body=_("Voided: %(reason)s", reason=reason or _("no reason given")),
            )
        (decided & todo)._revert_approval_effects()
        return True

    def action_open_decision_wizard(self):
        self.ensure_one()
        decision = self.env.context.get("decision", "approve")
        return {
            "type": "ir.actions.act_window",
            "name": _("Approve") if decision == "approve" else _("Reject"),
            "res_model": "construction.change.order.decision",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_change_order_id": self.id,
                "default_decision": decision,
            },
        }

    def action_open_void_wizard(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Void"),
            "res_model": "construction.change.order.decision",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_change_order_id": self.id,
                "default_decision": "void",
            },
        }

    # ---- approvals ----

    def _current_approvals(self):
        self.ensure_one()
        return self.approval_ids.filtered(lambda a: a.round == self.approval_round)

    def _is_requester(self, user):
        self.ensure_one()
        return user in (self.create_uid | self.requested_by_id)

    def _check_can_decide(self):
        """The pending approval level the current user may decide, or an error."""
        self.ensure_one()
        user = self.env.user
        if self.stage_kind != "pending":
            raise UserError(
                _(
                    "%(order)s is not pending approval (status %(status)s).",
                    order=self.display_name,
                    status=self.status_id.name,
                )
            )
        if self.tier_level != "co":
            raise UserError(
                _(
                    "%(order)s is approved through the change order it is grouped "
                    "into.",
                    order=self.display_name,
                )
            )
        approval = self._current_approvals().filtered(lambda a: a.state == "pending")[
            :1
        ]
        if not approval:
            raise UserError(
                _("%(order)s has no approval waiting.", order=self.display_name)
            )
        if self._is_requester(user):
            raise AccessError(
                _(
                    "You created or requested %(order)s: you cannot approve or "
                    "reject it yourself.",
                    order=self.display_name,
                )
            )
        if not approval._is_approver(user):
            raise AccessError(
                _(
                    "You are not an approver of level %(level)s of %(order)s "
                    "(approvers: %(approvers)s).",
                    level=approval.name,
                    order=self.display_name,
                    approvers=approval.approver_names,
                )
            )
        earlier = self._current_approvals().filtered(
            lambda a: a.state == "approved" and a.decided_by_id == user
        )
        if earlier:
            raise AccessError(
                _(
                    "You already approved level %(level)s of %(order)s: another "
                    "person must approve the next level.",
                    level=earlier[0].name,
                    order=self.display_name,
                )
            )
        return approval

    def _start_approval_round(self):
        """Create the approval levels that the rules require for this amount."""
        self.ensure_one()
        if self.tier_level != "co":
            return
        # sudo: approval levels are created by the workflow, not by the requester.
        Approval = self.env["construction.change.order.approval"].sudo()
        self.approval_round += 1
        vals_list = self.env["construction.change.order.approval.rule"]._approval_vals(
            self
        )
        for rank, vals in enumerate(vals_list, start=1):
            vals.update(
                change_order_id=self.id,
                round=self.approval_round,
                sequence_rank=rank,
                state="pending" if rank == 1 else "waiting",
            )
        approvals = Approval.create(vals_list)
        approvals.filtered(lambda a: a.state == "pending")._notify_approvers()

    def _cancel_open_approvals(self):
        self.ensure_one()
        # sudo: workflow bookkeeping on the audit trail.
        self._current_approvals().filtered(
            lambda a: a.state in ("pending", "waiting")
        ).sudo().write({"state": "cancelled"})

    def _check_manager(self, what):
        check_manager(
            self.env, _("Only a Construction Manager can %(what)s.", what=what)
        )

    # ---- lines and budget ----

    def _all_lines(self):
        """Lines of these change orders and of the changes grouped into them."""
        orders = self
        children = self.child_ids
        while children:
            orders |= children
            children = children.child_ids
        return orders.line_ids

    # ---- extension points ----

    def _apply_approval_effects(self):
        """Effects of approval, called in the approval's transaction.

        The budget columns are computed from the lines and need nothing here.
        Billing adds the change to the contract sum and schedule of values,
        procurement raises material requests and changes the committed amount of
        the commitment. Call super() and raise to refuse (everything rolls back).
        """
        for order in self:
            order._message_log(
                body=_(
                    "Approved: %(total)s added to the %(side)s contract; cost "
                    "%(cost)s.",
                    total=order.currency_id.format(order.amount_total),
                    side=dict(SIDES)[order.side],
                    cost=order.currency_id.format(order.amount_cost),
                ),
            )
        # change_order.status is sent by the automation rule "Send change order
        # status changes" (data/construction_outbound_data.xml), not from here.

    def _revert_approval_effects(self):
        """Undo ``_apply_approval_effects`` (void after approval), same transaction."""
        for order in self:
            order._message_log(
                body=_(
                    "Void after approval: %(total)s taken back out of the %(side)s "
                    "contract.",
                    total=order.currency_id.format(order.amount_total),
                    side=dict(SIDES)[order.side],
                ),
            )

    def _get_commitment_amount(self):
        """Current value of the commitment this change order changes.

        ``None`` when unknown (base: no commitments). Procurement returns the
        commitment's total excluding this change order, so that
        ``_check_commitment_not_negative`` can refuse taking it below zero.
        """
        self.ensure_one()
        return None

    def _check_commitment_not_negative(self):
        for order in self.filtered(
            lambda co: co.side == "commitment" and not co.is_backcharge
        ):
            before = order._get_commitment_amount()
            if before is None:
                continue
            after = before + order.amount_total
            if order.currency_id.compare_amounts(after, 0.0) < 0:
                raise UserError(
                    _(
                        "%(order)s would take the commitment below zero "
                        "(%(before)s %(change)s = %(after)s). Flag it as a "
                        "backcharge if the vendor owes you.",
                        order=order.display_name,
                        before=order.currency_id.format(before),
                        change=order.currency_id.format(order.amount_total),
                        after=order.currency_id.format(after),
                    )
                )

    def _prepare_event_payload(self):
        """Outbound payload of a change order (change_order.upsert/status)."""
        self.ensure_one()
        return {
            "number": self.name,
            "title": self.title,
            "project": self.project_id.display_name,
            "side": self.side,
            "tier_level": self.tier_level,
            "status": self.status_id.code,
            "budget_effect": self.budget_effect,
            "amount_cost": self.amount_cost,
            "amount_price": self.amount_price,
            "schedule_impact_days": self.schedule_impact_days,
            "lines": [
                {
                    "cost_code": line.cost_code_id.code,
                    "cost_type": line.cost_type_id.code or line.cost_type_id.name,
                    "description": line.name,
                    "quantity": line.quantity,
                    "unit_cost": line.unit_cost,
                    "cost_amount": line.cost_amount,
                    "markup_percent": line.markup_percent,
                    "price_amount": line.price_amount,
                }
                for line in self.line_ids
            ],
        }

    def _publish_event(self, event_type):
        """Outbound hook: hand the event to the integration framework if present."""
        if "construction.event" not in self.env:
            return
        Event = self.env["construction.event"]
        if not hasattr(Event, "_publish"):
            return
        for order in self:
            Event._publish(False, event_type, order, order._prepare_event_payload())

    # ---- impact preview ----

    def _get_impact_preview(self):
        """What approving this change order does, before approval.

        Returns a dict other addons extend (call super, add keys and rows):

        - ``budget_lines``: per cost code and cost type, revised and projected
          budget before and after approval;
        - ``budget_totals``: the same for the project;
        - ``approved_changes_before/after``: approved owner change orders (price);
        - ``contract_sum_before/after`` (billing), ``committed_before/after``
          (procurement): ``None`` until an addon fills them;
        - ``summary_rows``: ``[{"label", "before", "after"}]`` shown in the form;
        - ``warnings``: list of messages.
        """
        self.ensure_one()
        currency = self.currency_id
        lines = self._all_lines()
        prime = self.side == "prime"
        budget = self.env["construction.budget"].search(
            [("project_id", "=", self.project_id.id)], limit=1
        )
        budget_lines = self.env["construction.budget.line"]
        if budget and lines:
            budget_lines = budget_lines.search(
                [
                    ("budget_id", "=", budget.id),
                    ("cost_code_id", "in", lines.cost_code_id.ids),
                ]
            )
        by_key = {(bl.cost_code_id, bl.cost_type_id): bl for bl in budget_lines}
        rows = {}
        for line in lines:
            key = (line.cost_code_id, line.cost_type_id)
            row = rows.setdefault(
                key,
                {"cost": 0.0, "counted_pending": 0.0, "counted_approved": 0.0},
            )
            row["cost"] += line.cost_amount
            if prime and line.budget_effect == "pending":
                row["counted_pending"] += line.cost_amount
            elif prime and line.budget_effect == "approved":
                row["counted_approved"] += line.cost_amount
        budget_rows = []
        warnings = []
        for (cost_code, cost_type), row in sorted(
            rows.items(), key=lambda item: (item[0][0].code or "", item[0][1].id)
        ):
            budget_line = by_key.get((cost_code, cost_type))
            revised = budget_line.revised_amount if budget_line else 0.0
            projected = budget_line.projected_amount if budget_line else 0.0
            if prime:
                revised_after = revised - row["counted_approved"] + row["cost"]
                projected_after = (
                    projected
                    - row["counted_pending"]
                    - row["counted_approved"]
                    + row["cost"]
                )
            else:
                revised_after, projected_after = revised, projected
            budget_rows.append(
                {
                    "cost_code": cost_code,
                    "cost_type": cost_type,
                    "label": " / ".join(
                        n for n in (cost_code.display_name, cost_type.name) if n
                    ),
                    "budget_line": budget_line,
                    "new_line": not budget_line,
                    "change": currency.round(row["cost"]),
                    "revised_before": currency.round(revised),
                    "revised_after": currency.round(revised_after),
                    "projected_before": currency.round(projected),
                    "projected_after": currency.round(projected_after),
                }
            )
            if currency.compare_amounts(revised_after, 0.0) < 0:
                warnings.append(
                    _(
                        "The revised budget of %(line)s would become negative "
                        "(%(amount)s).",
                        line=budget_rows[-1]["label"],
                        amount=currency.format(revised_after),
                    )
                )
        totals = {
            column: currency.round(sum(r[column] for r in budget_rows))
            for column in (
                "revised_before",
                "revised_after",
                "projected_before",
                "projected_after",
            )
        }
        if budget:
            totals["project_revised_before"] = budget.revised_amount
            totals["project_revised_after"] = currency.round(
                budget.revised_amount
                + totals["revised_after"]
                - totals["revised_before"]
            )
            totals["project_projected_before"] = budget.projected_amount
            totals["project_projected_after"] = currency.round(
                budget.projected_amount
                + totals["projected_after"]
                - totals["projected_before"]
            )
        else:
            warnings.append(
                _(
                    "Project %(project)s has no job-cost budget: the change will not "
                    "show in any budget.",
                    project=self.project_id.display_name,
                )
            )
        approved_before = sum(
            self.search(
                [
                    ("project_id", "=", self.project_id.id),
                    ("side", "=", "prime"),
                    ("parent_id", "=", False),
                    ("stage_kind", "=", "approved"),
                ]
            ).mapped("amount_price")
        )
        approved_after = approved_before
        if prime and self.stage_kind != "approved" and not self.parent_id:
            approved_after += self.amount_price
        summary_rows = []
        if budget:
            summary_rows += [
                {
                    "label": _("Project revised budget"),
                    "before": totals["project_revised_before"],
                    "after": totals["project_revised_after"],
                },
                {
                    "label": _("Project projected budget"),
                    "before": totals["project_projected_before"],
                    "after": totals["project_projected_after"],
                },
            ]
        summary_rows.append(
            {
                "label": _("Approved owner change orders (price)"),
                "before": currency.round(approved_before),
                "after": currency.round(approved_after),
            }
        )
        warnings += self._impact_recovery_warnings()
        return {
            "currency": currency,
            "side": self.side,
            "budget_lines": budget_rows,
            "budget_totals": totals,
            "approved_changes_before": currency.round(approved_before),
            "approved_changes_after": currency.round(approved_after),
            "contract_sum_before": None,
            "contract_sum_after": None,
            "committed_before": None,
            "committed_after": None,
            "summary_rows": summary_rows,
            "warnings": warnings,
        }

    def _impact_recovery_warnings(self):
        self.ensure_one()
        currency = self.currency_id
        warnings = []
        live = self.commitment_change_order_ids.filtered(
            lambda co: co.stage_kind not in ("rejected", "void")
        )
        if self.side == "prime":
            if not live and currency.compare_amounts(self.amount_cost, 0.0) > 0:
                warnings.append(
                    _(
                        "No commitment change order carries the cost of this change "
                        "(%(cost)s): subcontract or purchase cost must still be "
                        "committed.",
                        cost=currency.format(self.amount_cost),
                    )
                )
            if live and currency.compare_amounts(self.amount_recovery_margin, 0.0) < 0:
                warnings.append(
                    _(
                        "The linked commitment change orders cost %(cost)s, more "
                        "than the owner pays (%(price)s): unrecovered cost "
                        "%(loss)s.",
                        cost=currency.format(self.amount_commitment_cost),
                        price=currency.format(self.amount_price),
                        loss=currency.format(-self.amount_recovery_margin),
                    )
                )
            if currency.compare_amounts(self.amount_price, self.amount_cost) < 0:
                warnings.append(
                    _(
                        "The price (%(price)s) is below the cost (%(cost)s).",
                        price=currency.format(self.amount_price),
                        cost=currency.format(self.amount_cost),
                    )
                )
        elif (
            not self.prime_change_order_id
            and not self.is_backcharge
            and currency.compare_amounts(self.amount_total, 0.0) > 0
        ):
            warnings.append(
                _(
                    "No owner change order recovers this cost (%(cost)s): it is "
                    "unrecovered unless you link one.",
                    cost=currency.format(self.amount_total),
                )
            )
        return warnings

    def _render_impact_preview(self, preview):
        return self.env["ir.qweb"]._render(
            "construction_change_order.change_order_impact_preview",
            {"preview": preview, "order": self},
        )

    def _get_form_action(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
        }


class ConstructionChangeOrderLine(models.Model):
    _name = "construction.change.order.line"
    _description = "Change Order Line"
    _order = "change_order_id, sequence, id"
    _check_company_auto = True

    change_order_id = fields.Many2one(
        comodel_name="construction.change.order",
        required=True,
        index=True,
        ondelete="cascade",
    )
    sequence = fields.Integer(default=10)
    project_id = fields.Many2one(
        related="change_order_id.project_id", store=True, index=True
    )
    company_id = fields.Many2one(
        related="change_order_id.company_id", store=True, index=True
    )
    currency_id = fields.Many2one(related="change_order_id.currency_id")
    side = fields.Selection(related="change_order_id.side", store=True)
    status_id = fields.Many2one(related="change_order_id.status_id", store=True)
    budget_effect = fields.Selection(
        related="change_order_id.budget_effect", store=True
    )
    cost_code_id = fields.Many2one(
        comodel_name="account.analytic.account",
        index=True,
        check_company=True,
        ondelete="restrict",
        domain="[('construction_role', '=', 'cost_code')]",
    )
    cost_type_id = fields.Many2one(
        comodel_name="account.analytic.account",
        index=True,
        check_company=True,
        ondelete="restrict",
        domain="[('construction_role', '=', 'cost_type')]",
    )
    name = fields.Char(string="Description", required=True)
    description = fields.Char(
        related="name",
        readonly=False,
        string="Line Description",
        help="Alias of the description (name).",
    )
    quantity = fields.Float(default=1.0, digits="Product Unit of Measure")
    uom_id = fields.Many2one("uom.uom", string="Unit")
    unit_cost = fields.Monetary()
    cost_amount = fields.Monetary(
        string="Cost", compute="_compute_cost_amount", store=True, precompute=True
    )
    markup_percent = fields.Float(string="Markup (%)", digits=(16, 4))
    price_amount = fields.Monetary(
        string="Price",
        compute="_compute_price_amount",
        store=True,
        readonly=False,
        precompute=True,
        help="Cost plus markup; can be overwritten with a lump-sum price.",
    )
    budget_line_id = fields.Many2one(
        comodel_name="construction.budget.line",
        index="btree_not_null",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="The project budget line (project, cost code, cost type) this line "
        "changes.",
    )

    @api.depends("quantity", "unit_cost", "currency_id")
    def _compute_cost_amount(self):
        for line in self:
            currency = line.currency_id or self.env.company.currency_id
            line.cost_amount = currency.round(line.quantity * line.unit_cost)

    @api.depends("cost_amount", "markup_percent", "currency_id")
    def _compute_price_amount(self):
        for line in self:
            currency = line.currency_id or self.env.company.currency_id
            line.price_amount = currency.round(
                line.cost_amount * (1.0 + (line.markup_percent or 0.0) / 100.0)
            )

    @api.constrains("cost_code_id", "cost_type_id")
    def _check_dimensions(self):
        for line in self:
            if not line.cost_code_id:
                raise ValidationError(
                    _(
                        "Line %(line)s of %(order)s needs a cost code.",
                        line=line.name,
                        order=line.change_order_id.display_name,
                    )
                )
            if line.cost_code_id.construction_role != "cost_code":
                raise ValidationError(
                    _("%(account)s is not a cost code.", account=line.cost_code_id.name)
                )
            if line.cost_type_id and line.cost_type_id.construction_role != "cost_type":
                raise ValidationError(
                    _("%(account)s is not a cost type.", account=line.cost_type_id.name)
                )

    @api.model_create_multi
    def create(self, vals_list):
        orders = self.env["construction.change.order"].browse(
            {vals.get("change_order_id") for vals in vals_list if vals}
        )
        if not self.env.context.get("construction_change_order_internal"):
            orders._check_amounts_editable()
        lines = super().create(vals_list)
        lines._sync_budget_lines()
        return lines

    def write(self, vals):
        if not self.env.context.get("construction_change_order_internal"):
            self.change_order_id._check_amounts_editable()
            if "change_order_id" in vals:
                self.browse()._check_line_move(vals["change_order_id"])
        result = super().write(vals)
        if {"cost_code_id", "cost_type_id", "change_order_id"} & set(vals):
            self._sync_budget_lines()
        return result

    def _check_line_move(self, change_order_id):
        self.env["construction.change.order"].browse(
            change_order_id
        )._check_amounts_editable()

    @api.ondelete(at_uninstall=False)
    def _unlink_except_locked(self):
        self.change_order_id._check_amounts_editable()

    def _budget_key(self):
        self.ensure_one()
        return (
            self.change_order_id.project_id.id,
            self.cost_code_id.id,
            self.cost_type_id.id or False,
        )

    def _sync_budget_lines(self):
        """Link each line to its budget line (project, cost code, cost type).

        A prime line that counts in the budget (pending or approved) and has no
        budget line yet gets a zero-original "Unbudgeted change" line, so the
        budget's change columns always reconcile with the change orders.
        """
        lines = self.filtered("cost_code_id")
        if not lines:
            return
        projects = lines.change_order_id.project_id
        # sudo: budget lines are looked up and, when missing, created with a zero
        # original amount for the caller's own change order; nothing is revealed.
        BudgetLine = self.env["construction.budget.line"].sudo()
        budgets = (
            self.env["construction.budget"]
            .sudo()
            .search([("project_id", "in", projects.ids)])
        )
        budget_by_project = {b.project_id.id: b for b in budgets}
        existing = BudgetLine.search(
            [
                ("budget_id", "in", budgets.ids),
                ("cost_code_id", "in", lines.cost_code_id.ids),
            ]
        )
        by_key = {
            (bl.project_id.id, bl.cost_code_id.id, bl.cost_type_id.id or False): bl
            for bl in existing
        }
        missing = {
            line._budget_key()
            for line in lines
            if line.side == "prime"
            and line.budget_effect in ("pending", "approved")
            and line._budget_key() not in by_key
            and line._budget_key()[0] in budget_by_project
        }
        if missing:
            created = BudgetLine.with_context(
                construction_change_order_internal=True
            ).create(
                [
                    {
                        "budget_id": budget_by_project[project].id,
                        "cost_code_id": cost_code,
                        "cost_type_id": cost_type,
                        "name": self.env._("Unbudgeted change"),
                    }
                    for project, cost_code, cost_type in sorted(
                        missing, key=lambda k: (k[0], k[1], k[2] or 0)
                    )
                ]
            )
            for bl in created:
                by_key[
                    (bl.project_id.id, bl.cost_code_id.id, bl.cost_type_id.id or False)
                ] = bl
        targets = {}
        for line in lines:
            target = by_key.get(line._budget_key(), BudgetLine)
            if line.budget_line_id != target:
                targets.setdefault(target, self.browse())
                targets[target] |= line
        for target, to_link in targets.items():
            to_link.with_context(construction_change_order_internal=True).write(
                {"budget_line_id": target.id}
            )
