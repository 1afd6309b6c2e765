from odoo import fields, models, tools


class ConstructionRetainageAging(models.Model):
    """Retainage withheld and released, per journal item of the Retention
    Receivable account, with what is still held and its age."""

    _name = "construction.retainage.aging"
    _description = "Retainage Aging"
    _auto = False
    _order = "date, id"

    date = fields.Date(readonly=True)
    move_id = fields.Many2one("account.move", string="Invoice", readonly=True)
    contract_id = fields.Many2one("construction.contract", readonly=True)
    project_id = fields.Many2one("project.project", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    withheld = fields.Monetary(readonly=True, aggregator="sum")
    released = fields.Monetary(readonly=True, aggregator="sum")
    held = fields.Monetary(string="Still Held", readonly=True, aggregator="sum")
    age_days = fields.Integer(string="Age (days)", readonly=True, aggregator="max")
    age_bucket = fields.Selection(
        [
            ("0_30", "0-30 days"),
            ("31_60", "31-60 days"),
            ("61_90", "61-90 days"),
            ("91_180", "91-180 days"),
            ("181_365", "181-365 days"),
            ("365", "Over a year"),
        ],
        readonly=True,
    )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            f"""
            CREATE VIEW {self._table} AS (
                SELECT aml.id,
                       aml.date,
                       aml.move_id,
                       c.id AS contract_id,
                       c.project_id,
                       c.partner_id,
                       aml.company_id,
                       aml.company_currency_id AS currency_id,
                       GREATEST(aml.balance, 0) AS withheld,
                       GREATEST(-aml.balance, 0) AS released,
                       CASE WHEN aml.balance > 0 THEN aml.amount_residual ELSE 0 END
                           AS held,
                       (CURRENT_DATE - aml.date) AS age_days,
                       CASE
                           WHEN CURRENT_DATE - aml.date <= 30 THEN '0_30'
                           WHEN CURRENT_DATE - aml.date <= 60 THEN '31_60'
                           WHEN CURRENT_DATE - aml.date <= 90 THEN '61_90'
                           WHEN CURRENT_DATE - aml.date <= 180 THEN '91_180'
                           WHEN CURRENT_DATE - aml.date <= 365 THEN '181_365'
                           ELSE '365'
                       END AS age_bucket
                  FROM account_move_line aml
                  JOIN account_move am ON am.id = aml.move_id
                  JOIN construction_contract c ON c.id = am.construction_contract_id
                 WHERE am.state = 'posted'
                   AND aml.account_id = c.retention_account_id
            )
            """
        )
