from collections import defaultdict

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools.misc import format_date

from .construction_compliance import compliance_today

PAY_APP_STATES = [
    ("draft", "Draft"),
    ("under_review", "Under Review"),
    ("revise_and_resubmit", "Revise and Resubmit"),
    ("approved", "Approved"),
    ("approved_as_noted", "Approved as Noted"),
    ("paid", "Paid"),
]
APPROVED_STATES = ("approved", "approved_as_noted", "paid")
APPROVER_GROUP = "construction_procurement_sync.group_subcontract_pay_app_approver"


class ConstructionSubcontractPayApplication(models.Model):
    _name = "construction.subcontract.pay.application"
    _description = "Subcontractor Pay Application"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "order_id, period_end, id"
    _check_company_auto = True

    name = fields.Char(
        string="Number", required=True, copy=False, readonly=True, default="/"
    )
    order_id = fields.Many2one(
        comodel_name="purchase.order",
        string="Subcontract",
        required=True,
        index=True,
        check_company=True,
        tracking=True,
        domain="[('construction_is_subcontract', '=', True),"
        " ('state', 'in', ('purchase', 'done'))]",
    )
    partner_id = fields.Many2one(related="order_id.partner_id", store=True)
    project_id = fields.Many2one(related="order_id.project_id", store=True)
    company_id = fields.Many2one(
        related="order_id.company_id", store=True, index=True, precompute=True
    )
    currency_id = fields.Many2one(related="order_id.currency_id", store=True)
    application_type = fields.Selection(
        selection=[
            ("full", "Work, Materials and Retainage"),
            ("work_materials", "Work and Materials"),
            ("retainage", "Retainage Release Only"),
        ],
        required=True,
        default="work_materials",
        tracking=True,
    )
    period_start = fields.Date(required=True, tracking=True)
    period_end = fields.Date(required=True, tracking=True)
    application_number = fields.Integer(
        string="Application No.",
        readonly=True,
        copy=False,
        help="Sequential number of the application on its subcontract.",
    )
    state = fields.Selection(
        selection=PAY_APP_STATES,
        default="draft",
        required=True,
        copy=False,
        tracking=True,
        index=True,
        compute="_compute_state",
        store=True,
        readonly=False,
    )
    approved_state = fields.Selection(
        selection=[
            ("approved", "Approved"),
            ("approved_as_noted", "Approved as Noted"),
        ],
        readonly=True,
        copy=False,
        help="Approval state restored when the payment of the bill is undone.",
    )
    line_ids = fields.One2many(
        comodel_name="construction.subcontract.pay.application.line",
        inverse_name="application_id",
        string="Schedule of Values",
        copy=False,
    )
    retainage_release_amount = fields.Monetary(
        string="Retainage Released This Period",
        tracking=True,
        compute="_compute_retainage_release_amount",
        store=True,
        readonly=False,
        help="Total retainage released by this application. Entered on the "
        "lines, it is their total.",
    )
    retainage_release_by_line = fields.Boolean(
        compute="_compute_retainage_release_amount",
        store=True,
        help="The release total is the sum of releases entered on the lines.",
    )
    review_note = fields.Text(tracking=True)
    lien_waiver_ids = fields.One2many(
        comodel_name="construction.lien.waiver",
        inverse_name="application_id",
        string="Lien Waivers",
    )
    bill_id = fields.Many2one(
        comodel_name="account.move", string="Vendor Bill", readonly=True, copy=False
    )
    accounting_date = fields.Date(
        copy=False,
        tracking=True,
        help="Date the vendor bill is recorded in the ledger (its posting period), "
        "when it differs from the period end; set by the accounting approver who "
        "accepts a staged requisition. Empty: the period end.",
    )
    amount_scheduled = fields.Monetary(compute="_compute_totals", store=True)
    amount_this_period = fields.Monetary(
        string="Billed This Period", compute="_compute_totals", store=True
    )
    amount_completed_stored = fields.Monetary(
        string="Completed and Stored to Date", compute="_compute_totals", store=True
    )
    retainage_to_date = fields.Monetary(compute="_compute_totals", store=True)
    retainage_this_period = fields.Monetary(
        string="Retainage Withheld This Period", compute="_compute_totals", store=True
    )
    amount_due = fields.Monetary(
        string="Current Payment Due", compute="_compute_totals", store=True
    )

    _sql_constraints = [
        (
            "release_positive",
            "CHECK(retainage_release_amount >= 0)",
            "The retainage released cannot be negative.",
        ),
    ]

    @api.depends("bill_id.payment_state", "bill_id.state")
    def _compute_state(self):
        """Paid when its vendor bill is paid; back to its approval state when
        the payment is cancelled or unreconciled."""
        for app in self:
            state = app.state or "draft"
            bill = app.bill_id
            paid = bill.state == "posted" and bill.payment_state in (
                "paid",
                "in_payment",
            )
            if state in ("approved", "approved_as_noted") and paid:
                state = "paid"
            elif state == "paid" and not paid:
                state = app.approved_state or "approved"
            app.state = state

    @api.depends("line_ids.retainage_release")
    def _compute_retainage_release_amount(self):
        """Released on the lines: their total. Entered as a total (no line
        release): kept, unless it was the lines' total and they were cleared."""
        for app in self:
            currency = app.currency_id
            released = app.line_ids.mapped("retainage_release")
            by_line = any(not currency.is_zero(amount) for amount in released)
            if by_line:
                app.retainage_release_amount = currency.round(sum(released))
            elif app.retainage_release_by_line:
                app.retainage_release_amount = 0.0
            else:
                app.retainage_release_amount = app.retainage_release_amount or 0.0
            app.retainage_release_by_line = by_line

    @api.depends(
        "line_ids.scheduled_value",
        "line_ids.amount_this_period",
        "line_ids.total_completed_stored",
        "line_ids.retainage_to_date",
        "line_ids.retainage_this_period",
        "retainage_release_amount",
    )
    def _compute_totals(self):
        for app in self:
            lines = app.line_ids
            app.amount_scheduled = sum(lines.mapped("scheduled_value"))
            app.amount_this_period = sum(lines.mapped("amount_this_period"))
            app.amount_completed_stored = sum(lines.mapped("total_completed_stored"))
            app.retainage_to_date = sum(lines.mapped("retainage_to_date"))
            app.retainage_this_period = sum(lines.mapped("retainage_this_period"))
            app.amount_due = (
                app.amount_this_period
                - app.retainage_this_period
                + app.retainage_release_amount
            )

    @api.constrains("period_start", "period_end", "order_id")
    def _check_period(self):
        for app in self:
            if app.period_end < app.period_start:
                raise ValidationError(_("The period ends before it starts."))
            overlap = self.search(
                [
                    ("order_id", "=", app.order_id.id),
                    ("id", "!=", app.id),
                    ("period_start", "<=", app.period_end),
                    ("period_end", ">=", app.period_start),
                ],
                limit=1,
            )
            if overlap:
                raise ValidationError(
                    _(
                        "The period of %(app)s (%(start)s to %(end)s) overlaps "
                        "%(other)s (%(ostart)s to %(oend)s) on %(order)s.",
                        app=app.name if app.name != "/" else _("the new application"),
                        start=app.period_start,
                        end=app.period_end,
                        other=overlap.name,
                        ostart=overlap.period_start,
                        oend=overlap.period_end,
                        order=app.order_id.name,
                    )
                )
            later = self.search(
                [
                    ("order_id", "=", app.order_id.id),
                    ("id", "!=", app.id),
                    ("state", "in", APPROVED_STATES),
                    ("period_start", ">", app.period_end),
                ],
                limit=1,
            )
            if later and app.state not in APPROVED_STATES:
                raise ValidationError(
                    _(
                        "%(other)s of a later period is already approved: %(app)s "
                        "cannot bill an earlier period.",
                        other=later.name,
                        app=app.name if app.name != "/" else _("the new application"),
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        apps = super().create(vals_list)
        for app in apps:
            if not app.order_id.construction_is_subcontract:
                raise ValidationError(
                    _("%(order)s is not a subcontract.", order=app.order_id.name)
                )
            if app.order_id.state not in ("purchase", "done"):
                raise ValidationError(
                    _("%(order)s is not confirmed.", order=app.order_id.name)
                )
            app.order_id._construction_check_no_manual_bills()
            # Lock the subcontract: two applications created at once get
            # distinct sequential numbers.
            self.env.cr.execute(
                "SELECT id FROM purchase_order WHERE id = %s FOR UPDATE",
                [app.order_id.id],
            )
            app.application_number = (
                max(
                    (app.order_id.construction_pay_application_ids - app).mapped(
                        "application_number"
                    )
                    or [0]
                )
                + 1
            )
            if app.name == "/":
                app.name = (
                    self.env["ir.sequence"]
                    .with_company(app.company_id)
                    .next_by_code("construction.subcontract.pay.application")
                    or "/"
                )
            if not app.line_ids:
                app._fill_lines()
        return apps

    def _previous_lines(self):
        """{subcontract line: approved lines of the other applications}, one
        search for all the lines of this application."""
        self.ensure_one()
        previous = defaultdict(
            lambda: self.env["construction.subcontract.pay.application.line"]
        )
        for line in self.env["construction.subcontract.pay.application.line"].search(
            [
                ("purchase_line_id", "in", self.line_ids.purchase_line_id.ids),
                ("application_id.state", "in", APPROVED_STATES),
                ("application_id", "!=", self.id),
            ]
        ):
            previous[line.purchase_line_id] |= line
        return previous

    def _fill_lines(self):
        self.ensure_one()
        order = self.order_id
        commands = []
        for pol in order.order_line.filtered(lambda pl: not pl.display_type):
            commands.append(
                (
                    0,
                    0,
                    {
                        "purchase_line_id": pol.id,
                        "retainage_percent": order.construction_retainage_percent,
                        "retainage_stored_percent": (
                            order.construction_retainage_stored_percent
                        ),
                    },
                )
            )
        self.line_ids = commands
        self._refresh_previous(fill=True)

    def _refresh_previous(self, fill=False):
        """The previous-application columns of every line; ``fill``: materials
        stay stored until the subcontractor reports them installed."""
        for app in self:
            previous = app._previous_lines()
            for line in app.line_ids:
                prev = previous[line.purchase_line_id]
                stored = (
                    prev.sorted(lambda pl: (pl.application_id.period_end, pl.id))[
                        -1:
                    ].stored_to_date
                    if prev
                    else 0.0
                )
                line.write(
                    {
                        "previous_work": sum(prev.mapped("work_this_period")),
                        "previous_stored": stored,
                        "previous_retainage": sum(prev.mapped("retainage_this_period")),
                        "previous_released": sum(prev.mapped("retainage_release")),
                        **({"stored_to_date": stored} if fill else {}),
                    }
                )

    @api.model
    def _demo_subcontract_pay_applications(self):
        """Demo data on the electrical subcontract of the demo medical office:
        compliance documents (the license expiring soon), two monthly pay
        applications (the first approved with its lien waiver received, the
        second under review)."""
        partner = self.env.ref(
            "construction_connector_base.partner_vendor_electrical_demo",
            raise_if_not_found=False,
        )
        project = self.env.ref(
            "construction_connector_base.project_medical_office_demo",
            raise_if_not_found=False,
        )
        if not partner or not project:
            return False
        order = self.env["purchase.order"].search(
            [
                ("construction_is_subcontract", "=", True),
                ("partner_id", "=", partner.id),
                ("project_id", "=", project.id),
                ("state", "in", ("purchase", "done")),
            ],
            order="id",
            limit=1,
        )
        if not order or order.construction_pay_application_ids:
            return False
        today = fields.Date.context_today(self)
        Doc = self.env["construction.compliance.document"].with_company(
            order.company_id
        )
        Doc.create(
            [
                {
                    "name": "COI Liberty Mutual GL-2291",
                    "partner_id": partner.id,
                    "company_id": order.company_id.id,
                    "document_type": "insurance",
                    "coverage_amount": 2000000.0,
                    "date_effective": today - relativedelta(months=6),
                    "date_expiry": today + relativedelta(months=6),
                },
                {
                    "name": "C-10 Electrical Contractor License",
                    "partner_id": partner.id,
                    "company_id": order.company_id.id,
                    "document_type": "license",
                    "date_effective": today - relativedelta(years=2),
                    "date_expiry": today + relativedelta(days=12),
                },
            ]
        )
        order.write(
            {
                "construction_retainage_stored_percent": 5.0,
                "construction_compliance_requirement_ids": [
                    (0, 0, {"document_type": "insurance", "min_coverage": 1000000.0}),
                    (0, 0, {"document_type": "license"}),
                ],
            }
        )
        first_start = today.replace(day=1) - relativedelta(months=2)
        second_start = first_start + relativedelta(months=1)
        apps = self.browse()
        for start, percent, stored in (
            (first_start, 20.0, 8000.0),
            (second_start, 15.0, 2500.0),
        ):
            app = self.create(
                {
                    "order_id": order.id,
                    "period_start": start,
                    "period_end": start + relativedelta(months=1, days=-1),
                }
            )
            for line in app.line_ids:
                line.write({"percent_this_period": percent, "stored_to_date": stored})
            app.action_submit()
            apps |= app
        first = apps[0]
        first.with_context(compliance_date=first.period_end).action_approve()
        first.bill_id.action_post()
        waiver = self.env["construction.lien.waiver"].create(
            {
                "name": f"LW-{first.name}",
                "application_id": first.id,
                "condition": "unconditional",
                "scope": "progress",
                "amount": first.amount_due,
                "through_date": first.period_end,
            }
        )
        waiver.action_receive()
        return apps

    # ---- workflow ----

    def action_submit(self):
        for app in self:
            if app.state not in ("draft", "revise_and_resubmit"):
                raise UserError(_("Only a draft application can be submitted."))
            app._refresh_previous()
            app._check_amounts()
        self.write({"state": "under_review"})

    def action_revise(self):
        self._check_approver()
        for app in self:
            if app.state != "under_review":
                raise UserError(_("Only an application under review can be returned."))
        self.write({"state": "revise_and_resubmit"})

    def action_reset_draft(self):
        for app in self:
            if app.state not in ("under_review", "revise_and_resubmit"):
                raise UserError(_("Approved applications cannot be reset."))
        self.write({"state": "draft"})

    def action_approve(self):
        return self._approve("approved")

    def _check_approver(self):
        if not self.env.su and not self.env.user.has_group(APPROVER_GROUP):
            raise AccessError(
                _(
                    "Only a subcontract pay application approver can approve or "
                    "return %(apps)s.",
                    apps=", ".join(self.mapped("name")),
                )
            )

    def action_approve_as_noted(self):
        for app in self:
            if not (app.review_note or "").strip():
                raise UserError(_("Approving as noted needs a review note."))
        return self._approve("approved_as_noted")

    def action_mark_paid(self):
        """Manual fallback; the state follows the bill's payment by itself."""
        for app in self.filtered(lambda a: a.state != "paid"):
            if app.state not in ("approved", "approved_as_noted") or (
                app.bill_id.payment_state not in ("paid", "in_payment")
            ):
                raise UserError(
                    _("%(app)s: its vendor bill is not paid.", app=app.name)
                )
        self.write({"state": "paid"})

    def _approve(self, state):
        self._check_approver()
        for app in self.sorted(lambda a: (a.period_end, a.id)):
            if app.state != "under_review":
                raise UserError(_("%(app)s is not under review.", app=app.name))
            app._check_previous_approved()
            app._refresh_previous()
            app._check_amounts()
            stage = app.company_id.construction_subcontract_check_stage
            if stage in ("approval", "both"):
                app._enforce(
                    app._compliance_problems({compliance_today(app), app.period_end}),
                    app.company_id.construction_compliance_policy,
                )
                app._enforce(
                    app._lien_waiver_problems_at_approval(),
                    app.company_id.construction_lien_waiver_policy,
                )
            app._allocate_release()
            app.bill_id = app._create_bill()
            # subcontract_invoice.approved is sent by the automation rule "Send
            # approved subcontractor pay applications" (outbound data file).
            app.write({"state": state, "approved_state": state})
        return True

    def _allocate_release(self):
        """A release entered as a total is spread over the lines in proportion
        to the retainage they hold, so that each line's held retainage stays
        right for the next applications."""
        self.ensure_one()
        currency = self.currency_id
        lines = self.line_ids
        if currency.is_zero(self.retainage_release_amount) or any(
            not currency.is_zero(amount) for amount in lines.mapped("retainage_release")
        ):
            return
        holding = lines.filtered(
            lambda line: currency.compare_amounts(line.retainage_held, 0.0) > 0
        )
        total = sum(holding.mapped("retainage_held"))
        if currency.is_zero(total):
            return
        amount = self.retainage_release_amount
        remaining = amount
        for index, line in enumerate(holding):
            if index == len(holding) - 1:
                share = remaining
            else:
                share = currency.round(amount * line.retainage_held / total)
            line.retainage_release = share
            remaining = currency.round(remaining - share)

    def _check_previous_approved(self):
        """Applications are approved in the order of their periods."""
        self.ensure_one()
        earlier = self.search(
            [
                ("order_id", "=", self.order_id.id),
                ("id", "!=", self.id),
                ("state", "not in", APPROVED_STATES),
                ("period_end", "<", self.period_start),
            ],
            order="period_end, id",
            limit=1,
        )
        if earlier:
            raise UserError(
                _(
                    "%(app)s cannot be approved before %(earlier)s of the previous "
                    "period (%(start)s to %(end)s).",
                    app=self.name,
                    earlier=earlier.name,
                    start=earlier.period_start,
                    end=earlier.period_end,
                )
            )

    def _enforce(self, problems, policy, post=True):
        """Raise the problems under a blocking policy, else note them."""
        self.ensure_one()
        if not problems or policy == "none":
            return
        message = "\n".join(problems)
        if policy == "block":
            raise UserError(message)
        if post:
            self.message_post(body=message, subtype_xmlid="mail.mt_note")

    def _compliance_problems(self, days):
        """Problems of the subcontract's requirements on each of ``days``."""
        self.ensure_one()
        reqs = self.order_id.construction_compliance_requirement_ids
        problems = []
        for day in sorted(days):
            problems += [p for p in reqs._problems(day) if p not in problems]
        if not problems:
            return []
        return [
            _(
                "%(order)s is not compliant:\n%(problems)s",
                order=self.order_id.name,
                problems="\n".join(problems),
            )
        ]

    def _waiver_problem(self, waivers, conditions):
        """Problem of ``waivers`` covering this application's payment due
        through its period end, or False."""
        self.ensure_one()
        waivers = waivers.filtered(
            lambda w: w.state == "received" and w.condition in conditions
        )
        if not waivers:
            kind = (
                _("unconditional")
                if conditions == ("unconditional",)
                else _("conditional or unconditional")
            )
            return _(
                "no received %(kind)s lien waiver for %(app)s", kind=kind, app=self.name
            )
        if all(waiver.mismatch for waiver in waivers):
            return _(
                "the lien waivers of %(app)s do not match its payment of %(amount)s "
                "through %(date)s (%(mismatches)s)",
                app=self.name,
                amount=self.currency_id.format(self.amount_due),
                date=format_date(self.env, self.period_end),
                mismatches=" ".join(waivers.mapped("mismatch")),
            )
        return False

    def _lien_waiver_problems_at_approval(self):
        """The previous approved application needs a received unconditional
        waiver for its payment due, through its period end."""
        self.ensure_one()
        previous = self.search(
            [
                ("order_id", "=", self.order_id.id),
                ("state", "in", APPROVED_STATES),
                ("id", "!=", self.id),
                ("period_end", "<", self.period_start),
            ],
            order="period_end desc, id desc",
            limit=1,
        )
        if not previous:
            return []
        problem = previous._waiver_problem(previous.lien_waiver_ids, ("unconditional",))
        if not problem:
            return []
        return [_("%(app)s: %(problem)s.", app=self.name, problem=problem)]

    def _check_payment(self, post=False):
        """Compliance and the lien waiver of this payment, when the company
        checks them at payment: raise under a blocking policy, else note the
        problems on the application (``post``)."""
        for app in self:
            company = app.company_id
            if company.construction_subcontract_check_stage not in ("payment", "both"):
                continue
            app._enforce(
                app._compliance_problems({compliance_today(app)}),
                company.construction_compliance_policy,
                post=post,
            )
            problem = app._waiver_problem(
                app.lien_waiver_ids, ("conditional", "unconditional")
            )
            app._enforce(
                [
                    _(
                        "Payment of %(bill)s: %(problem)s.",
                        bill=app.bill_id.display_name,
                        problem=problem,
                    )
                ]
                if problem
                else [],
                company.construction_lien_waiver_policy,
                post=post,
            )

    def _link_payment(self, payments):
        """Waivers of the paid applications not yet tied to a payment now are."""
        for app in self:
            payment = payments.filtered(
                lambda p, a=app: a.bill_id in p.reconciled_bill_ids
            )[:1]
            if payment:
                app.lien_waiver_ids.filtered(lambda w: not w.payment_id).write(
                    {"payment_id": payment.id}
                )

    def _check_amounts(self):
        self.ensure_one()
        currency = self.currency_id
        for line in self.line_ids:
            line._check_line()
        if self.application_type == "retainage":
            if any(
                not currency.is_zero(line.amount_this_period) for line in self.line_ids
            ):
                raise ValidationError(
                    _("A retainage release application bills no work or materials.")
                )
        elif self.application_type == "work_materials" and not currency.is_zero(
            self.retainage_release_amount
        ):
            raise ValidationError(
                _("Choose the type with retainage to release retainage.")
            )
        if self.application_type != "work_materials":
            for line in self.line_ids:
                line._check_release()
        order = self.order_id
        held = order._construction_retainage_available(currency)
        if currency.compare_amounts(self.retainage_release_amount, held) > 0:
            raise ValidationError(
                _(
                    "%(order)s holds %(held)s of retainage: %(amount)s cannot be "
                    "released.",
                    order=order.name,
                    held=currency.format(held),
                    amount=currency.format(self.retainage_release_amount),
                )
            )

    # Accounting approval: staged documents of this model post to purchase journals.
    _construction_accounting_journal_type = "purchase"

    def _construction_set_accounting_date(self, date):
        """Accounting approval of a staged requisition: its bill's posting date."""
        self.filtered(lambda app: not app.bill_id).accounting_date = date

    def _create_bill(self):
        self.ensure_one()
        order = self.order_id
        account = order.company_id._construction_retention_payable_account()
        lines = []
        for line in self.line_ids:
            if self.currency_id.is_zero(line.amount_this_period):
                continue
            pol = line.purchase_line_id
            vals = pol._prepare_account_move_line()
            vals.update(
                {
                    "name": _("%(app)s: %(line)s", app=self.name, line=pol.name),
                    "quantity": 1.0,
                    "price_unit": line.amount_this_period,
                    "tax_ids": [(5, 0, 0)],
                }
            )
            lines.append((0, 0, vals))
        if not self.currency_id.is_zero(self.retainage_this_period):
            lines.append(
                (
                    0,
                    0,
                    {
                        "name": _("Retainage withheld on %(app)s", app=self.name),
                        "account_id": account.id,
                        "quantity": 1.0,
                        "price_unit": -self.retainage_this_period,
                        "tax_ids": [(5, 0, 0)],
                        "construction_retainage_order_id": order.id,
                        "construction_retainage_kind": "withhold",
                    },
                )
            )
        if not self.currency_id.is_zero(self.retainage_release_amount):
            lines.append(
                (
                    0,
                    0,
                    {
                        "name": _("Retainage released on %(app)s", app=self.name),
                        "account_id": account.id,
                        "quantity": 1.0,
                        "price_unit": self.retainage_release_amount,
                        "tax_ids": [(5, 0, 0)],
                        "construction_retainage_order_id": order.id,
                        "construction_retainage_kind": "release",
                    },
                )
            )
        if not lines:
            raise UserError(_("%(app)s bills nothing.", app=self.name))
        vals = {
            "move_type": "in_invoice",
            "partner_id": order.partner_id.id,
            "company_id": order.company_id.id,
            "currency_id": self.currency_id.id,
            "invoice_origin": order.name,
            "ref": self.name,
            "invoice_date": self.period_end,
            **order._construction_bill_terms(self.period_end),
            "construction_sub_pay_app_id": self.id,
            "invoice_line_ids": lines,
        }
        if self.accounting_date:
            vals["date"] = self.accounting_date
        return self.env["account.move"].with_company(order.company_id).create(vals)


class ConstructionSubcontractPayApplicationLine(models.Model):
    _name = "construction.subcontract.pay.application.line"
    _description = "Subcontractor Pay Application Line (G703)"
    _order = "application_id, sequence, id"

    application_id = fields.Many2one(
        comodel_name="construction.subcontract.pay.application",
        required=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one(related="application_id.company_id", store=True)
    currency_id = fields.Many2one(related="application_id.currency_id")
    sequence = fields.Integer(related="purchase_line_id.sequence")
    purchase_line_id = fields.Many2one(
        comodel_name="purchase.order.line",
        string="Schedule of Values Line",
        required=True,
        ondelete="restrict",
    )
    name = fields.Text(related="purchase_line_id.name", string="Description")
    cost_code_id = fields.Many2one(related="purchase_line_id.construction_cost_code_id")
    scheduled_value = fields.Monetary(
        string="C. Scheduled Value", compute="_compute_columns", store=True
    )
    previous_work = fields.Monetary(
        string="D. From Previous Application", readonly=True
    )
    previous_stored = fields.Monetary(readonly=True)
    previous_retainage = fields.Monetary(readonly=True)
    previous_released = fields.Monetary(
        string="Retainage Released Before", readonly=True
    )
    retainage_held = fields.Monetary(
        string="Retainage Held",
        compute="_compute_columns",
        store=True,
        help="Retainage withheld on this line by approved applications, less "
        "what they released.",
    )
    retainage_release = fields.Monetary(
        string="Retainage Released",
        help="Retainage released on this line by this application.",
    )
    work_this_period = fields.Monetary(string="E. Work This Period")
    percent_this_period = fields.Float(
        string="Work This Period (%)",
        compute="_compute_percent_this_period",
        inverse="_inverse_percent_this_period",
        digits=(5, 2),
    )
    stored_to_date = fields.Monetary(string="F. Materials Presently Stored")
    total_completed_stored = fields.Monetary(
        string="G. Completed and Stored", compute="_compute_columns", store=True
    )
    percent_complete = fields.Float(
        string="G/C (%)", compute="_compute_columns", store=True, digits=(5, 2)
    )
    balance_to_finish = fields.Monetary(
        string="H. Balance to Finish", compute="_compute_columns", store=True
    )
    amount_this_period = fields.Monetary(
        string="Billed This Period", compute="_compute_columns", store=True
    )
    retainage_percent = fields.Float(string="Retainage on Work (%)", digits=(5, 2))
    retainage_stored_percent = fields.Float(
        string="Retainage on Stored (%)", digits=(5, 2)
    )
    retainage_to_date = fields.Monetary(
        string="I. Retainage", compute="_compute_columns", store=True
    )
    retainage_this_period = fields.Monetary(compute="_compute_columns", store=True)
    rejected = fields.Boolean()
    rejection_reason = fields.Char()

    _sql_constraints = [
        (
            "rates_range",
            "CHECK(retainage_percent >= 0 AND retainage_percent <= 100 "
            "AND retainage_stored_percent >= 0 AND retainage_stored_percent <= 100)",
            "Retainage rates must be between 0 and 100 percent.",
        ),
    ]

    @api.depends(
        "purchase_line_id.price_subtotal",
        "previous_work",
        "previous_stored",
        "previous_retainage",
        "work_this_period",
        "stored_to_date",
        "retainage_percent",
        "retainage_stored_percent",
        "rejected",
        "previous_released",
    )
    def _compute_columns(self):
        for line in self:
            currency = line.currency_id or line.env.company.currency_id
            scheduled = line.purchase_line_id.price_subtotal
            work = 0.0 if line.rejected else line.work_this_period
            stored = line.previous_stored if line.rejected else line.stored_to_date
            work_to_date = line.previous_work + work
            total = work_to_date + stored
            line.scheduled_value = scheduled
            line.total_completed_stored = total
            line.percent_complete = total / scheduled * 100.0 if scheduled else 0.0
            line.balance_to_finish = scheduled - total
            line.amount_this_period = currency.round(
                work + stored - line.previous_stored
            )
            retainage = currency.round(
                work_to_date * line.retainage_percent / 100.0
            ) + currency.round(stored * line.retainage_stored_percent / 100.0)
            line.retainage_to_date = retainage
            line.retainage_this_period = retainage - line.previous_retainage
            line.retainage_held = currency.round(
                line.previous_retainage - line.previous_released
            )

    @api.depends("work_this_period", "scheduled_value")
    def _compute_percent_this_period(self):
        for line in self:
            line.percent_this_period = (
                line.work_this_period / line.scheduled_value * 100.0
                if line.scheduled_value
                else 0.0
            )

    def _inverse_percent_this_period(self):
        for line in self:
            line.work_this_period = line.currency_id.round(
                line.purchase_line_id.price_subtotal * line.percent_this_period / 100.0
            )

    @api.constrains("rejected", "rejection_reason")
    def _check_rejection(self):
        for line in self:
            if line.rejected and not (line.rejection_reason or "").strip():
                raise ValidationError(
                    _("A rejected line needs a reason: %(line)s", line=line.name)
                )

    def _check_line(self):
        for line in self:
            currency = line.currency_id
            if (
                currency.compare_amounts(line.work_this_period, 0.0) < 0
                or currency.compare_amounts(line.stored_to_date, 0.0) < 0
            ):
                raise ValidationError(
                    _("%(line)s: amounts cannot be negative.", line=line.name)
                )
            if (
                currency.compare_amounts(
                    line.total_completed_stored, line.scheduled_value
                )
                > 0
            ):
                raise ValidationError(
                    _(
                        "%(line)s: completed and stored %(total)s is above the "
                        "scheduled value %(scheduled)s.",
                        line=line.name,
                        total=currency.format(line.total_completed_stored),
                        scheduled=currency.format(line.scheduled_value),
                    )
                )

    def _check_release(self):
        for line in self:
            currency = line.currency_id
            if currency.compare_amounts(line.retainage_release, 0.0) < 0:
                raise ValidationError(
                    _(
                        "%(line)s: released retainage cannot be negative.",
                        line=line.name,
                    )
                )
            if (
                currency.compare_amounts(line.retainage_release, line.retainage_held)
                > 0
            ):
                raise ValidationError(
                    _(
                        "%(line)s holds %(held)s of retainage: %(amount)s cannot be "
                        "released on it.",
                        line=line.name,
                        held=currency.format(line.retainage_held),
                        amount=currency.format(line.retainage_release),
                    )
                )

    def write(self, vals):
        locked = self.filtered(
            lambda line: (
                line.application_id.state
                not in ("draft", "under_review", "revise_and_resubmit")
            )
        )
        if locked:
            raise UserError(_("Lines of an approved application cannot be changed."))
        return super().write(vals)
