from odoo.tests import tagged

from odoo.addons.construction_connector_base.tests.common_reconciliation import (
    ReconciliationCommon,
)

from .common import ChangeOrderCommon


@tagged("post_install", "-at_install")
class TestChangeOrderReconciliation(ChangeOrderCommon, ReconciliationCommon):
    def test_approved_changes_reconciled(self):
        approved = self._create_co([(self.cc_concrete, self.material, 1, 12500.0, 0.0)])
        approved.action_submit()
        approved.with_user(self.manager).action_approve()
        pending = self._create_co([(self.cc_forming, self.labor, 1, 3601.0, 0.0)])
        pending.action_submit()
        self._push(
            {
                (self.cc_concrete, "budget"): 100000.00,
                (self.cc_forming, "budget"): 40000.00,
                (self.cc_steel, "budget"): 250000.00,
                (self.cc_concrete, "approved_changes"): 12000.00,
                (self.cc_forming, "approved_changes"): 3601.00,
                (self.cc_steel, "approved_changes"): 0.00,
            }
        )
        run = self.Run._reconcile(self.backend)
        self.assertEqual(run.state, "done")
        self.assertEqual(
            self._mismatches(),
            {
                (self.cc_concrete, "approved_changes"): (12500.0, 12000.0, 500.0),
                (self.cc_forming, "approved_changes"): (0.0, 3601.0, -3601.0),
            },
        )
        mismatch = self.Mismatch.search(
            [("cost_code_id", "=", self.cc_concrete.id), ("state", "=", "open")]
        )
        action = mismatch.action_view_odoo_records()
        self.assertEqual(
            self.env[action["res_model"]].search(action["domain"]), approved
        )

        # The pending order is approved and the platform corrects its figure.
        pending.with_user(self.manager).action_approve()
        self._push(
            {
                (self.cc_concrete, "budget"): 100000.00,
                (self.cc_forming, "budget"): 40000.00,
                (self.cc_steel, "budget"): 250000.00,
                (self.cc_concrete, "approved_changes"): 12500.00,
                (self.cc_forming, "approved_changes"): 3601.00,
            },
            as_of="2026-12-02",
        )
        run = self.Run._reconcile(self.backend)
        self.assertEqual((run.closed_count, run.open_count), (2, 0))
        self.assertEqual(self._mismatches(), {})
