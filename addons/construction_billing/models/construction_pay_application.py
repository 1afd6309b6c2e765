from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_amount

from odoo.addons.construction_connector_base.tools.security import check_manager

from .tools import allocate, format_percent

#: Fields of a pay application that may still change once it is certified
#: (they follow the invoice and the print layout, not the certified figures).
POST_CERTIFICATION_FIELDS = {
    "invoice_id",
    "lettering",
    "message_main_attachment_id",
}


class ConstructionPayApplication(models.Model):
    """Application and certificate for payment (AIA G702) with its continuation
    sheet (G703 lines)."""

    _name = "construction.pay.application"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Pay Application"
    _order = "contract_id, number desc"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    contract_id = fields.Many2one(
        "construction.contract",
        required=True,
        index=True,
        check_company=True,
        ondelete="restrict",
        domain="[('state', '=', 'active'), ('billing_method', '=', 'progress')]",
    )
    project_id = fields.Many2one(related="contract_id.project_id", store=True)
    partner_id = fields.Many2one(related="contract_id.partner_id", store=True)
    company_id = fields.Many2one(related="contract_id.company_id", store=True)
    currency_id = fields.Many2one(related="contract_id.currency_id")
    number = fields.Integer(string="Application No.", readonly=True, copy=False)
    period_to = fields.Date(
        string="Period To", required=True, default=fields.Date.context_today
    )
    date = fields.Date(
        string="Application Date", required=True, default=fields.Date.context_today
    )
    accounting_date = fields.Date(
        copy=False,
        tracking=True,
        help="Date the invoice is recorded in the ledger (its posting period), "
        "when it differs from the application date; set by the accounting approver "
        "who accepts a staged progress claim. Empty: the application date.",
    )
    previous_id = fields.Many2one(
        "construction.pay.application",
        string="Previous Application",
        readonly=True,
        copy=False,
    )
    approval_state = fields.Selection(
        [("draft", "Draft"), ("submitted", "Submitted"), ("certified", "Certified")],
        default="draft",
        required=True,
        copy=False,
        tracking=True,
    )
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("submitted", "Submitted"),
            ("certified", "Certified"),
            ("invoiced", "Invoiced"),
            ("paid", "Paid"),
        ],
        compute="_compute_state",
        store=True,
        tracking=True,
        index=True,
    )
    revision_reason = fields.Text(copy=False, tracking=True)
    line_ids = fields.One2many(
        "construction.pay.application.line", "application_id", string="G703 Lines"
    )
    invoice_id = fields.Many2one(
        "account.move", readonly=True, copy=False, ondelete="set null"
    )
    invoice_state = fields.Selection(related="invoice_id.state")
    payment_state = fields.Selection(related="invoice_id.payment_state")
    lettering = fields.Selection(
        [("official", "Official AIA (A-I)"), ("aj", "A-J variant")],
        default="official",
        required=True,
        help="Column letters on the printed G703: the official form letters the"
        " percentage, balance and retainage -, H and I; some owners require them"
        " lettered H, I and J.",
    )
    retainage_note = fields.Text(
        readonly=True, help="How the contract's retainage rules applied."
    )
    # Snapshots taken while draft (frozen once certified)
    original_contract_sum = fields.Monetary(string="1. Original Contract Sum")
    co_additions_previous = fields.Monetary(
        string="Additions Approved in Previous Months"
    )
    co_deductions_previous = fields.Monetary(
        string="Deductions Approved in Previous Months"
    )
    co_additions_this = fields.Monetary(string="Additions Approved This Month")
    co_deductions_this = fields.Monetary(string="Deductions Approved This Month")
    previous_certificates = fields.Monetary(
        string="7. Less Previous Certificates for Payment"
    )
    # G702 summary
    net_change_orders = fields.Monetary(
        string="2. Net Change by Change Orders", compute="_compute_g702", store=True
    )
    contract_sum_to_date = fields.Monetary(
        string="3. Contract Sum to Date", compute="_compute_g702", store=True
    )
    total_completed_stored = fields.Monetary(
        string="4. Total Completed and Stored to Date",
        compute="_compute_g702",
        store=True,
    )
    completed_work_to_date = fields.Monetary(compute="_compute_g702", store=True)
    stored_to_date = fields.Monetary(compute="_compute_g702", store=True)
    retainage_work = fields.Monetary(
        string="5a. Retainage on Completed Work", compute="_compute_g702", store=True
    )
    retainage_stored = fields.Monetary(
        string="5b. Retainage on Stored Material", compute="_compute_g702", store=True
    )
    retainage_total = fields.Monetary(
        string="5. Total Retainage", compute="_compute_g702", store=True
    )
    retainage_work_percent = fields.Float(
        compute="_compute_g702_display", digits=(5, 2)
    )
    retainage_stored_percent = fields.Float(
        compute="_compute_g702_display", digits=(5, 2)
    )
    earned_less_retainage = fields.Monetary(
        string="6. Total Earned Less Retainage", compute="_compute_g702", store=True
    )
    current_payment_due = fields.Monetary(
        string="8. Current Payment Due", compute="_compute_g702", store=True
    )
    balance_to_finish = fields.Monetary(
        string="9. Balance to Finish, Including Retainage",
        compute="_compute_g702",
        store=True,
    )
    retainage_this_period = fields.Monetary(compute="_compute_g702", store=True)
    billed_this_period = fields.Monetary(
        string="Completed and Stored This Period",
        compute="_compute_g702",
        store=True,
    )
    co_total_additions = fields.Monetary(compute="_compute_g702_display")
    co_total_deductions = fields.Monetary(compute="_compute_g702_display")

    _sql_constraints = [
        (
            "number_unique",
            "unique(contract_id, number)",
            "Application numbers are unique per contract.",
        ),
    ]

    @api.depends("contract_id.name", "number")
    def _compute_name(self):
        for app in self:
            app.name = _(
                "%(contract)s - Application %(number)s",
                contract=app.contract_id.name,
                number=app.number,
            )

    @api.depends("approval_state", "invoice_id.state", "invoice_id.payment_state")
    def _compute_state(self):
        for app in self:
            state = app.approval_state
            if state == "certified" and app.invoice_id.state == "posted":
                state = (
                    "paid"
                    if app.invoice_id.payment_state in ("paid", "in_payment")
                    else "invoiced"
                )
            app.state = state

    @api.depends(
        "original_contract_sum",
        "co_additions_previous",
        "co_deductions_previous",
        "co_additions_this",
        "co_deductions_this",
        "previous_certificates",
        "line_ids.total_completed_stored",
        "line_ids.work_to_date",
        "line_ids.stored_to_date",
        "line_ids.retainage_work_to_date",
        "line_ids.retainage_stored",
        "line_ids.previous_work",
        "line_ids.previous_stored",
        "line_ids.previous_retainage",
    )
    def _compute_g702(self):
        for app in self:
            lines = app.line_ids
            app.net_change_orders = (
                app.co_additions_previous
                + app.co_additions_this
                - app.co_deductions_previous
                - app.co_deductions_this
            )
            app.contract_sum_to_date = app.original_contract_sum + app.net_change_orders
            app.completed_work_to_date = sum(lines.mapped("work_to_date"))
            app.stored_to_date = sum(lines.mapped("stored_to_date"))
            app.total_completed_stored = sum(lines.mapped("total_completed_stored"))
            app.retainage_work = sum(lines.mapped("retainage_work_to_date"))
            app.retainage_stored = sum(lines.mapped("retainage_stored"))
            app.retainage_total = app.retainage_work + app.retainage_stored
            app.earned_less_retainage = app.total_completed_stored - app.retainage_total
            app.current_payment_due = (
                app.earned_less_retainage - app.previous_certificates
            )
            app.balance_to_finish = app.contract_sum_to_date - app.earned_less_retainage
            previous_billed = sum(lines.mapped("previous_work")) + sum(
                lines.mapped("previous_stored")
            )
            app.billed_this_period = app.total_completed_stored - previous_billed
            app.retainage_this_period = app.retainage_total - sum(
                lines.mapped("previous_retainage")
            )

    @api.depends(
        "co_additions_previous",
        "co_additions_this",
        "co_deductions_previous",
        "co_deductions_this",
        "retainage_work",
        "retainage_stored",
        "completed_work_to_date",
        "stored_to_date",
    )
    def _compute_g702_display(self):
        for app in self:
            app.co_total_additions = app.co_additions_previous + app.co_additions_this
            app.co_total_deductions = (
                app.co_deductions_previous + app.co_deductions_this
            )
            app.retainage_work_percent = (
                app.completed_work_to_date
                and app.retainage_work / app.completed_work_to_date * 100
            )
            app.retainage_stored_percent = (
                app.stored_to_date and app.retainage_stored / app.stored_to_date * 100
            )

    # ------------------------------------------------------------------
    # CRUD and freezing
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        Contract = self.env["construction.contract"]
        for vals in vals_list:
            contract = Contract.browse(vals.get("contract_id"))
            if not contract or contract.state != "active":
                raise UserError(
                    _("Pay applications are made on an active contract only.")
                )
            if contract.billing_method != "progress":
                raise UserError(
                    _(
                        "Contract %(contract)s is billed by milestones, not by pay"
                        " applications.",
                        contract=contract.name,
                    )
                )
            apps = contract.pay_application_ids.sorted("number")
            open_apps = apps.filtered(lambda a: a.approval_state != "certified")
            if open_apps:
                raise UserError(
                    _(
                        "Certify or delete %(app)s before starting the next"
                        " application.",
                        app=open_apps[0].name,
                    )
                )
            previous = apps[-1:]
            vals["number"] = (previous.number or 0) + 1
            vals["previous_id"] = previous.id
            vals.pop("approval_state", None)
        apps = super().create(vals_list)
        apps._check_period()
        apps._refresh_from_contract()
        return apps

    def write(self, vals):
        frozen = set(vals) - POST_CERTIFICATION_FIELDS
        if frozen and not self.env.context.get("construction_billing_transition"):
            for app in self:
                if app.approval_state == "certified":
                    raise UserError(
                        _(
                            "%(app)s is certified and frozen: correct it with an"
                            " adjusting next application.",
                            app=app.name,
                        )
                    )
                if app.approval_state == "submitted" and frozen - {"revision_reason"}:
                    raise UserError(
                        _(
                            "%(app)s is submitted: send it back for revision before"
                            " changing it.",
                            app=app.name,
                        )
                    )
        if "line_ids" in vals and not self.env.context.get(
            "construction_billing_defer_retainage"
        ):
            # the lines of the form: one retainage recompute for all of them
            res = self.with_context(construction_billing_defer_retainage=True).write(
                vals
            )
            self._compute_retainage()
            return res
        res = super().write(vals)
        if {"period_to", "contract_id"} & set(vals):
            self._check_period()
            self._refresh_from_contract()
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_if_last_draft(self):
        for app in self:
            if app.approval_state != "draft":
                raise UserError(
                    _(
                        "Only draft pay applications can be deleted (%(app)s).",
                        app=app.name,
                    )
                )

    def _check_period(self):
        for app in self:
            previous = app.previous_id
            if previous and app.period_to <= previous.period_to:
                raise ValidationError(
                    _(
                        "The period of %(app)s must end after %(date)s, the end of"
                        " the previous application's period.",
                        app=app.name,
                        date=previous.period_to,
                    )
                )

    # ------------------------------------------------------------------
    # Snapshot of the contract and the previous application
    # ------------------------------------------------------------------
    def _refresh_from_contract(self):
        """Bring a draft application in line with its contract: change-order
        summary, scheduled values (column C), previous figures (D, previous F,
        previous retainage) and the retainage engine."""
        Line = self.env["construction.pay.application.line"]
        for app in self.filtered(lambda a: a.approval_state == "draft"):
            contract = app.contract_id
            previous = app.previous_id
            # Changes already in a certified application are "previous"; the
            # others approved by the end of this period are "this month" (even
            # when approved within an earlier period but recorded after it
            # was certified: history is never rewritten).
            prior = contract.change_ids.filtered("application_id")
            this = contract.change_ids.filtered(
                lambda c, a=app: not c.application_id and c.date <= a.period_to
            )
            changes = prior | this
            prev_lines = {line.sov_line_id: line for line in previous.line_ids}
            existing = {line.sov_line_id: line for line in app.line_ids}
            new_lines = []
            for sov_line in contract.sov_line_ids:
                line_changes = changes.filtered(
                    lambda c, s=sov_line: c.sov_line_id == s
                )
                scheduled = sov_line.original_value + sum(line_changes.mapped("amount"))
                prev = prev_lines.get(sov_line)
                if not prev and sov_line.origin == "change_order" and not line_changes:
                    continue  # added by a change order approved after this period
                snapshot = {
                    "scheduled_value": scheduled,
                    "previous_scheduled_value": prev.scheduled_value
                    if prev
                    else scheduled,
                    "previous_work": prev.work_to_date if prev else 0.0,
                    "previous_stored": prev.stored_to_date if prev else 0.0,
                    "previous_retainage_work": prev.retainage_work_to_date
                    if prev
                    else 0.0,
                    "previous_retainage": prev.retainage_to_date if prev else 0.0,
                }
                line = existing.get(sov_line)
                if line:
                    changed = {k: v for k, v in snapshot.items() if line[k] != v}
                    if changed:
                        line.with_context(construction_billing_engine=True).write(
                            changed
                        )
                else:
                    new_lines.append(
                        {
                            "application_id": app.id,
                            "sov_line_id": sov_line.id,
                            # stored materials carry over until restated
                            "stored_to_date": prev.stored_to_date if prev else 0.0,
                            **snapshot,
                        }
                    )
            if new_lines:
                Line.with_context(construction_billing_engine=True).create(new_lines)
            vals = {
                "original_contract_sum": contract.original_contract_sum,
                "co_additions_previous": sum(
                    a for a in prior.mapped("amount") if a > 0
                ),
                "co_deductions_previous": -sum(
                    a for a in prior.mapped("amount") if a < 0
                ),
                "co_additions_this": sum(a for a in this.mapped("amount") if a > 0),
                "co_deductions_this": -sum(a for a in this.mapped("amount") if a < 0),
                "previous_certificates": previous.earned_less_retainage,
            }
            vals = {k: v for k, v in vals.items() if app[k] != v}
            if vals:
                super(
                    ConstructionPayApplication,
                    app.with_context(construction_billing_transition=True),
                ).write(vals)
        self._compute_retainage()

    # ------------------------------------------------------------------
    # Retainage engine
    # ------------------------------------------------------------------
    def _compute_retainage(self):
        """Apply the contract's retainage rules to each line of draft
        applications and record how every amount was computed.

        - work retainage accumulates period by period: this period's work (E)
          times the rate that applies (the line's own rate, or the contract rate,
          reduced for the part of the period's work beyond the reduction
          threshold of contract completion); work retainage is never recomputed
          on earlier periods, so crossing the threshold does not release what
          was withheld before (release it with a release invoice);
        - stored-material retainage is restated with column F: F times the
          stored-material rate (or the line's own rate);
        - negative work (allowed only after a deductive change order) gives back
          the retainage withheld on it, pro rata of the work retainage held;
        - the cap limits total retainage (5a + 5b) to the cap percent of the
          contract sum (to date or original): this period's new work retainage
          is reduced first, then stored-material retainage; retainage withheld
          in earlier periods is never recaptured.
        """
        for app in self.filtered(lambda a: a.approval_state == "draft"):
            app._compute_retainage_one()

    def _fmt(self, amount):
        return format_amount(self.env, amount, self.currency_id)

    def _compute_retainage_one(self):
        self.ensure_one()
        lines = self.line_ids.sorted(lambda line: (line.sov_line_id.sequence, line.id))
        notes = []
        full_fraction = self._retainage_full_fraction(lines, notes)
        values = {
            line: self._retainage_line_values(line, full_fraction) for line in lines
        }
        self._retainage_apply_cap(lines, values, notes)
        engine = self.env["construction.pay.application.line"].with_context(
            construction_billing_engine=True
        )
        for line, v in values.items():
            vals = {
                "retainage_work_this_period": v["new_work"],
                "retainage_stored": v["stored"],
                "retainage_explanation": "\n".join(v["explain"]),
            }
            vals = {k: val for k, val in vals.items() if line[k] != val}
            if vals:
                engine.browse(line.id).write(vals)
        note = "\n".join(notes) or False
        if self.retainage_note != note:
            self._transition({"retainage_note": note})

    def _retainage_contract_sum(self):
        return self.original_contract_sum + (
            self.co_additions_previous
            + self.co_additions_this
            - self.co_deductions_previous
            - self.co_deductions_this
        )

    def _retainage_full_fraction(self, lines, notes):
        """Share of this period's positive work (on lines following the
        contract rules) still withheld at the full rate: the part that brings
        the contract's work completed up to the reduction threshold."""
        contract = self.contract_id
        currency = self.currency_id
        period_work = sum(
            line.work_this_period
            for line in lines
            if not line.sov_line_id.retainage_override and line.work_this_period > 0
        )
        if not contract.retainage_reduction or period_work <= 0:
            return 1.0
        contract_sum = self._retainage_contract_sum()
        threshold = currency.round(
            contract_sum * contract.retainage_reduction_threshold / 100
        )
        prev_work = sum(lines.mapped("previous_work"))
        full_part = min(period_work, max(0.0, threshold - prev_work))
        if currency.compare_amounts(full_part, period_work) < 0:
            notes.append(
                _(
                    "Reduction: the threshold of %(pct)s complete is %(threshold)s"
                    " of %(sum)s; %(full)s of this period's work is withheld at"
                    " %(rate)s and %(rest)s at the reduced %(reduced)s.",
                    pct=format_percent(contract.retainage_reduction_threshold),
                    threshold=self._fmt(threshold),
                    sum=self._fmt(contract_sum),
                    full=self._fmt(full_part),
                    rate=format_percent(contract.retainage_rate_work),
                    rest=self._fmt(period_work - full_part),
                    reduced=format_percent(contract.retainage_reduced_rate),
                )
            )
        return full_part / period_work

    def _retainage_line_values(self, line, full_fraction):
        """Uncapped work retainage of the period and stored-material retainage
        to date of one line, with their explanation."""
        contract = self.contract_id
        currency = self.currency_id
        fmt = self._fmt
        sov = line.sov_line_id
        e_amt = line.work_this_period
        explain = []
        if sov.retainage_override:
            work_rate = stored_rate = sov.retainage_rate
        else:
            work_rate = contract.retainage_rate_work
            stored_rate = contract.retainage_rate_stored
        if e_amt < 0:
            # Give back the retainage withheld on the work taken off, pro rata.
            held = line.previous_retainage_work
            give_back = (
                min(held, held * -e_amt / line.previous_work)
                if line.previous_work
                else 0.0
            )
            new_work = -currency.round(give_back)
            explain.append(
                _(
                    "Work %(amount)s (deductive): gives back %(ret)s of the"
                    " %(held)s withheld, pro rata.",
                    amount=fmt(e_amt),
                    ret=fmt(-new_work),
                    held=fmt(held),
                )
            )
        elif (
            sov.retainage_override
            or not contract.retainage_reduction
            or full_fraction == 1.0
        ):
            new_work = currency.round(e_amt * work_rate / 100)
            if e_amt:
                explain.append(
                    _(
                        "Work %(amount)s x %(rate)s%(own)s = %(ret)s.",
                        amount=fmt(e_amt),
                        rate=format_percent(work_rate),
                        own=_(" (line rate)") if sov.retainage_override else "",
                        ret=fmt(new_work),
                    )
                )
        else:
            full = currency.round(e_amt * full_fraction)
            reduced = e_amt - full
            new_work = currency.round(
                full * work_rate / 100 + reduced * contract.retainage_reduced_rate / 100
            )
            explain.append(
                _(
                    "Work %(full)s x %(rate)s + %(reduced)s x %(rrate)s"
                    " (reduced) = %(ret)s.",
                    full=fmt(full),
                    rate=format_percent(work_rate),
                    reduced=fmt(reduced),
                    rrate=format_percent(contract.retainage_reduced_rate),
                    ret=fmt(new_work),
                )
            )
        stored_ret = currency.round(line.stored_to_date * stored_rate / 100)
        if line.stored_to_date:
            explain.append(
                _(
                    "Stored materials %(amount)s x %(rate)s = %(ret)s.",
                    amount=fmt(line.stored_to_date),
                    rate=format_percent(stored_rate),
                    ret=fmt(stored_ret),
                )
            )
        return {"new_work": new_work, "stored": stored_ret, "explain": explain}

    def _retainage_apply_cap(self, lines, values, notes):
        """Limit total retainage (5a + 5b) to the cap: cut this period's new
        work retainage first, then stored-material retainage, pro rata."""
        contract = self.contract_id
        currency = self.currency_id
        if not contract.retainage_cap:
            return
        base = (
            self._retainage_contract_sum()
            if contract.retainage_cap_include_change_orders
            else self.original_contract_sum
        )
        cap = currency.round(base * contract.retainage_cap_percent / 100)
        held_before = sum(lines.mapped("previous_retainage_work"))
        total = held_before + sum(v["new_work"] + v["stored"] for v in values.values())
        excess = currency.round(total - cap)
        if currency.compare_amounts(excess, 0) <= 0:
            return
        labels = {
            "new_work": _("work retainage"),
            "stored": _("stored-material retainage"),
        }
        for key, label in labels.items():
            positives = [(line, v[key]) for line, v in values.items() if v[key] > 0]
            cut = min(excess, sum(amount for __, amount in positives))
            if currency.compare_amounts(cut, 0) <= 0:
                continue
            shares = allocate(currency, cut, [amount for __, amount in positives])
            for (line, __), share in zip(positives, shares, strict=True):
                if share:
                    values[line][key] = currency.round(values[line][key] - share)
                    values[line]["explain"].append(
                        _(
                            "Cap: %(what)s reduced by %(cut)s.",
                            what=label,
                            cut=self._fmt(share),
                        )
                    )
            excess = currency.round(excess - cut)
        notes.append(
            _(
                "Cap: retainage limited to %(pct)s of %(base)s = %(cap)s.",
                pct=format_percent(contract.retainage_cap_percent),
                base=self._fmt(base),
                cap=self._fmt(cap),
            )
        )
        if currency.compare_amounts(excess, 0) > 0:
            notes.append(
                _(
                    "Retainage withheld before exceeds the cap by %(excess)s;"
                    " it is not recaptured automatically: release it.",
                    excess=self._fmt(excess),
                )
            )

    # ------------------------------------------------------------------
    # Invariants
    # ------------------------------------------------------------------
    def _check_invariants(self):
        for app in self:
            currency = app.currency_id
            cmp = currency.compare_amounts
            if not app.line_ids:
                raise ValidationError(_("%(app)s has no lines.", app=app.name))
            app.line_ids._check_progress()
            sov_total = sum(app.line_ids.mapped("scheduled_value"))
            if cmp(sov_total, app.contract_sum_to_date) != 0:
                raise ValidationError(
                    _(
                        "The scheduled values of %(app)s total %(sov)s but the"
                        " contract sum to date (line 3) is %(sum)s.",
                        app=app.name,
                        sov=format_amount(self.env, sov_total, currency),
                        sum=format_amount(self.env, app.contract_sum_to_date, currency),
                    )
                )
            previous = app.previous_id
            if cmp(app.previous_certificates, previous.earned_less_retainage) != 0:
                raise ValidationError(
                    _(
                        "Line 7 of %(app)s must equal line 6 of the previous"
                        " application.",
                        app=app.name,
                    )
                )
            prev_lines = {line.sov_line_id: line for line in previous.line_ids}
            for line in app.line_ids:
                prev = prev_lines.get(line.sov_line_id)
                if cmp(line.previous_work, prev.work_to_date if prev else 0.0) != 0:
                    raise ValidationError(
                        _(
                            "Item %(item)s: column D must equal D + E of the previous"
                            " application.",
                            item=line.item_no,
                        )
                    )
            if app.previous_id and app.previous_id.approval_state != "certified":
                raise ValidationError(
                    _("The previous application must be certified first.")
                )

    # ------------------------------------------------------------------
    # Workflow
    # ------------------------------------------------------------------
    def _transition(self, vals):
        return self.with_context(construction_billing_transition=True).write(vals)

    def action_refresh(self):
        self._refresh_from_contract()

    def action_submit(self):
        for app in self:
            if app.approval_state != "draft":
                raise UserError(_("Only draft applications can be submitted."))
        self._refresh_from_contract()
        self._check_invariants()
        self._transition({"approval_state": "submitted", "revision_reason": False})

    def action_revise(self, reason=None):
        """Revise and resubmit: the owner or architect sends it back to draft."""
        for app in self:
            if app.approval_state != "submitted":
                raise UserError(
                    _("Only submitted applications can be sent back for revision.")
                )
        self._transition({"approval_state": "draft", "revision_reason": reason})
        self._refresh_from_contract()

    def action_certify(self):
        self.env["construction.contract"].check_access("write")
        for app in self:
            if app.approval_state != "submitted":
                raise UserError(
                    _(
                        "Only submitted applications can be certified (%(app)s).",
                        app=app.name,
                    )
                )
        self._check_invariants()
        self._transition({"approval_state": "certified"})
        for app in self:
            app.contract_id.change_ids.filtered(
                lambda c, a=app: not c.application_id and c.date <= a.period_to
            ).with_context(construction_billing_transition=True).write(
                {"application_id": app.id}
            )
        self._create_invoice()

    def action_create_invoice(self):
        self._create_invoice()
        return self.action_view_invoice()

    def _reopen(self, reason):
        """Back to draft, to correct it, the contract's latest certified
        application while its invoice is unpaid: the posted invoice is reversed
        by a credit note dated today (a draft one is cancelled), the change
        orders it took are released, the reason is kept. Re-certifying invoices
        it again. Earlier periods are corrected by the next application."""
        check_manager(self.env, _("Only Construction Managers reopen applications."))
        self.env["construction.contract"].check_access("write")
        if not (reason or "").strip():
            raise UserError(_("Say why the application is reopened."))
        for app in self:
            app._check_reopenable()
            invoice = app.invoice_id
            reversal = self.env["account.move"]
            if invoice.state == "posted":
                today = fields.Date.context_today(app)
                reversal = invoice._reverse_moves(
                    [
                        {
                            "date": today,
                            "invoice_date": today,
                            "ref": _(
                                "Reversal of %(invoice)s: %(app)s reopened",
                                invoice=invoice.name,
                                app=app.name,
                            ),
                        }
                    ],
                    cancel=True,
                )
            elif invoice.state == "draft":
                invoice.button_cancel()
            app.contract_id.change_ids.filtered(
                lambda c, a=app: c.application_id == a
            ).with_context(construction_billing_transition=True).write(
                {"application_id": False}
            )
            app._transition(
                {
                    "approval_state": "draft",
                    "invoice_id": False,
                    "revision_reason": reason,
                }
            )
            app._refresh_from_contract()
            app._construction_publish_reopened(reason, invoice, reversal)
            app.message_post(
                body=_(
                    "Reopened for correction: %(reason)s. "
                    "Invoice %(invoice)s %(what)s.",
                    reason=reason,
                    invoice=invoice.display_name or _("none"),
                    what=_("reversed by %s", reversal.display_name)
                    if reversal
                    else _("cancelled"),
                )
            )
        return True

    def _check_reopenable(self):
        self.ensure_one()
        if self.approval_state != "certified":
            raise UserError(
                _(
                    "Only certified applications can be reopened (%(app)s).",
                    app=self.name,
                )
            )
        later = self.contract_id.pay_application_ids.filtered(
            lambda a: a.number > self.number
        )
        if later:
            raise UserError(
                _(
                    "Only the latest application can be reopened: %(later)s follows "
                    "%(app)s. Correct it in the next application.",
                    later=", ".join(later.mapped("name")),
                    app=self.name,
                )
            )
        invoice = self.invoice_id
        if invoice.state == "posted" and invoice.payment_state != "not_paid":
            raise UserError(
                _(
                    "%(invoice)s already has payments (%(state)s): unreconcile them "
                    "before reopening %(app)s.",
                    invoice=invoice.name,
                    state=invoice.payment_state,
                    app=self.name,
                )
            )
        # Once reopened, each line holds what the earlier applications withheld:
        # releases must not have paid out more than that.
        withheld_before = {
            line.sov_line_id: line.retainage_to_date
            for line in self.previous_id.line_ids
        }
        over_released = self.contract_id.sov_line_ids.filtered(
            lambda s: (
                self.currency_id.compare_amounts(
                    s.retainage_released, withheld_before.get(s, 0.0)
                )
                > 0
            )
        )
        if over_released:
            raise UserError(
                _(
                    "Retainage released on %(items)s exceeds what the applications "
                    "before %(app)s withheld: reverse the release first.",
                    items=", ".join(over_released.mapped("display_name")),
                    app=self.name,
                )
            )

    def action_view_invoice(self):
        self.ensure_one()
        if not self.invoice_id:
            return False
        return self.invoice_id.get_formview_action()

    def action_print(self):
        return self.env.ref(
            "construction_billing.action_report_pay_application"
        ).report_action(self)

    # ------------------------------------------------------------------
    # Accounting
    # ------------------------------------------------------------------
    # Accounting approval: staged documents of this model post to sales journals.
    _construction_accounting_journal_type = "sale"

    def _construction_set_accounting_date(self, date):
        """Accounting approval of a staged progress claim: its posting date."""
        self.filtered(lambda app: not app.invoice_id).accounting_date = date

    def _prepare_invoice(self):
        self.ensure_one()
        contract = self.contract_id
        vals = {
            "move_type": "out_invoice",
            "partner_id": contract.partner_id.id,
            "journal_id": contract.journal_id.id,
            "company_id": contract.company_id.id,
            "currency_id": self.currency_id.id,
            "invoice_date": self.date,
            **contract._invoice_terms(self.date),
            "invoice_origin": contract.name,
            "ref": _(
                "Application %(number)s, period to %(date)s",
                number=self.number,
                date=self.period_to,
            ),
            "construction_contract_id": contract.id,
            "construction_pay_application_id": self.id,
            "invoice_line_ids": [],
        }
        if self.accounting_date:
            vals["date"] = self.accounting_date
        return vals

    def _prepare_retainage_move_line(self):
        self.ensure_one()
        return {
            "name": _("Retainage withheld, application %(number)s", number=self.number),
            "account_id": self.contract_id._get_retention_account().id,
            "quantity": 1.0,
            "price_unit": -self.retainage_this_period,
            "tax_ids": [fields.Command.clear()],
        }

    def _create_invoice(self):
        """Create the customer invoice for the current payment due (G702 line 8):
        the work and stored materials of the period on the revenue account, and
        the retainage withheld on the Retention Receivable account."""
        moves = self.env["account.move"]
        for app in self:
            if app.approval_state != "certified":
                raise UserError(_("Certify %(app)s before invoicing it.", app=app.name))
            if app.invoice_id and app.invoice_id.state != "cancel":
                raise UserError(
                    _(
                        "%(app)s is already invoiced (%(invoice)s).",
                        app=app.name,
                        invoice=app.invoice_id.display_name,
                    )
                )
            vals = app._prepare_invoice()
            lines = [
                fields.Command.create(line._prepare_account_move_line())
                for line in app.line_ids.sorted(
                    lambda line: (line.sov_line_id.sequence, line.id)
                )
                if not line.currency_id.is_zero(line.billed_this_period)
            ]
            if not app.currency_id.is_zero(app.retainage_this_period):
                lines.append(fields.Command.create(app._prepare_retainage_move_line()))
            if not lines:
                continue  # nothing billed this period: nothing to invoice
            vals["invoice_line_ids"] = lines
            move = (
                self.env["account.move"]
                .with_company(app.company_id)
                .with_context(default_move_type="out_invoice")
                .create(vals)
            )
            if app.currency_id.compare_amounts(move.amount_total, 0) < 0:
                move.action_switch_move_type()
            app._transition({"invoice_id": move.id})
            moves |= move
        return moves

    def _report_column_letters(self):
        """Letters of the %, balance-to-finish and retainage columns of the
        G703: unlettered/H/I on the official form, H/I/J in the variant."""
        self.ensure_one()
        if self.lettering == "aj":
            return ("H", "I", "J")
        return ("", "H", "I")
