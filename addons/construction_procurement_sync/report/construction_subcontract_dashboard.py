from odoo import api, fields, models

from ..models.construction_compliance import compliance_today

COMPLIANCE_STATUS = [
    ("none", "No Requirements"),
    ("compliant", "Compliant"),
    ("expiring", "Expiring"),
    ("non_compliant", "Not Compliant"),
]


class ConstructionSubcontractDashboard(models.Model):
    """One row per confirmed subcontract, amounts in company currency.

    Contract value and approved changes come from the schedule of values (lines
    added by approved commitment change orders are the changes), billed from the
    posted vendor bill lines of the order, retainage held from the Retention
    Payable items, paid from the bills' settled amounts: grouped reads only.
    """

    _name = "construction.subcontract.dashboard"
    _description = "Subcontract Dashboard"
    _auto = False
    _order = "project_id, order_id"
    _depends = {
        "purchase.order": [
            "state",
            "partner_id",
            "project_id",
            "company_id",
            "currency_rate",
            "construction_is_subcontract",
        ],
        "purchase.order.line": [
            "price_subtotal",
            "display_type",
            "order_id",
            "construction_change_order_id",
        ],
        "account.move.line": [
            "balance",
            "parent_state",
            "display_type",
            "purchase_line_id",
            "construction_retainage_order_id",
            "move_id",
        ],
        "account.move": ["state", "amount_total_signed", "amount_residual_signed"],
    }

    order_id = fields.Many2one("purchase.order", string="Subcontract", readonly=True)
    project_id = fields.Many2one("project.project", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Subcontractor", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    contract_value = fields.Monetary(string="Original Contract", readonly=True)
    approved_changes = fields.Monetary(readonly=True)
    revised_value = fields.Monetary(string="Revised Contract", readonly=True)
    billed = fields.Monetary(readonly=True)
    balance_to_finish = fields.Monetary(readonly=True)
    retainage_held = fields.Monetary(readonly=True)
    paid = fields.Monetary(readonly=True)
    compliance_status = fields.Selection(
        selection=COMPLIANCE_STATUS, compute="_compute_compliance_status"
    )

    @property
    def _table_query(self):
        return """
            SELECT
                po.id AS id,
                po.id AS order_id,
                po.project_id AS project_id,
                po.partner_id AS partner_id,
                po.company_id AS company_id,
                company.currency_id AS currency_id,
                COALESCE(sov.original, 0.0) AS contract_value,
                COALESCE(sov.changes, 0.0) AS approved_changes,
                COALESCE(sov.original, 0.0) + COALESCE(sov.changes, 0.0)
                    AS revised_value,
                COALESCE(billed.amount, 0.0) AS billed,
                COALESCE(sov.original, 0.0) + COALESCE(sov.changes, 0.0)
                    - COALESCE(billed.amount, 0.0) AS balance_to_finish,
                COALESCE(retainage.held, 0.0) AS retainage_held,
                COALESCE(paid.amount, 0.0) AS paid
            FROM purchase_order po
            JOIN res_company company ON company.id = po.company_id
            LEFT JOIN (
                SELECT pol.order_id,
                    SUM(CASE WHEN pol.construction_change_order_id IS NULL
                        THEN pol.price_subtotal
                            / COALESCE(NULLIF(o.currency_rate, 0), 1)
                        ELSE 0 END) AS original,
                    SUM(CASE WHEN pol.construction_change_order_id IS NOT NULL
                        THEN pol.price_subtotal
                            / COALESCE(NULLIF(o.currency_rate, 0), 1)
                        ELSE 0 END) AS changes
                FROM purchase_order_line pol
                JOIN purchase_order o ON o.id = pol.order_id
                WHERE pol.display_type IS NULL
                GROUP BY pol.order_id
            ) sov ON sov.order_id = po.id
            LEFT JOIN (
                SELECT pol.order_id, SUM(aml.balance) AS amount
                FROM account_move_line aml
                JOIN purchase_order_line pol ON pol.id = aml.purchase_line_id
                WHERE aml.parent_state = 'posted' AND aml.display_type = 'product'
                GROUP BY pol.order_id
            ) billed ON billed.order_id = po.id
            LEFT JOIN (
                SELECT aml.construction_retainage_order_id AS order_id,
                    -SUM(aml.balance) AS held
                FROM account_move_line aml
                WHERE aml.parent_state = 'posted'
                    AND aml.construction_retainage_order_id IS NOT NULL
                GROUP BY aml.construction_retainage_order_id
            ) retainage ON retainage.order_id = po.id
            LEFT JOIN (
                SELECT bill.order_id,
                    -SUM(am.amount_total_signed - am.amount_residual_signed) AS amount
                FROM (
                    SELECT DISTINCT
                        COALESCE(pol.order_id, aml.construction_retainage_order_id)
                            AS order_id,
                        aml.move_id
                    FROM account_move_line aml
                    LEFT JOIN purchase_order_line pol ON pol.id = aml.purchase_line_id
                    WHERE pol.order_id IS NOT NULL
                        OR aml.construction_retainage_order_id IS NOT NULL
                ) bill
                JOIN account_move am ON am.id = bill.move_id
                WHERE am.state = 'posted'
                GROUP BY bill.order_id
            ) paid ON paid.order_id = po.id
            WHERE po.construction_is_subcontract
                AND po.state IN ('purchase', 'done')
        """

    @api.depends_context("compliance_date")
    def _compute_compliance_status(self):
        today = compliance_today(self)
        requirements = self.order_id.construction_compliance_requirement_ids
        candidates = requirements._candidates_by_requirement()
        for row in self:
            reqs = row.order_id.construction_compliance_requirement_ids
            if not reqs:
                row.compliance_status = "none"
                continue
            states = {req._status_on(today, candidates[req])[1] for req in reqs}
            if states & {"missing", "expired"}:
                row.compliance_status = "non_compliant"
            elif "expiring" in states:
                row.compliance_status = "expiring"
            else:
                row.compliance_status = "compliant"

    def action_open_subcontract(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "purchase.order",
            "res_id": self.order_id.id,
            "view_mode": "form",
        }

    def action_open_pay_applications(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_procurement_sync.construction_subcontract_pay_application_action"
        )
        action["domain"] = [("order_id", "=", self.order_id.id)]
        action["context"] = {"default_order_id": self.order_id.id}
        return action
