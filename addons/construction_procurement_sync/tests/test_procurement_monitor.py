from odoo.tests import tagged

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
)

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestProcurementMonitor(ProcurementCommon):
    """Delayed purchase-order transmissions on the integration overview."""

    def _delayed_tile(self):
        tiles = self.env["construction.monitor.tile"]._overview_tiles()
        return next(tile for tile in tiles if tile["key"] == "po_delayed")

    def test_delayed_purchase_order_transmissions(self):
        portal = make_backend(
            self.env,
            name="Supplier Portal",
            outbound_url="http://127.0.0.1:9/po",
            outbound_event_types="purchase_order.confirmed,purchase_order.cancelled",
        )
        Outbox = self.env["construction.outbox.message"]
        first = self._create_order(
            [(self.cement, 10.0, 50.0, self.cc_concrete, self.material)]
        )
        second = self._create_order(
            [(self.cement, 5.0, 50.0, self.cc_concrete, self.material)]
        )
        (first | second).button_confirm()
        messages = Outbox.search([("backend_id", "=", portal.id)], order="id")
        self.assertEqual(messages.mapped("res_id"), [first.id, second.id])
        self.assertEqual(messages.mapped("project_id"), self.project)
        self.assertEqual(set(messages.mapped("state")), {"pending"})
        messages[1].write({"state": "failed"})

        params = self.env["ir.config_parameter"].sudo()
        params.set_param("construction_connector_base.monitor_po_delay_minutes", "30")
        tile = self._delayed_tile()
        self.assertEqual(
            (tile["count"], tile["detail"], tile["attention"]),
            (0, "all delivered within 30 min", False),
        )
        # with no delay allowed every undelivered order is late
        params.set_param("construction_connector_base.monitor_po_delay_minutes", "0")
        tile = self._delayed_tile()
        self.assertEqual(
            (tile["count"], tile["detail"], tile["severity"], tile["attention"]),
            (2, "1 pending, 1 failed", "danger", True),
        )
        self.assertEqual(Outbox.search(tile["domain"]), messages)
        # delivered orders are not late
        messages.write({"state": "done"})
        self.assertEqual(self._delayed_tile()["count"], 0)

    def test_delay_setting(self):
        settings = self.env["res.config.settings"].create(
            {"construction_po_delay_minutes": 45}
        )
        settings.execute()
        self.assertEqual(
            self.env["construction.monitor.tile"]._param_int(
                "monitor_po_delay_minutes", 30
            ),
            45,
        )
