from odoo.tests import tagged

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
)

from .common_billing import BillingCommon


@tagged("post_install", "-at_install")
class TestBillingMonitor(BillingCommon):
    """Invoice posting exceptions on the integration overview."""

    def _tiles(self):
        tiles = self.env["construction.monitor.tile"]._overview_tiles()
        return {tile["key"]: tile for tile in tiles}

    def test_invoice_exceptions(self):
        erp = make_backend(
            self.env,
            name="Owner Portal",
            outbound_url="http://127.0.0.1:9/invoices",
            outbound_event_types="billing.invoice_posted",
        )
        Outbox = self.env["construction.outbox.message"]
        app = self._new_application("2026-01-31")
        self._enter(app, {self.sov1: (10000.0, 0.0)})
        invoice = self._certify(app, post=False)
        self.assertEqual(invoice.state, "draft")
        tiles = self._tiles()
        drafts = tiles["billing_draft_invoices"]
        self.assertEqual(
            (drafts["count"], drafts["severity"], drafts["attention"]),
            (1, "warning", True),
        )
        self.assertEqual(
            self.env["construction.pay.application"].search(drafts["domain"]), app
        )
        self.assertEqual(tiles["billing_invoice_failed"]["count"], 0)

        invoice.action_post()
        self.assertEqual(app.state, "invoiced")
        message = Outbox.search([("backend_id", "=", erp.id)])
        self.assertEqual(message.event_type, "billing.invoice_posted")
        self.assertEqual(message.project_id, self.project)
        message.write({"state": "dead"})
        tiles = self._tiles()
        self.assertEqual(tiles["billing_draft_invoices"]["count"], 0)
        failed = tiles["billing_invoice_failed"]
        self.assertEqual(
            (failed["count"], failed["detail"], failed["attention"]),
            (1, "0 failed, 1 dead", True),
        )
        self.assertEqual(Outbox.search(failed["domain"]), message)
