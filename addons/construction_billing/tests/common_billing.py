from odoo import Command, fields

from odoo.addons.construction_connector_base.tests.common import ConstructionCommon


class BillingCommon(ConstructionCommon):
    """A progress-billed prime contract of 100,000.00 on the test project:

    ===  ==============  =========  ==========
    No.  Description     Cost code  Scheduled
    ===  ==============  =========  ==========
    1    Concrete        concrete   40,000.00
    2    Forming         forming    20,000.00
    3    Steel           steel      40,000.00
    ===  ==============  =========  ==========

    Retainage 10% on work, 5% on stored materials, reduced to 5% past 50%
    complete, capped at 7.25% of the contract sum to date.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.retention_account = cls.company._construction_retention_receivable_account()
        cls.contract = cls.env["construction.contract"].create(
            {
                "project_id": cls.project.id,
                "partner_id": cls.customer.id,
                "original_contract_sum": 100000.00,
                "retainage_rate_work": 10.0,
                "retainage_rate_stored": 5.0,
                "retainage_reduction": True,
                "retainage_reduction_threshold": 50.0,
                "retainage_reduced_rate": 5.0,
                "retainage_cap": True,
                "retainage_cap_percent": 7.25,
                "retainage_cap_include_change_orders": True,
                "sov_line_ids": [
                    Command.create(
                        {
                            "sequence": 1,
                            "item_no": "1",
                            "name": "Concrete",
                            "cost_code_id": cls.cc_concrete.id,
                            "original_value": 40000.00,
                        }
                    ),
                    Command.create(
                        {
                            "sequence": 2,
                            "item_no": "2",
                            "name": "Forming",
                            "cost_code_id": cls.cc_forming.id,
                            "original_value": 20000.00,
                        }
                    ),
                    Command.create(
                        {
                            "sequence": 3,
                            "item_no": "3",
                            "name": "Steel",
                            "cost_code_id": cls.cc_steel.id,
                            "original_value": 40000.00,
                        }
                    ),
                ],
            }
        )
        cls.contract.action_activate()
        cls.sov1, cls.sov2, cls.sov3 = cls.contract.sov_line_ids.sorted("sequence")

    def _new_application(self, period_to, contract=None):
        return self.env["construction.pay.application"].create(
            {
                "contract_id": (contract or self.contract).id,
                "period_to": period_to,
                "date": period_to,
            }
        )

    @staticmethod
    def _line(app, sov_line):
        return app.line_ids.filtered(lambda line: line.sov_line_id == sov_line)

    def _enter(self, app, progress):
        """progress: {sov_line: (work this period, stored to date)}"""
        for sov_line, (work, stored) in progress.items():
            self._line(app, sov_line).write(
                {"work_this_period": work, "stored_to_date": stored}
            )

    def _certify(self, app, post=True):
        app.action_submit()
        app.action_certify()
        if post and app.invoice_id:
            app.invoice_id.action_post()
        return app.invoice_id

    def _approve_change(self, sov_line, amount, date, reference):
        return self.env["construction.contract.change"].create(
            {
                "contract_id": sov_line.contract_id.id,
                "sov_line_id": sov_line.id,
                "amount": amount,
                "date": date,
                "reference": reference,
            }
        )

    def _pay(self, invoice):
        return (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"payment_date": fields.Date.today()})
            ._create_payments()
        )

    def assertG702(self, app, expected):
        fields_by_line = {
            "1": "original_contract_sum",
            "2": "net_change_orders",
            "3": "contract_sum_to_date",
            "4": "total_completed_stored",
            "5a": "retainage_work",
            "5b": "retainage_stored",
            "5": "retainage_total",
            "6": "earned_less_retainage",
            "7": "previous_certificates",
            "8": "current_payment_due",
            "9": "balance_to_finish",
        }
        got = {key: app[name] for key, name in fields_by_line.items()}
        self.assertEqual(got, expected)

    def assertG703(self, app, expected):
        """expected: {sov_line: (C, D, E, F, G, %, H, I)}"""
        got = {}
        for sov_line in expected:
            line = self._line(app, sov_line)
            got[sov_line] = (
                line.scheduled_value,
                line.previous_work,
                line.work_this_period,
                line.stored_to_date,
                line.total_completed_stored,
                round(line.percent_complete, 2),
                line.balance_to_finish,
                line.retainage_to_date,
            )
        self.assertEqual(got, expected)
