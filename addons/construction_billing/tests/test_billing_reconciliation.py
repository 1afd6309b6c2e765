from odoo import Command
from odoo.tests import tagged

from odoo.addons.construction_connector_base.tests.common_reconciliation import (
    ReconciliationCommon,
)

from .common_billing import BillingCommon


@tagged("post_install", "-at_install")
class TestBillingReconciliation(BillingCommon, ReconciliationCommon):
    def test_billed_and_retainage_reconciled(self):
        app1 = self._new_application("2026-01-31")
        self._enter(app1, {self.sov1: (10000.0, 0.0), self.sov2: (5000.0, 0.0)})
        self._certify(app1)
        app2 = self._new_application("2026-02-28")
        self._enter(app2, {self.sov1: (6000.0, 0.0)})
        self._certify(app2)
        draft = self._new_application("2026-03-31")
        self._enter(draft, {self.sov3: (9000.0, 0.0)})  # not invoiced: not billed
        release = self.env["construction.retainage.release"].create(
            {
                "contract_id": self.contract.id,
                "date": "2026-03-15",
                "line_ids": [
                    Command.create({"sov_line_id": self.sov1.id, "amount": 600})
                ],
            }
        )
        release.action_create_invoice().action_post()
        self.assertEqual(release.state, "invoiced")
        # What the schedule of values shows, per line.
        self.assertEqual(
            (self.sov1.billed_to_date, self.sov1.retainage_held), (16000.0, 1000.0)
        )
        self.assertEqual(
            (self.sov2.billed_to_date, self.sov2.retainage_held), (5000.0, 500.0)
        )
        figures = {
            (self.cc_concrete, "budget"): 100000.00,
            (self.cc_forming, "budget"): 40000.00,
            (self.cc_steel, "budget"): 250000.00,
            (self.cc_concrete, "billed"): 16000.00,
            (self.cc_concrete, "retainage_held"): 1600.00,  # release not booked
            (self.cc_forming, "billed"): 4000.00,
            (self.cc_forming, "retainage_held"): 500.00,
            (self.cc_steel, "billed"): 9000.00,  # Odoo's is still a draft
        }
        self._push(figures)
        run = self.Run._reconcile(self.backend)
        self.assertEqual(run.state, "done")
        self.assertEqual(
            self._mismatches(),
            {
                (self.cc_concrete, "retainage_held"): (1000.0, 1600.0, -600.0),
                (self.cc_forming, "billed"): (5000.0, 4000.0, 1000.0),
                (self.cc_steel, "billed"): (0.0, 9000.0, -9000.0),
            },
        )
        mismatch = self.Mismatch.search(
            [("cost_code_id", "=", self.cc_forming.id), ("state", "=", "open")]
        )
        action = mismatch.action_view_odoo_records()
        self.assertEqual(
            self.env[action["res_model"]].search(action["domain"]),
            self._line(app2, self.sov2),
        )

        # The platform books the release and fixes forming; app 3 is invoiced.
        self._certify(draft)
        figures[(self.cc_concrete, "retainage_held")] = 1000.00
        figures[(self.cc_forming, "billed")] = 5000.00
        figures[(self.cc_steel, "retainage_held")] = 900.00  # 10% of 9,000.00
        self._push(figures, as_of="2026-12-02")
        run = self.Run._reconcile(self.backend)
        self.assertEqual((run.closed_count, run.open_count), (3, 0))
        self.assertEqual(self._mismatches(), {})
