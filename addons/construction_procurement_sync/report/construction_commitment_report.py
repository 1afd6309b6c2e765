from odoo import fields, models


class ConstructionCommitmentReport(models.Model):
    """Purchase commitments per project, cost code and cost type.

    One row per purchase line and analytic distribution key, amounts in company
    currency and weighted by the key's percentage. The budget's Committed Costs
    column is read from here.
    """

    _name = "construction.commitment.report"
    _description = "Construction Commitments"
    _auto = False
    _order = "date_order desc, id"
    _depends = {
        "purchase.order.line": [
            "analytic_distribution",
            "price_subtotal",
            "construction_committed_amount",
            "order_id",
            "company_id",
            "display_type",
            "product_id",
        ],
        "purchase.order": [
            "state",
            "partner_id",
            "date_order",
            "currency_rate",
            "construction_is_subcontract",
        ],
        "project.project": ["account_id"],
        "account.analytic.account": ["construction_role"],
    }

    purchase_line_id = fields.Many2one("purchase.order.line", readonly=True)
    order_id = fields.Many2one("purchase.order", string="Order", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Vendor", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    product_id = fields.Many2one("product.product", readonly=True)
    date_order = fields.Datetime(string="Order Date", readonly=True)
    state = fields.Selection(
        selection=[
            ("draft", "RFQ"),
            ("sent", "RFQ Sent"),
            ("to approve", "To Approve"),
            ("purchase", "Purchase Order"),
            ("done", "Locked"),
            ("cancel", "Cancelled"),
        ],
        readonly=True,
    )
    is_subcontract = fields.Boolean(string="Subcontract", readonly=True)
    project_id = fields.Many2one("project.project", string="Project", readonly=True)
    cost_code_id = fields.Many2one(
        "account.analytic.account", string="Cost Code", readonly=True
    )
    cost_type_id = fields.Many2one(
        "account.analytic.account", string="Cost Type", readonly=True
    )
    ordered_amount = fields.Monetary(string="Ordered", readonly=True)
    committed_amount = fields.Monetary(string="Committed (Open)", readonly=True)
    billed_amount = fields.Monetary(string="Billed at Order Price", readonly=True)

    @property
    def _table_query(self):
        return """
            SELECT
                pol.id::bigint * 1000 + dist.ord AS id,
                pol.id AS purchase_line_id,
                po.id AS order_id,
                po.partner_id,
                pol.company_id,
                company.currency_id,
                pol.product_id,
                po.date_order,
                po.state,
                COALESCE(po.construction_is_subcontract, FALSE) AS is_subcontract,
                dims.project_id,
                dims.cost_code_id,
                dims.cost_type_id,
                ROUND(
                    CASE WHEN po.state IN ('cancel') THEN 0 ELSE
                    pol.price_subtotal / COALESCE(NULLIF(po.currency_rate, 0), 1)
                    * dist.value::numeric / 100 END, 2
                ) AS ordered_amount,
                COALESCE(pol.construction_committed_amount, 0)
                    * dist.value::numeric / 100 AS committed_amount,
                ROUND(
                    CASE WHEN po.state IN ('purchase', 'done') THEN
                    pol.price_subtotal / COALESCE(NULLIF(po.currency_rate, 0), 1)
                    * dist.value::numeric / 100
                    - COALESCE(pol.construction_committed_amount, 0)
                    * dist.value::numeric / 100 ELSE 0 END, 2
                ) AS billed_amount
            FROM purchase_order_line pol
            JOIN purchase_order po ON po.id = pol.order_id
            JOIN res_company company ON company.id = pol.company_id
            CROSS JOIN LATERAL jsonb_each_text(pol.analytic_distribution)
                WITH ORDINALITY AS dist(key, value, ord)
            CROSS JOIN LATERAL (
                SELECT
                    MAX(aa.id) FILTER (
                        WHERE aa.construction_role = 'cost_code'
                    ) AS cost_code_id,
                    MAX(aa.id) FILTER (
                        WHERE aa.construction_role = 'cost_type'
                    ) AS cost_type_id,
                    (
                        SELECT MIN(pp.id) FROM project_project pp
                        WHERE pp.account_id = ANY(
                            string_to_array(dist.key, ',')::int[]
                        )
                    ) AS project_id
                FROM account_analytic_account aa
                WHERE aa.id = ANY(string_to_array(dist.key, ',')::int[])
            ) dims
            WHERE pol.display_type IS NULL
              AND pol.analytic_distribution IS NOT NULL
        """
