from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged

from .common_billing import BillingCommon


class WipCommon(BillingCommon):
    """Work in progress schedule: a 100,000.00 contract estimated at 90,000.00 of
    cost, 27,000.00 booked in January (30% complete, 30,000.00 earned)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.line_concrete.original_amount = 36000.00
        cls.line_forming.original_amount = 18000.00
        cls.line_steel.original_amount = 36000.00
        # Bills dated 2026-01-15, booked (accounting date) on 2026-01-31.
        cls._post_vendor_bill(18000.00, cls.cc_concrete, cls.material)
        cls._post_vendor_bill(9000.00, cls.cc_forming, cls.labor)


@tagged("post_install", "-at_install")
class TestWipTour(HttpCase, WipCommon):
    def test_controller_books_under_billing(self):
        self.project.name = "Tour WIP Clinic"
        self.start_tour(
            "/odoo/action-construction_billing.construction_contract_action",
            "construction_wip_tour",
            login="admin",
        )
        move = self.env["account.move"].search(
            [("construction_wip_date", "!=", False)], order="id desc", limit=1
        )
        self.assertEqual(move.state, "posted")
        self.assertEqual(move.construction_wip_date, fields.Date.context_today(move))
        asset, _liability = self.company._construction_wip_accounts()
        self.assertEqual(
            [(line.account_id, line.balance) for line in move.line_ids],
            [(asset, 30000.00), (self.contract.revenue_account_id, -30000.00)],
        )


@tagged("post_install", "-at_install")
class TestBillingWip(WipCommon):
    def _schedule(self, as_of, **options):
        report = self.env["construction.wip.report"].create({"as_of": as_of, **options})
        action = report.action_compute()
        lines = self.env[action["res_model"]].search(action["domain"])
        self.assertEqual(lines, report.line_ids)
        return {line.project_id: line for line in lines}

    def _figures(self, line):
        return {
            "contract": line.contract_amount,
            "estimated_cost": line.estimated_cost,
            "cost": line.cost_to_date,
            "percent": round(line.percent_complete, 2),
            "earned": line.earned_revenue,
            "billed": line.billed_to_date,
            "over": line.over_billing,
            "under": line.under_billing,
            "profit_to_date": line.gross_profit_to_date,
        }

    def test_over_and_under_billing_by_date(self):
        expected = {
            "contract": 100000.00,
            "estimated_cost": 90000.00,
            "cost": 27000.00,
            "percent": 30.0,
            "earned": 30000.00,
            "billed": 0.0,
            "over": 0.0,
            "under": 30000.00,
            "profit_to_date": 3000.00,
        }
        # Before any billing: the whole earned revenue is underbilled.
        self.assertEqual(
            self._figures(self._schedule("2026-01-31")[self.project]), expected
        )
        # Before the cost was booked: nothing earned yet.
        before = self._schedule("2026-01-30")[self.project]
        self.assertEqual(
            (before.cost_to_date, before.earned_revenue, before.gross_profit_to_date),
            (0.0, 0.0, 0.0),
        )
        # January's application bills 23,000.00 gross (2,150.00 retainage withheld
        # on the Retention Receivable account does not reduce what was billed).
        app1 = self._new_application("2026-01-31")
        self._enter(
            app1,
            {
                self.sov1: (10000.0, 0.0),
                self.sov2: (5000.0, 0.0),
                self.sov3: (0.0, 8000.0),
            },
        )
        self.assertEqual(self._certify(app1).state, "posted")
        expected.update(billed=23000.00, under=7000.00)
        self.assertEqual(
            self._figures(self._schedule("2026-01-31")[self.project]), expected
        )
        # February bills 20,000.00 more: 13,000.00 billed ahead of the work.
        app2 = self._new_application("2026-02-28")
        self._enter(app2, {self.sov1: (20000.0, 0.0)})
        self._certify(app2)
        # A retainage release bills money already counted: no change.
        release = self.env["construction.retainage.release"].create(
            {
                "contract_id": self.contract.id,
                "date": "2026-02-28",
                "line_ids": [
                    Command.create({"sov_line_id": self.sov1.id, "amount": 600})
                ],
            }
        )
        release.action_create_invoice().action_post()
        expected.update(billed=43000.00, under=0.0, over=13000.00)
        line = self._schedule("2026-02-28")[self.project]
        self.assertEqual(self._figures(line), expected)
        self.assertEqual(line.over_under_billing, 13000.00)
        # The January schedule, run later, still stops at January's billing.
        self.assertEqual(
            self._schedule("2026-01-31")[self.project].billed_to_date, 23000.00
        )
        # A credit note entered in Accounting for February's invoice takes its
        # 20,000.00 back out of what was billed.
        reversal = app2.invoice_id._reverse_moves(
            [{"date": "2026-02-28", "invoice_date": "2026-02-28"}], cancel=True
        )
        self.assertEqual(reversal.construction_contract_id, self.contract)
        self.assertEqual(
            self._schedule("2026-02-28")[self.project].billed_to_date, 23000.00
        )

    def test_projected_loss_and_missing_budget(self):
        # Steel re-estimated at 60,000.00: 114,000.00 of cost for 100,000.00.
        self.line_steel.original_amount = 60000.00
        other = self.env["project.project"].create({"name": "Test No Budget"})
        contract = self.env["construction.contract"].create(
            {
                "project_id": other.id,
                "partner_id": self.customer.id,
                "original_contract_sum": 50000.00,
                "sov_line_ids": [
                    Command.create(
                        {
                            "item_no": "1",
                            "name": "Everything",
                            "cost_code_id": self.cc_concrete.id,
                            "original_value": 50000.00,
                        }
                    )
                ],
            }
        )
        draft_only = self.env["project.project"].create({"name": "Test Draft Only"})
        self.env["construction.contract"].create(
            {
                "project_id": draft_only.id,
                "partner_id": self.customer.id,
                "original_contract_sum": 1000.00,
            }
        )
        schedule = self._schedule("2026-01-31")
        self.assertNotIn(other, schedule)  # its contract is a draft
        self.assertNotIn(draft_only, schedule)
        contract.action_activate()
        schedule = self._schedule("2026-01-31")
        self.assertNotIn(draft_only, schedule)
        loss = schedule[self.project]
        self.assertEqual(
            (
                loss.estimated_cost,
                loss.estimated_gross_profit,
                round(loss.percent_complete, 4),
                loss.earned_revenue,
                loss.gross_profit_to_date,
            ),
            # 27,000 / 114,000 = 23.6842%: the whole 14,000.00 loss is recognised.
            (114000.00, -14000.00, 23.6842, 23684.21, -14000.00),
        )
        self.assertIn("Projected loss", loss.note)
        unbudgeted = schedule[other]
        self.assertEqual(
            (
                unbudgeted.contract_amount,
                unbudgeted.estimated_cost,
                unbudgeted.earned_revenue,
            ),
            (50000.00, 0.0, 0.0),
        )
        self.assertIn("no budget", unbudgeted.note)

    def test_past_schedule_keeps_its_contract_sum_and_forecast(self):
        """Run later, a month's schedule keeps the changes approved by its date and
        the cost forecast saved for it, not today's figures."""
        budget = self.line_steel.budget_id
        budget.action_save_forecast()
        forecast = budget.forecast_ids
        forecast.date = "2026-01-31"
        self.assertEqual(forecast.estimate_at_completion, 90000.00)
        # Later: steel re-estimated (114,000.00 of cost), a 10,000.00 change approved.
        self.line_steel.original_amount = 60000.00
        self._approve_change(self.sov1, 10000.00, "2026-02-15", "CO-WIP")

        before = self._schedule("2026-01-30")[self.project]
        self.assertEqual(
            (before.contract_amount, before.estimated_cost), (100000.00, 114000.00)
        )
        self.assertIn("Current estimate: no forecast saved by", before.note)
        january = self._schedule("2026-01-31")[self.project]
        self.assertEqual(
            (
                january.contract_amount,
                january.estimated_cost,
                january.percent_complete,
                january.earned_revenue,
            ),
            (100000.00, 90000.00, 30.0, 30000.00),
        )
        self.assertIn("Estimate of the forecast of 01/31/2026", january.note)
        # February has no forecast of its own: January's still stands.
        february = self._schedule("2026-02-28")[self.project]
        self.assertEqual(
            (february.contract_amount, february.estimated_cost), (110000.00, 90000.00)
        )
        today = self._schedule(fields.Date.context_today(budget))[self.project]
        self.assertEqual(
            (today.contract_amount, today.estimated_cost), (110000.00, 114000.00)
        )
        self.assertFalse(today.note and "forecast" in today.note)

    def test_closed_contracts_and_nothing_to_list(self):
        self.contract.state = "closed"
        self.assertNotIn(self.project, self._schedule("2026-01-31"))
        schedule = self._schedule("2026-01-31", include_closed=True)
        self.assertEqual(schedule[self.project].cost_to_date, 27000.00)
        empty = self.env["res.company"].create({"name": "Test WIP Empty Co"})
        with self.assertRaisesMsg(UserError, "no active prime contract"):
            self.env["construction.wip.report"].create(
                {"as_of": "2026-01-31", "company_id": empty.id}
            ).action_compute()

    def test_construction_user_reads_the_schedule(self):
        """A construction user (no accounting rights) gets the ledger figures of
        the contracts it can read."""
        user = new_test_user(
            self.env,
            login="test_wip_user",
            groups="construction_connector_base.group_construction_user",
        )
        app = self._new_application("2026-01-31")
        self._enter(app, {self.sov1: (10000.0, 0.0)})
        self._certify(app)
        report = (
            self.env["construction.wip.report"]
            .with_user(user)
            .create({"as_of": "2026-01-31"})
        )
        report.action_compute()
        line = report.line_ids.filtered(lambda line: line.project_id == self.project)
        self.assertEqual(
            (line.cost_to_date, line.billed_to_date, line.under_billing),
            (27000.00, 10000.00, 20000.00),
        )

    def _report(self, as_of):
        report = self.env["construction.wip.report"].create({"as_of": as_of})
        report.action_compute()
        return report

    def _booked(self, move):
        """{account: balance} of the test project's lines of an entry."""
        balances = {}
        for line in move.line_ids.filtered(lambda ml: self.project.name in ml.name):
            balances[line.account_id] = (
                balances.get(line.account_id, 0.0) + line.balance
            )
        return balances

    def test_book_under_and_over_billing(self):
        asset, liability = self.company._construction_wip_accounts()
        revenue = self.contract.revenue_account_id
        self.assertEqual(
            (asset.account_type, liability.account_type),
            ("asset_current", "liability_current"),
        )
        # January, before billing: 30,000.00 earned, not billed.
        report = self._report("2026-01-31")
        action = report.line_ids.filtered(
            lambda line: line.project_id == self.project
        ).action_post_adjustment()
        move = self.env["account.move"].browse(action["res_id"])
        self.assertEqual(
            (move.state, str(move.date), move.construction_wip_date.isoformat()),
            ("posted", "2026-01-31", "2026-01-31"),
        )
        self.assertEqual(self._booked(move), {asset: 30000.00, revenue: -30000.00})
        reversal = move.reversal_move_ids
        self.assertEqual((reversal.state, str(reversal.date)), ("posted", "2026-02-01"))
        self.assertEqual(self._booked(reversal), {asset: -30000.00, revenue: 30000.00})
        # One adjustment per date.
        with self.assertRaisesMsg(UserError, "already booked"):
            self._report("2026-01-31").action_post_adjustment()
        # February, billed 43,000.00 for 30,000.00 earned: 13,000.00 over billed.
        for period_to, progress in (
            ("2026-01-31", {self.sov1: (10000.0, 0.0), self.sov2: (5000.0, 0.0)}),
            ("2026-02-28", {self.sov1: (20000.0, 0.0), self.sov3: (0.0, 8000.0)}),
        ):
            app = self._new_application(period_to)
            self._enter(app, progress)
            self._certify(app)
        report = self._report("2026-02-28")
        line = report.line_ids.filtered(lambda line: line.project_id == self.project)
        self.assertEqual(line.over_billing, 13000.00)
        move = self.env["account.move"].browse(line.action_post_adjustment()["res_id"])
        self.assertEqual(self._booked(move), {revenue: 13000.00, liability: -13000.00})

    def test_book_adjustment_refused(self):
        report = self._report("2026-01-31")
        user = new_test_user(
            self.env,
            login="test_wip_no_accounting",
            groups="construction_connector_base.group_construction_user",
        )
        with self.assertRaisesMsg(UserError, "Only accounting users"):
            report.with_user(user).action_post_adjustment()
        with self.assertRaisesMsg(UserError, "Nothing to book"):
            report._post_adjustment(report.line_ids.browse())

    def test_other_company_sees_nothing(self):
        """A user of another company gets no line of this company's projects, even
        when it names this company on the schedule."""
        other = self.env["res.company"].create({"name": "Other WIP GC"})
        user = new_test_user(
            self.env,
            login="other_wip_user",
            groups="construction_connector_base.group_construction_user",
            company_id=other.id,
            company_ids=[Command.set(other.ids)],
        )
        Report = self.env["construction.wip.report"].with_user(user)
        with self.assertRaisesMsg(UserError, "no active prime contract"):
            Report.create({"as_of": "2026-01-31"}).action_compute()
        with self.assertRaises(AccessError):
            Report.create(
                {"as_of": "2026-01-31", "company_id": self.company.id}
            ).action_compute()
        self.assertFalse(
            self.env["construction.wip.report.line"].search(
                [("report_id.create_uid", "=", user.id)]
            )
        )
