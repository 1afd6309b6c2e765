from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_amount


class ConstructionPayApplicationLine(models.Model):
    """One G703 continuation-sheet line: a schedule-of-values line in one
    application."""

    _name = "construction.pay.application.line"
    _description = "Pay Application Line (G703)"
    _order = "application_id, sequence, id"

    application_id = fields.Many2one(
        "construction.pay.application", required=True, ondelete="cascade", index=True
    )
    contract_id = fields.Many2one(related="application_id.contract_id", store=True)
    company_id = fields.Many2one(related="application_id.company_id", store=True)
    currency_id = fields.Many2one(related="application_id.currency_id")
    sov_line_id = fields.Many2one(
        "construction.sov.line", required=True, ondelete="restrict", index=True
    )
    sequence = fields.Integer(related="sov_line_id.sequence", store=True)
    item_no = fields.Char(related="sov_line_id.item_no", string="A. Item No.")
    name = fields.Char(related="sov_line_id.name", string="B. Description of Work")
    cost_code_id = fields.Many2one(related="sov_line_id.cost_code_id")
    # Snapshots (set by the application while draft)
    scheduled_value = fields.Monetary(string="C. Scheduled Value", readonly=True)
    previous_scheduled_value = fields.Monetary(readonly=True)
    previous_work = fields.Monetary(
        string="D. From Previous Application", readonly=True
    )
    previous_stored = fields.Monetary(string="Previously Stored", readonly=True)
    previous_retainage_work = fields.Monetary(readonly=True)
    previous_retainage = fields.Monetary(string="Previous Retainage", readonly=True)
    # Inputs
    work_this_period = fields.Monetary(
        string="E. This Period",
        help="Work completed this period, including stored materials installed"
        " this period.",
    )
    percent_this_period = fields.Float(
        string="E. This Period (%)",
        digits=(7, 4),
        compute="_compute_percent_this_period",
        inverse="_inverse_percent_this_period",
        help="Enter the period's progress as a percentage of the scheduled value"
        " instead of an amount.",
    )
    stored_to_date = fields.Monetary(
        string="F. Materials Presently Stored",
        help="Materials stored and not yet installed, restated each period"
        " (not in D or E).",
    )
    # Derived columns
    work_to_date = fields.Monetary(
        string="Completed to Date (D + E)", compute="_compute_columns", store=True
    )
    total_completed_stored = fields.Monetary(
        string="G. Completed and Stored to Date",
        compute="_compute_columns",
        store=True,
    )
    percent_complete = fields.Float(
        string="% (G / C)", compute="_compute_columns", store=True, digits=(5, 2)
    )
    balance_to_finish = fields.Monetary(
        string="H. Balance to Finish", compute="_compute_columns", store=True
    )
    billed_this_period = fields.Monetary(compute="_compute_columns", store=True)
    # Retainage (written by the application's engine while draft)
    retainage_work_this_period = fields.Monetary(readonly=True)
    retainage_work_to_date = fields.Monetary(
        compute="_compute_retainage_totals", store=True
    )
    retainage_stored = fields.Monetary(
        string="Retainage on Stored Materials", readonly=True
    )
    retainage_to_date = fields.Monetary(
        string="I. Retainage", compute="_compute_retainage_totals", store=True
    )
    retainage_this_period = fields.Monetary(
        compute="_compute_retainage_totals", store=True
    )
    retainage_explanation = fields.Text(readonly=True)

    _sql_constraints = [
        (
            "sov_line_unique",
            "unique(application_id, sov_line_id)",
            "A schedule-of-values line appears once per application.",
        ),
        (
            "stored_positive",
            "CHECK(stored_to_date >= 0)",
            "Materials presently stored cannot be negative.",
        ),
    ]

    @api.depends("work_this_period", "scheduled_value")
    def _compute_percent_this_period(self):
        for line in self:
            line.percent_this_period = (
                line.scheduled_value
                and line.work_this_period / line.scheduled_value * 100
            )

    def _inverse_percent_this_period(self):
        for line in self:
            line.work_this_period = line.currency_id.round(
                line.scheduled_value * line.percent_this_period / 100
            )

    @api.depends(
        "scheduled_value",
        "previous_work",
        "previous_stored",
        "work_this_period",
        "stored_to_date",
    )
    def _compute_columns(self):
        for line in self:
            line.work_to_date = line.previous_work + line.work_this_period
            line.total_completed_stored = line.work_to_date + line.stored_to_date
            line.percent_complete = (
                line.scheduled_value
                and line.total_completed_stored / line.scheduled_value * 100
            )
            line.balance_to_finish = line.scheduled_value - line.total_completed_stored
            line.billed_this_period = line.total_completed_stored - (
                line.previous_work + line.previous_stored
            )

    @api.depends(
        "previous_retainage_work",
        "previous_retainage",
        "retainage_work_this_period",
        "retainage_stored",
    )
    def _compute_retainage_totals(self):
        for line in self:
            line.retainage_work_to_date = (
                line.previous_retainage_work + line.retainage_work_this_period
            )
            line.retainage_to_date = line.retainage_work_to_date + line.retainage_stored
            line.retainage_this_period = (
                line.retainage_to_date - line.previous_retainage
            )

    # ------------------------------------------------------------------
    # Validation and freezing
    # ------------------------------------------------------------------
    def _check_progress(self):
        """Progress above 100%, negative progress without a deductive change."""
        for line in self:
            currency = line.currency_id
            cmp = currency.compare_amounts
            item = _("Item %(item)s", item=line.item_no)
            if cmp(line.total_completed_stored, line.scheduled_value) > 0:
                raise ValidationError(
                    _(
                        "%(item)s: completed and stored to date (G) %(g)s would exceed"
                        " the scheduled value (C) %(c)s, more than 100%%.",
                        item=item,
                        g=format_amount(
                            self.env, line.total_completed_stored, currency
                        ),
                        c=format_amount(self.env, line.scheduled_value, currency),
                    )
                )
            if cmp(line.work_this_period, 0) < 0:
                reduced = cmp(line.scheduled_value, line.previous_scheduled_value) < 0
                if not reduced:
                    raise ValidationError(
                        _(
                            "%(item)s: negative progress this period is only allowed"
                            " when an approved deductive change order reduced the"
                            " line's scheduled value.",
                            item=item,
                        )
                    )
                if cmp(line.work_to_date, 0) < 0:
                    raise ValidationError(
                        _(
                            "%(item)s: work completed to date cannot be negative.",
                            item=item,
                        )
                    )

    @api.constrains("work_this_period", "stored_to_date")
    def _constrains_progress(self):
        if self.env.context.get("construction_billing_engine"):
            return  # snapshots refreshed by the engine; checked again on submit
        self._check_progress()

    def _check_draft(self):
        if self.env.context.get("construction_billing_engine"):
            return
        for line in self:
            if line.application_id.approval_state != "draft":
                raise UserError(
                    _(
                        "%(app)s is %(state)s: its lines can no longer change."
                        " Correct it with an adjusting next application.",
                        app=line.application_id.name,
                        state=line.application_id.approval_state,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines._check_draft()
        if not self._retainage_deferred():
            lines.application_id._compute_retainage()
        return lines

    def write(self, vals):
        self._check_draft()
        if not self.env.context.get("construction_billing_engine"):
            protected = {
                "application_id",
                "sov_line_id",
                "scheduled_value",
                "previous_scheduled_value",
                "previous_work",
                "previous_stored",
                "previous_retainage_work",
                "previous_retainage",
                "retainage_work_this_period",
                "retainage_stored",
                "retainage_explanation",
            }
            if protected & set(vals):
                raise UserError(
                    _(
                        "Scheduled values, previous figures and retainage are"
                        " computed from the contract; enter the work this period"
                        " and the materials stored."
                    )
                )
        res = super().write(vals)
        if not self._retainage_deferred():
            self.application_id._compute_retainage()
        return res

    def _retainage_deferred(self):
        """The retainage engine writes itself, or the caller recomputes once
        after writing many lines (an application's form, a progress report):
        one recompute per line would make a large SOV quadratic."""
        context = self.env.context
        return context.get("construction_billing_engine") or context.get(
            "construction_billing_defer_retainage"
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_if_draft(self):
        self._check_draft()

    # ------------------------------------------------------------------
    # Accounting
    # ------------------------------------------------------------------
    def _prepare_account_move_line(self):
        self.ensure_one()
        contract = self.contract_id
        stored_change = self.stored_to_date - self.previous_stored
        parts = [
            _(
                "work this period %(amount)s",
                amount=format_amount(self.env, self.work_this_period, self.currency_id),
            )
        ]
        if not self.currency_id.is_zero(stored_change):
            parts.append(
                _(
                    "stored materials change %(amount)s",
                    amount=format_amount(self.env, stored_change, self.currency_id),
                )
            )
        distribution_keys = [contract.project_id.account_id, self.cost_code_id]
        key = ",".join(str(a.id) for a in distribution_keys if a)
        return {
            "name": _(
                "%(item)s %(name)s: %(parts)s",
                item=self.item_no,
                name=self.name,
                parts=", ".join(parts),
            ),
            "account_id": contract.revenue_account_id.id,
            "quantity": 1.0,
            "price_unit": self.billed_this_period,
            "tax_ids": [fields.Command.set(contract.tax_ids.ids)],
            "analytic_distribution": {key: 100} if key else False,
        }
