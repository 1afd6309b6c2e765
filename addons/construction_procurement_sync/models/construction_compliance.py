from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

COMPLIANCE_TYPES = [
    ("insurance", "Certificate of Insurance"),
    ("license", "License"),
    ("bond", "Bond"),
    ("tax_form", "W-9 / Tax Form"),
    ("safety", "Safety Certificate"),
    ("other", "Other"),
]

COMPLIANCE_STATES = [
    ("valid", "Valid"),
    ("expiring", "Expiring"),
    ("expired", "Expired"),
    ("missing", "Missing"),
]


def compliance_today(records):
    """Reference day of the compliance status: context ``compliance_date``
    (status as of another day), else today in the user's timezone."""
    day = records.env.context.get("compliance_date")
    return fields.Date.to_date(day) if day else fields.Date.context_today(records)


class ConstructionComplianceDocument(models.Model):
    _name = "construction.compliance.document"
    _description = "Subcontractor Compliance Document"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date_expiry, id"
    _check_company_auto = True

    name = fields.Char(string="Reference", required=True, tracking=True)
    partner_id = fields.Many2one(
        comodel_name="res.partner",
        string="Vendor",
        required=True,
        index=True,
        tracking=True,
    )
    order_id = fields.Many2one(
        comodel_name="purchase.order",
        string="Subcontract",
        index="btree_not_null",
        check_company=True,
        domain="[('construction_is_subcontract', '=', True)]",
        help="Leave empty for a document covering every subcontract of the vendor.",
    )
    company_id = fields.Many2one(
        comodel_name="res.company",
        required=True,
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    document_type = fields.Selection(
        selection=COMPLIANCE_TYPES, required=True, tracking=True
    )
    coverage_amount = fields.Monetary(tracking=True)
    date_effective = fields.Date(string="Effective Date", required=True, tracking=True)
    date_expiry = fields.Date(string="Expiry Date", tracking=True)
    attachment_ids = fields.Many2many(
        comodel_name="ir.attachment",
        relation="construction_compliance_document_attachment_rel",
        string="Files",
    )
    state = fields.Selection(
        selection=COMPLIANCE_STATES[:3],
        string="Status",
        compute="_compute_state",
        search="_search_state",
    )
    active = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "coverage_positive",
            "CHECK(coverage_amount IS NULL OR coverage_amount >= 0)",
            "Coverage cannot be negative.",
        ),
    ]

    @api.constrains("date_effective", "date_expiry")
    def _check_dates(self):
        for doc in self:
            if doc.date_expiry and doc.date_expiry < doc.date_effective:
                raise ValidationError(
                    _("%(doc)s expires before it takes effect.", doc=doc.name)
                )

    def _warning_days(self):
        return self.env.company.construction_compliance_warning_days or 0

    @api.depends("date_effective", "date_expiry")
    @api.depends_context("compliance_date")
    def _compute_state(self):
        today = compliance_today(self)
        for doc in self:
            doc.state = doc._state_on(today)

    def _state_on(self, day):
        self.ensure_one()
        warn = self.company_id.construction_compliance_warning_days or 0
        if self.date_effective > day or (self.date_expiry and self.date_expiry < day):
            return "expired"
        if self.date_expiry and self.date_expiry <= day + timedelta(days=warn):
            return "expiring"
        return "valid"

    def _search_state(self, operator, value):
        if operator not in ("=", "!=", "in", "not in"):
            raise UserError(_("Unsupported search on the compliance status."))
        values = {value} if isinstance(value, str) else set(value)
        today = compliance_today(self)
        limit = today + timedelta(days=self._warning_days())
        today_s, limit_s = fields.Date.to_string(today), fields.Date.to_string(limit)
        domains = {
            "expired": [
                "|",
                ("date_effective", ">", today_s),
                ("date_expiry", "<", today_s),
            ],
            "expiring": [
                ("date_effective", "<=", today_s),
                ("date_expiry", ">=", today_s),
                ("date_expiry", "<=", limit_s),
            ],
            "valid": [
                ("date_effective", "<=", today_s),
                "|",
                ("date_expiry", "=", False),
                ("date_expiry", ">", limit_s),
            ],
        }
        ids = set()
        for state, domain in domains.items():
            if state in values:
                ids |= set(self.search(domain).ids)
        if operator in ("!=", "not in"):
            return [("id", "not in", list(ids))]
        return [("id", "in", list(ids))]

    @api.model
    def _cron_expiry_activities(self):
        """Schedule an activity on documents expiring within the company's
        warning window (once per document and expiry date)."""
        today = compliance_today(self)
        activity_type = self.env.ref("mail.mail_activity_data_todo")
        for company in self.env["res.company"].search([]):
            limit = today + timedelta(
                days=company.construction_compliance_warning_days or 0
            )
            docs = self.with_company(company).search(
                [
                    ("company_id", "=", company.id),
                    ("date_expiry", "!=", False),
                    ("date_expiry", "<=", fields.Date.to_string(limit)),
                    ("date_expiry", ">=", fields.Date.to_string(today)),
                ]
            )
            for doc in docs:
                if doc.activity_ids.filtered(
                    lambda a, t=activity_type, d=doc.date_expiry: (
                        a.activity_type_id == t and a.date_deadline == d
                    )
                ):
                    continue
                doc.activity_schedule(
                    activity_type_id=activity_type.id,
                    date_deadline=doc.date_expiry,
                    summary=_("Compliance document expiring: %(doc)s", doc=doc.name),
                    user_id=(
                        doc.order_id.user_id.id or doc.create_uid.id or self.env.user.id
                    ),
                )


class ConstructionComplianceRequirement(models.Model):
    _name = "construction.compliance.requirement"
    _description = "Subcontract Compliance Requirement"
    _check_company_auto = True

    order_id = fields.Many2one(
        comodel_name="purchase.order",
        string="Subcontract",
        required=True,
        ondelete="cascade",
        index=True,
        check_company=True,
    )
    company_id = fields.Many2one(related="order_id.company_id", store=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    document_type = fields.Selection(selection=COMPLIANCE_TYPES, required=True)
    min_coverage = fields.Monetary(string="Minimum Coverage")
    document_id = fields.Many2one(
        comodel_name="construction.compliance.document",
        string="Best Document",
        compute="_compute_status",
    )
    state = fields.Selection(
        selection=COMPLIANCE_STATES, string="Status", compute="_compute_status"
    )

    _sql_constraints = [
        (
            "type_unique",
            "UNIQUE(order_id, document_type)",
            "A document type is required once per subcontract.",
        ),
        (
            "min_coverage_positive",
            "CHECK(min_coverage IS NULL OR min_coverage >= 0)",
            "The minimum coverage cannot be negative.",
        ),
    ]

    @api.depends("order_id.partner_id", "document_type", "min_coverage")
    @api.depends_context("compliance_date")
    def _compute_status(self):
        today = compliance_today(self)
        candidates = self._candidates_by_requirement()
        for req in self:
            req.document_id, req.state = req._status_on(today, candidates[req])

    def _candidates_by_requirement(self):
        """{requirement: documents that may satisfy it} (the vendor's, of its
        type, general or for its subcontract, with enough coverage), one search
        for all these requirements."""
        orders = self.order_id
        docs = self.env["construction.compliance.document"].search(
            [
                ("company_id", "in", orders.company_id.ids),
                ("partner_id", "in", orders.partner_id.commercial_partner_id.ids),
                ("document_type", "in", list(set(self.mapped("document_type")))),
            ]
        )
        return {
            req: docs.filtered(
                lambda d, req=req: (
                    d.company_id == req.order_id.company_id
                    and d.partner_id == req.order_id.partner_id.commercial_partner_id
                    and d.document_type == req.document_type
                    and d.order_id in (d.order_id.browse(), req.order_id)
                    and d.currency_id.compare_amounts(
                        d.coverage_amount, req.min_coverage
                    )
                    >= 0
                )
            )
            for req in self
        }

    def _candidate_documents(self):
        self.ensure_one()
        return self._candidates_by_requirement()[self]

    def _status_on(self, day, candidates=None):
        """(best document, its state on ``day``) among ``candidates`` (default:
        this requirement's candidate documents); state "missing" when none."""
        self.ensure_one()
        if candidates is None:
            candidates = self._candidate_documents()
        rank = {"valid": 0, "expiring": 1, "expired": 2}
        best, best_state = self.env["construction.compliance.document"], "missing"
        for doc in candidates:
            state = doc._state_on(day)
            if best_state == "missing" or rank[state] < rank[best_state]:
                best, best_state = doc, state
        return best, best_state

    def _problems(self, day):
        """Readable problems of these requirements on ``day``."""
        labels = dict(COMPLIANCE_TYPES)
        problems = []
        candidates = self._candidates_by_requirement()
        for req in self:
            doc, state = req._status_on(day, candidates[req])
            if state == "missing":
                problems.append(
                    _(
                        "%(type)s missing (minimum coverage %(min)s)",
                        type=labels[req.document_type],
                        min=req.currency_id.format(req.min_coverage),
                    )
                )
            elif state == "expired":
                problems.append(
                    _(
                        "%(type)s %(doc)s expired or not yet effective",
                        type=labels[req.document_type],
                        doc=doc.name,
                    )
                )
        return problems
