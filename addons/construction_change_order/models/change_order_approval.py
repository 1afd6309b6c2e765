from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

AMOUNT_BASES = [
    ("total", "Contract change (price for owner, cost for vendor)"),
    ("cost", "Cost"),
]


class ConstructionChangeOrderApprovalRule(models.Model):
    """Who approves a change order, by project, side and amount.

    Every rule whose amount band contains the change order's absolute amount is
    a level to approve, in sequence. Rules of a project replace the company-wide
    rules for that project. Without any matching rule, a Construction Manager
    approves.
    """

    _name = "construction.change.order.approval.rule"
    _description = "Change Order Approval Rule"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(
        default=10, help="Approval levels are asked in this order."
    )
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        comodel_name="res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    project_id = fields.Many2one(
        comodel_name="project.project",
        index="btree_not_null",
        check_company=True,
        help="Empty: every project without rules of its own.",
    )
    side = fields.Selection(
        selection=[
            ("prime", "Owner change orders"),
            ("commitment", "Commitment change orders"),
        ],
        help="Empty: both sides.",
    )
    amount_basis = fields.Selection(
        selection=AMOUNT_BASES, required=True, default="total"
    )
    amount_above = fields.Monetary(
        string="Above",
        help="The rule applies when the absolute amount is above this (0: any amount).",
    )
    amount_up_to = fields.Monetary(
        string="Up To", help="...and up to this amount included (0: no limit)."
    )
    group_id = fields.Many2one(
        comodel_name="res.groups",
        string="Approver Group",
        help="Any member of this group can approve this level.",
    )
    user_ids = fields.Many2many(
        comodel_name="res.users",
        string="Approvers",
        help="These users can approve this level.",
    )

    @api.constrains("amount_above", "amount_up_to", "group_id", "user_ids")
    def _check_rule(self):
        for rule in self:
            if rule.amount_above < 0 or rule.amount_up_to < 0:
                raise ValidationError(
                    _(
                        "Rule %(rule)s: thresholds are absolute amounts, use positive "
                        "figures (deductive change orders are compared by their "
                        "absolute value).",
                        rule=rule.name,
                    )
                )
            if rule.amount_up_to and (
                rule.currency_id.compare_amounts(rule.amount_up_to, rule.amount_above)
                <= 0
            ):
                raise ValidationError(
                    _(
                        "Rule %(rule)s: the upper threshold must be above the lower "
                        "one.",
                        rule=rule.name,
                    )
                )
            if not rule.group_id and not rule.user_ids:
                raise ValidationError(
                    _(
                        "Rule %(rule)s needs an approver group or approvers.",
                        rule=rule.name,
                    )
                )

    def _matches(self, order):
        self.ensure_one()
        if self.side and self.side != order.side:
            return False
        currency = order.currency_id
        amount = abs(
            order.amount_cost if self.amount_basis == "cost" else order.amount_total
        )
        if (
            self.amount_above
            and currency.compare_amounts(amount, self.amount_above) <= 0
        ):
            return False
        if (
            self.amount_up_to
            and currency.compare_amounts(amount, self.amount_up_to) > 0
        ):
            return False
        return True

    @api.model
    def _rules_for(self, order):
        # sudo: rules are configuration a requester may not read; only the levels
        # they produce are shown on the change order.
        Rule = self.sudo()
        rules = Rule.search(
            [
                ("company_id", "=", order.company_id.id),
                ("project_id", "=", order.project_id.id),
            ]
        )
        if not rules:
            rules = Rule.search(
                [
                    ("company_id", "=", order.company_id.id),
                    ("project_id", "=", False),
                ]
            )
        return rules.filtered(lambda rule: rule._matches(order))

    @api.model
    def _approval_vals(self, order):
        """Values of the approval levels the change order needs, in order."""
        rules = self._rules_for(order)
        if not rules:
            manager = self.env.ref(
                "construction_connector_base.group_construction_manager"
            )
            return [
                {
                    "name": _("Construction Manager"),
                    "group_id": manager.id,
                }
            ]
        return [
            {
                "name": rule.name,
                "rule_id": rule.id,
                "group_id": rule.group_id.id,
                "user_ids": [fields.Command.set(rule.user_ids.ids)],
            }
            for rule in rules
        ]


class ConstructionChangeOrderApproval(models.Model):
    """One approval level of a change order: who decided, when, with what comment."""

    _name = "construction.change.order.approval"
    _description = "Change Order Approval"
    _order = "change_order_id, round desc, sequence_rank, id"
    _check_company_auto = True

    change_order_id = fields.Many2one(
        comodel_name="construction.change.order",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="change_order_id.company_id", store=True, index=True
    )
    round = fields.Integer(
        required=True, default=1, help="Submission the level belongs to."
    )
    sequence_rank = fields.Integer(string="Level", required=True, default=1)
    name = fields.Char(required=True)
    rule_id = fields.Many2one(
        "construction.change.order.approval.rule", ondelete="set null"
    )
    group_id = fields.Many2one("res.groups", string="Approver Group")
    user_ids = fields.Many2many("res.users", string="Approvers")
    approver_names = fields.Char(compute="_compute_approver_names")
    state = fields.Selection(
        selection=[
            ("waiting", "Waiting"),
            ("pending", "To Approve"),
            ("approved", "Approved"),
            ("rejected", "Rejected"),
            ("cancelled", "Cancelled"),
        ],
        required=True,
        default="waiting",
        index=True,
    )
    decided_by_id = fields.Many2one("res.users", string="Decided By")
    decision_date = fields.Datetime()
    comment = fields.Text()

    @api.depends("group_id", "user_ids")
    def _compute_approver_names(self):
        for approval in self:
            names = approval.user_ids.mapped("name")
            if approval.group_id:
                names.append(approval.group_id.full_name)
            approval.approver_names = ", ".join(names)

    def _is_approver(self, user):
        self.ensure_one()
        if user in self.user_ids:
            return True
        # Implied groups are stored on the user in 18.0: a manager is also a user.
        return bool(self.group_id) and self.group_id in user.groups_id

    def _notify_approvers(self):
        """Schedule a to-do for the named approvers of the levels now pending."""
        for approval in self:
            order = approval.change_order_id
            requesters = order.create_uid | order.requested_by_id
            for user in approval.user_ids - requesters:
                # sudo: a to-do for the named approver is workflow bookkeeping;
                # technical integration users submitting through the API have no
                # right on activities. It reveals nothing to the caller.
                order.sudo().activity_schedule(
                    "mail.mail_activity_data_todo",
                    user_id=user.id,
                    summary=_(
                        "Approve %(order)s (%(level)s)",
                        order=order.display_name,
                        level=approval.name,
                    ),
                )
