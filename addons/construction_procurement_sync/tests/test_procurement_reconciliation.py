from odoo.tests import tagged

from odoo.addons.construction_connector_base.tests.common_reconciliation import (
    ReconciliationCommon,
)

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestProcurementReconciliation(ProcurementCommon, ReconciliationCommon):
    def test_committed_reconciled(self):
        order = self._create_order(
            [
                (self.cement, 50, 100.0, self.cc_concrete, self.material),
                (self.rebar, 10, 30.5, self.cc_concrete, self.material),
            ]
        )
        order.button_confirm()
        draft = self._create_order([(self.cement, 1, 999.0, self.cc_forming, None)])
        figures = {
            (self.cc_concrete, "budget"): 100000.00,
            (self.cc_forming, "budget"): 40000.00,
            (self.cc_steel, "budget"): 250000.00,
            (self.cc_concrete, "committed"): 5200.00,  # Odoo 5,305.00
            (self.cc_forming, "committed"): 999.00,  # only a draft order in Odoo
        }
        self._push(figures)
        run = self.Run._reconcile(self.backend)
        self.assertEqual(run.state, "done")
        self.assertEqual(
            self._mismatches(),
            {
                (self.cc_concrete, "committed"): (5305.0, 5200.0, 105.0),
                (self.cc_forming, "committed"): (0.0, 999.0, -999.0),
            },
        )
        mismatch = self.Mismatch.search(
            [("cost_code_id", "=", self.cc_concrete.id), ("state", "=", "open")]
        )
        action = mismatch.action_view_odoo_records()
        self.assertEqual(
            self.env[action["res_model"]].search(action["domain"]), order.order_line
        )

        # The draft order is confirmed and the platform corrects the concrete total.
        draft.button_confirm()
        figures[(self.cc_concrete, "committed")] = 5305.00
        self._push(figures, as_of="2026-12-02")
        run = self.Run._reconcile(self.backend)
        self.assertEqual((run.closed_count, run.open_count), (2, 0))
        self.assertEqual(self._mismatches(), {})
