from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.misc import format_date

# Terms the subcontractor signs: fixed once the waiver is received.
SIGNED_FIELDS = {"application_id", "condition", "scope", "amount", "through_date"}


class ConstructionLienWaiver(models.Model):
    _name = "construction.lien.waiver"
    _description = "Subcontractor Lien Waiver"
    _inherit = ["mail.thread"]
    _order = "through_date desc, id desc"
    _check_company_auto = True

    _sql_constraints = [
        (
            "amount_positive",
            "CHECK(amount >= 0)",
            "The amount of a lien waiver cannot be negative.",
        ),
    ]

    name = fields.Char(string="Reference", required=True, tracking=True)
    application_id = fields.Many2one(
        comodel_name="construction.subcontract.pay.application",
        string="Pay Application",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
    )
    order_id = fields.Many2one(related="application_id.order_id", store=True)
    partner_id = fields.Many2one(related="application_id.partner_id", store=True)
    company_id = fields.Many2one(
        related="application_id.company_id", store=True, precompute=True
    )
    currency_id = fields.Many2one(related="application_id.currency_id")
    condition = fields.Selection(
        selection=[("conditional", "Conditional"), ("unconditional", "Unconditional")],
        required=True,
        default="unconditional",
        tracking=True,
    )
    scope = fields.Selection(
        selection=[("progress", "Progress"), ("final", "Final")],
        required=True,
        default="progress",
        tracking=True,
    )
    amount = fields.Monetary(required=True, tracking=True)
    through_date = fields.Date(required=True, tracking=True)
    state = fields.Selection(
        selection=[("requested", "Requested"), ("received", "Received")],
        default="requested",
        required=True,
        tracking=True,
    )
    date_received = fields.Date(tracking=True)
    mismatch = fields.Char(
        compute="_compute_mismatch",
        search="_search_mismatch",
        help="How this waiver differs from its application's payment due through "
        "its period end: a mismatched waiver does not release the approval or "
        "payment it is required for.",
    )
    payment_id = fields.Many2one(
        comodel_name="account.payment",
        string="Payment",
        index="btree_not_null",
        tracking=True,
        check_company=True,
        help="Payment this waiver is given for; set when the pay application's "
        "bill is paid.",
    )
    project_id = fields.Many2one(related="application_id.project_id")
    owner_id = fields.Many2one(
        related="application_id.project_id.partner_id", string="Owner"
    )
    attachment_ids = fields.Many2many(
        comodel_name="ir.attachment",
        relation="construction_lien_waiver_attachment_rel",
        string="Signed Waiver",
    )

    @api.depends(
        "amount",
        "through_date",
        "application_id.amount_due",
        "application_id.period_end",
    )
    def _compute_mismatch(self):
        for waiver in self:
            app = waiver.application_id
            problems = []
            if app and app.currency_id.compare_amounts(waiver.amount, app.amount_due):
                problems.append(
                    _(
                        "Amount %(amount)s, not the payment due of %(due)s.",
                        amount=app.currency_id.format(waiver.amount),
                        due=app.currency_id.format(app.amount_due),
                    )
                )
            if app.period_end and waiver.through_date < app.period_end:
                problems.append(
                    _(
                        "Through %(date)s, before the period end of %(end)s.",
                        date=format_date(self.env, waiver.through_date),
                        end=format_date(self.env, app.period_end),
                    )
                )
            waiver.mismatch = " ".join(problems) or False

    def _search_mismatch(self, operator, value):
        """``('mismatch', '!=', False)``: the waivers that differ from their
        payment, as ``_compute_mismatch`` says (``=`` False: those that match)."""
        if operator not in ("=", "!=") or value:
            raise UserError(
                _("Search mismatched waivers with 'is set' or 'is not set'.")
            )
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT waiver.id
              FROM construction_lien_waiver waiver
              JOIN construction_subcontract_pay_application app
                ON app.id = waiver.application_id
              JOIN res_currency currency ON currency.id = app.currency_id
             WHERE ROUND((waiver.amount - COALESCE(app.amount_due, 0))
                         / currency.rounding) != 0
                OR waiver.through_date < app.period_end
            """
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        return [("id", "in" if operator == "!=" else "not in", ids)]

    @api.constrains("through_date", "application_id")
    def _check_through_date(self):
        for waiver in self:
            if waiver.through_date < waiver.application_id.period_start:
                raise ValidationError(
                    _(
                        "%(waiver)s: the through date is before the period of %(app)s.",
                        waiver=waiver.name,
                        app=waiver.application_id.name,
                    )
                )

    def action_receive(self):
        self.write(
            {"state": "received", "date_received": fields.Date.context_today(self)}
        )
        for waiver in self:
            if waiver.attachment_ids:
                body = _("Signed lien waiver received.")
            else:
                body = _("Lien waiver marked received without a signed copy attached.")
            waiver.message_post(
                body=body,
                attachment_ids=waiver.attachment_ids.ids,
                subtype_xmlid="mail.mt_note",
            )

    def action_reset_requested(self):
        """A received waiver found wrong: back to requested, to be signed again
        with the corrected terms (its signed copy stays attached for the record)."""
        paid = self.filtered("payment_id")
        if paid:
            raise UserError(
                _(
                    "%(waivers)s already cover a payment.",
                    waivers=", ".join(paid.mapped("name")),
                )
            )
        self.write({"state": "requested", "date_received": False})
        for waiver in self:
            waiver.message_post(
                body=_("Set back to requested: a corrected waiver is to be signed."),
                subtype_xmlid="mail.mt_note",
            )

    def write(self, vals):
        signed = SIGNED_FIELDS.intersection(vals)
        received = self.filtered(lambda waiver: waiver.state == "received")
        if signed and received and vals.get("state") != "requested":
            raise UserError(
                _(
                    "%(waivers)s is received: its signed terms cannot change. Set it "
                    "back to requested and have the corrected waiver signed.",
                    waivers=", ".join(received.mapped("name")),
                )
            )
        result = super().write(vals)
        if "attachment_ids" in vals:
            for waiver in self:
                waiver.message_post(
                    body=_(
                        "Signed copy: %(files)s",
                        files=", ".join(waiver.attachment_ids.mapped("name"))
                        or _("removed"),
                    ),
                    subtype_xmlid="mail.mt_note",
                )
        return result

    def _wording(self):
        """Statutory-style text of the waiver, by condition and scope."""
        self.ensure_one()
        amount = self.currency_id.format(self.amount)
        vals = {
            "claimant": self.partner_id.name,
            "customer": self.company_id.name,
            "owner": self.owner_id.name or self.company_id.name,
            "project": self.project_id.name or self.order_id.name,
            "amount": amount,
            "date": format_date(self.env, self.through_date),
        }
        if self.condition == "conditional":
            release = _(
                "Upon receipt by the undersigned of a check from %(customer)s in the "
                "sum of %(amount)s payable to %(claimant)s, and when the check has "
                "been properly endorsed and has been paid by the bank on which it is "
                "drawn, this document becomes effective to release any mechanic's "
                "lien, stop payment notice or bond right the undersigned has on the "
                "job of %(owner)s located at %(project)s",
                **vals,
            )
            if self.scope == "progress":
                return release + _(
                    ", to the extent of labor, services, equipment and materials "
                    "furnished through %(date)s only.",
                    **vals,
                )
            return release + _(
                ". This is a final payment and releases all rights for labor, "
                "services, equipment and materials furnished on the job."
            )
        if self.scope == "progress":
            return _(
                "The undersigned has been paid and has received a progress payment "
                "in the sum of %(amount)s for labor, services, equipment or "
                "materials furnished to %(customer)s on the job of %(owner)s located "
                "at %(project)s, and does hereby release any mechanic's lien, stop "
                "payment notice or bond right it has on the job through %(date)s "
                "only. This release is unconditional.",
                **vals,
            )
        return _(
            "The undersigned has been paid in full, including %(amount)s of final "
            "payment, for all labor, services, equipment and materials furnished to "
            "%(customer)s on the job of %(owner)s located at %(project)s, and does "
            "hereby waive and release any right to a mechanic's lien, stop payment "
            "notice or bond right on the job. This release is unconditional.",
            **vals,
        )

    def _title(self):
        self.ensure_one()
        labels = {
            ("conditional", "progress"): _(
                "Conditional Waiver and Release on Progress Payment"
            ),
            ("conditional", "final"): _(
                "Conditional Waiver and Release on Final Payment"
            ),
            ("unconditional", "progress"): _(
                "Unconditional Waiver and Release on Progress Payment"
            ),
            ("unconditional", "final"): _(
                "Unconditional Waiver and Release on Final Payment"
            ),
        }
        return labels[(self.condition, self.scope)]

    def action_generate_document(self):
        """Render the waiver for signature and attach the PDF to its chatter."""
        report = self.env.ref(
            "construction_procurement_sync.action_report_construction_lien_waiver"
        )
        for waiver in self:
            content, _kind = report._render_qweb_pdf(report.report_name, waiver.ids)
            attachment = self.env["ir.attachment"].create(
                {
                    "name": f"{waiver.name}.pdf",
                    "raw": content,
                    "mimetype": "application/pdf",
                    "res_model": waiver._name,
                    "res_id": waiver.id,
                }
            )
            waiver.message_post(
                body=_("Lien waiver generated for signature."),
                attachment_ids=attachment.ids,
                subtype_xmlid="mail.mt_note",
            )
        return True
