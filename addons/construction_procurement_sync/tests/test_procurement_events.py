from datetime import date
from unittest.mock import patch

from odoo.tests import new_test_user, tagged

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
    run_pending_jobs,
)

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestProcurementEvents(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(
            cls.env, name="Test Supplier Portal", kind="supplier_portal"
        )
        Mapping = cls.env["construction.mapping"]
        Mapping.create(
            {
                "backend_id": cls.backend.id,
                "kind": "project",
                "external_code": "PRJ-1",
                "target_ref": f"project.project,{cls.project.id}",
            }
        )
        Mapping.create(
            {
                "backend_id": cls.backend.id,
                "kind": "cost_code",
                "external_code": "03300",
                "target_ref": f"account.analytic.account,{cls.cc_concrete.id}",
            }
        )
        cls.Event = cls.env["construction.event"].with_user(cls.backend.user_id)
        cls.order = cls._create_order(
            [(cls.cement, 10.0, 50.0, cls.cc_concrete, cls.material)]
        )
        cls.order.button_confirm()
        cls.pol = cls.order.order_line

    def _send(self, event_type, key, payload):
        event, _created = self.Event._receive(self.backend, event_type, key, payload)
        run_pending_jobs(self.env)
        event.invalidate_recordset()
        return event.with_env(self.env)

    # ---- purchase.acknowledgement ----

    def _ack(self, version, status="accepted", order=None, lines=None, **extra):
        payload = {
            "order": order or self.order.name,
            "status": status,
            "version": version,
        }
        if lines is not None:
            payload["lines"] = lines
        payload.update(extra)
        return payload

    def test_acknowledgement(self):
        event = self._send(
            "purchase.acknowledgement", "ack-1", self._ack(1, supplier_ref="SO-77")
        )
        self.assertEqual(event.state, "done")
        self.assertEqual(self.order.construction_supplier_state, "accepted")
        self.assertEqual(self.order.partner_ref, "SO-77")
        # The same acknowledgement again (another key): nothing changes twice.
        again = self._send(
            "purchase.acknowledgement", "ack-1b", self._ack(1, supplier_ref="SO-77")
        )
        self.assertEqual(again.state, "done")
        # The supplier can only ship 8, later.
        changed = self._send(
            "purchase.acknowledgement",
            "ack-3",
            self._ack(
                3,
                status="accepted",
                lines=[
                    {
                        "line_id": self.pol.id,
                        "quantity": 8,
                        "date_planned": "2026-04-01",
                    }
                ],
            ),
        )
        self.assertEqual(changed.state, "done")
        self.assertEqual(self.order.construction_supplier_state, "changed")
        self.assertEqual(self.pol.product_qty, 8.0)
        self.assertEqual(str(self.pol.date_planned.date()), "2026-04-01")
        self.assertEqual(self._budget_amounts(self.line_concrete), (400.0, 0.0))
        # An older acknowledgement arriving late is superseded.
        late = self._send(
            "purchase.acknowledgement", "ack-2", self._ack(2, status="rejected")
        )
        self.assertEqual(late.state, "superseded")
        self.assertEqual(self.order.construction_supplier_state, "changed")

    def test_acknowledgement_bad_references(self):
        unknown = self._send(
            "purchase.acknowledgement", "ack-x", self._ack(1, order="P-NOPE")
        )
        self.assertEqual(unknown.state, "parked")
        self.assertIn("P-NOPE", unknown.last_error)
        line = self._send(
            "purchase.acknowledgement",
            "ack-l",
            self._ack(1, lines=[{"line_id": 999999999, "quantity": 1}]),
        )
        self.assertEqual(line.state, "parked")
        cancelled = self._create_order(
            [(self.cement, 1.0, 50.0, self.cc_concrete, self.material)]
        )
        cancelled.button_confirm()
        cancelled.button_cancel()
        failed = self._send(
            "purchase.acknowledgement", "ack-c", self._ack(1, order=cancelled.name)
        )
        self.assertEqual(failed.state, "failed")
        self.assertIn("cancelled", failed.last_error)

    # ---- delivery.notice ----

    def _notice(self, external_id, version, status, qty, line=None):
        return {
            "external_id": external_id,
            "order": self.order.name,
            "status": status,
            "version": version,
            "lines": [{"line_id": (line or self.pol.id), "quantity": qty}],
        }

    def test_delivery_notice_partial_then_rest(self):
        shipped = self._send(
            "delivery.notice", "dn-1", self._notice("ASN-1", 1, "shipped", 6)
        )
        self.assertEqual(shipped.state, "done")
        self.assertEqual(self.pol.qty_received, 0.0)
        delivered = self._send(
            "delivery.notice", "dn-2", self._notice("ASN-1", 2, "delivered", 6)
        )
        self.assertEqual(delivered.state, "done")
        self.assertEqual(self.pol.qty_received, 6.0)
        done = self.order.picking_ids.filtered(lambda p: p.state == "done")
        backorder = self.order.picking_ids.filtered(lambda p: p.state != "done")
        self.assertEqual(len(done), 1)
        self.assertEqual(len(backorder), 1)
        self.assertEqual(backorder.move_ids.product_uom_qty, 4.0)
        # Receiving does not move the commitment.
        self.assertEqual(self._budget_amounts(self.line_concrete), (500.0, 0.0))
        # The same notice again, and an older one late: no second receipt.
        again = self._send(
            "delivery.notice", "dn-2b", self._notice("ASN-1", 2, "delivered", 6)
        )
        self.assertEqual(again.state, "done")
        late = self._send(
            "delivery.notice", "dn-1b", self._notice("ASN-1", 1, "shipped", 6)
        )
        self.assertEqual(late.state, "superseded")
        self.assertEqual(self.pol.qty_received, 6.0)
        # Too much on the rest is refused.
        over = self._send(
            "delivery.notice", "dn-3", self._notice("ASN-2", 1, "delivered", 5)
        )
        self.assertEqual(over.state, "failed")
        self.assertIn("more than ordered", over.last_error)
        self.assertEqual(self.pol.qty_received, 6.0)
        rest = self._send(
            "delivery.notice", "dn-4", self._notice("ASN-3", 1, "delivered", 4)
        )
        self.assertEqual(rest.state, "done")
        self.assertEqual(self.pol.qty_received, 10.0)
        self.assertFalse(self.order.picking_ids.filtered(lambda p: p.state != "done"))

    def test_delivery_notice_unknown_line_is_parked(self):
        event = self._send(
            "delivery.notice",
            "dn-x",
            self._notice("ASN-9", 1, "delivered", 1, line=999999999),
        )
        self.assertEqual(event.state, "parked")
        self.assertEqual(self.pol.qty_received, 0.0)

    # ---- supplier_invoice.status ----

    def _invoice(self, version, status="submitted", qty=5, price=50.0, **extra):
        payload = {
            "external_id": "INV-1",
            "order": self.order.name,
            "status": status,
            "version": version,
            "number": "SUP-INV-001",
            "invoice_date": "2026-02-01",
            "lines": [{"line_id": self.pol.id, "quantity": qty, "price_unit": price}],
        }
        payload.update(extra)
        return payload

    def test_supplier_invoice(self):
        event = self._send("supplier_invoice.status", "si-1", self._invoice(1))
        self.assertEqual(event.state, "done")
        bill = event._result_records()
        self.assertEqual(bill.state, "draft")
        self.assertEqual(bill.move_type, "in_invoice")
        self.assertEqual(bill.ref, "SUP-INV-001")
        # No payment terms on the order: due on the supplier's invoice date.
        self.assertEqual(str(bill.invoice_date_due), "2026-02-01")
        self.assertEqual(bill.invoice_line_ids.purchase_line_id, self.pol)
        self.assertEqual(bill.invoice_line_ids.quantity, 5.0)
        self.assertEqual(bill.amount_untaxed, 250.0)
        self.assertEqual(bill.construction_supplier_status, "submitted")
        # Billed before received: a match exception.
        self.assertEqual(bill.construction_match_state, "exception")
        # A new version updates the same draft bill.
        self._send("supplier_invoice.status", "si-2", self._invoice(2, qty=6))
        self.assertEqual(bill.invoice_line_ids.quantity, 6.0)
        self.assertEqual(bill.amount_untaxed, 300.0)
        self.assertEqual(
            self.env["account.move"].search_count([("ref", "=", "SUP-INV-001")]), 1
        )
        late = self._send("supplier_invoice.status", "si-1b", self._invoice(1, qty=1))
        self.assertEqual(late.state, "superseded")
        self.assertEqual(bill.invoice_line_ids.quantity, 6.0)
        disputed = self._send(
            "supplier_invoice.status", "si-3", self._invoice(3, status="disputed")
        )
        self.assertEqual(disputed.state, "done")
        self.assertEqual(bill.construction_supplier_status, "disputed")
        withdrawn = self._send(
            "supplier_invoice.status", "si-4", self._invoice(4, status="withdrawn")
        )
        self.assertEqual(withdrawn.state, "done")
        self.assertEqual(bill.state, "cancel")
        # Nothing was committed or spent by the draft bill.
        self.assertEqual(self._budget_amounts(self.line_concrete), (500.0, 0.0))

    def test_staged_supplier_invoice_accepted_with_accounting_date(self):
        self.backend.approval_policy_ids = [
            (0, 0, {"event_type": "supplier_invoice.status", "policy": "stage"})
        ]
        approver = new_test_user(
            self.env,
            login="si_accounting_approver",
            groups="construction_connector_base.group_construction_accounting_approver",
        )
        event = self._send("supplier_invoice.status", "si-1", self._invoice(1))
        self.assertEqual(event.state, "awaiting_approval")
        self.assertFalse(event._result_records())
        event.with_user(approver)._accept("February cut-off", date(2026, 3, 2))
        run_pending_jobs(self.env)
        event.invalidate_recordset()
        self.assertEqual(event.state, "done", event.last_error)
        bill = event._result_records()
        self.assertEqual(bill.state, "draft")
        self.assertEqual(bill.invoice_date, date(2026, 2, 1))
        self.assertEqual(bill.date, date(2026, 3, 2))
        self.assertEqual(bill.amount_untaxed, 250.0)

    def test_supplier_invoice_bad_input(self):
        status_first = self._send(
            "supplier_invoice.status", "si-p", self._invoice(1, status="paid")
        )
        self.assertEqual(status_first.state, "parked")
        unknown = self._send(
            "supplier_invoice.status",
            "si-u",
            self._invoice(1, external_id="INV-U", order="P-NOPE"),
        )
        self.assertEqual(unknown.state, "parked")
        currency = self.env["res.currency"].search(
            [("name", "=", "CHF"), ("active", "in", (True, False))], limit=1
        )
        currency.active = True
        currency.rate_ids.unlink()
        no_rate = self._send(
            "supplier_invoice.status",
            "si-c",
            self._invoice(1, external_id="INV-C", currency="CHF"),
        )
        self.assertEqual(no_rate.state, "failed")
        self.assertIn("No exchange rate for CHF", no_rate.last_error)
        self.assertFalse(self.env["account.move"].search([("ref", "=", "SUP-INV-001")]))

    # ---- material_request.upsert ----

    def _request(self, version, **extra):
        payload = {
            "external_id": "REQ-1",
            "project": "PRJ-1",
            "version": version,
            "date_needed": "2026-03-15",
            "lines": [
                {
                    "cost_code": "03300",
                    "cost_type": "material",
                    "product": "T-CEMENT",
                    "quantity": 40,
                }
            ],
        }
        payload.update(extra)
        return payload

    def test_material_request_upsert(self):
        event = self._send("material_request.upsert", "mr-1", self._request(1))
        self.assertEqual(event.state, "done")
        request = event._result_records()
        self.assertEqual(request.source, "external")
        self.assertEqual(request.origin, "REQ-1")
        self.assertEqual(request.project_id, self.project)
        self.assertEqual(request.state, "draft")
        self.assertEqual(request.line_ids.product_id, self.cement)
        self.assertEqual(request.line_ids.product_qty, 40.0)
        self.assertEqual(request.line_ids.cost_code_id, self.cc_concrete)
        self.assertEqual(str(request.line_ids.date_needed), "2026-03-15")
        update = self._send(
            "material_request.upsert",
            "mr-2",
            self._request(
                2,
                submit=True,
                lines=[
                    {"cost_code": "03300", "product": "T-CEMENT", "quantity": 50},
                    {
                        "cost_code": "03300",
                        "description": "Curing blankets",
                        "quantity": 4,
                    },
                ],
            ),
        )
        self.assertEqual(update.state, "done")
        self.assertEqual(update._result_records(), request)
        self.assertEqual(request.state, "to_approve")
        self.assertEqual(request.line_ids.mapped("product_qty"), [50.0, 4.0])
        late = self._send("material_request.upsert", "mr-1b", self._request(1))
        self.assertEqual(late.state, "superseded")
        request.action_approve()
        locked = self._send("material_request.upsert", "mr-3", self._request(3))
        self.assertEqual(locked.state, "failed")
        self.assertIn("already approved", locked.last_error)

    def test_material_request_bad_references(self):
        unmapped = self._send(
            "material_request.upsert",
            "mr-u",
            self._request(
                1, lines=[{"cost_code": "99999", "product": "T-CEMENT", "quantity": 1}]
            ),
        )
        self.assertEqual(unmapped.state, "failed")
        self.assertIn("unmapped cost code 99999", unmapped.last_error)
        unknown = self._send(
            "material_request.upsert",
            "mr-p",
            self._request(
                1,
                external_id="REQ-2",
                lines=[{"cost_code": "03300", "product": "NOPE", "quantity": 1}],
            ),
        )
        self.assertEqual(unknown.state, "failed")
        self.assertIn("Unknown product NOPE", unknown.last_error)
        self.assertFalse(
            self.env["construction.material.request"].search(
                [("origin", "in", ("REQ-1", "REQ-2"))]
            )
        )

    # ---- outbound ----

    def test_outbound_events(self):
        Event = type(self.env["construction.event"])
        published = []

        def _publish(event_self, backend, event_type, record, payload):
            published.append((event_type, record, payload))
            return False

        with patch.object(Event, "_publish", _publish):
            order = self._create_order(
                [(self.cement, 3.0, 50.0, self.cc_concrete, self.material)]
            )
            order.button_confirm()
            order.order_line.product_qty = 4.0
            order.button_cancel()
        self.assertEqual(
            [(t, r) for t, r, _p in published],
            [
                ("purchase_order.confirmed", order),
                ("purchase_order.changed", order),
                ("purchase_order.cancelled", order),
            ],
        )
        payload = published[1][2]
        self.assertEqual(payload["order"], order.name)
        self.assertEqual(payload["lines"][0]["line_id"], order.order_line.id)
        self.assertEqual(payload["lines"][0]["quantity"], 4.0)
        self.assertEqual(payload["lines"][0]["cost_code"], "T03-300")

    # ---- subcontract_invoice.upsert ----

    def test_subcontract_invoice_upsert(self):
        sub = self._create_order(
            [(self.erection, 1.0, 20000.0, self.cc_steel, self.subcontract)],
            partner=self.steel_vendor,
            construction_is_subcontract=True,
            construction_retainage_percent=10.0,
        )
        sub.button_confirm()
        line_id = sub.order_line.id

        def requisition(version, work, **extra):
            payload = {
                "external_id": "REQ-SUB-1",
                "order": sub.name,
                "version": version,
                "period_start": "2026-03-01",
                "period_end": "2026-03-31",
                "lines": [{"line_id": line_id, "work_this_period": work}],
            }
            payload.update(extra)
            return payload

        # An impossible date is refused on receipt (422), never a crashed job.
        errors = self.env["construction.event"]._validate_payload(
            "subcontract_invoice.upsert",
            requisition(1, 4000, period_start="2026-13-45"),
        )
        self.assertEqual(
            errors,
            [{"pointer": "/period_start", "detail": "'2026-13-45' is not a 'date'"}],
        )
        first = self._send("subcontract_invoice.upsert", "si-1", requisition(1, 4000))
        self.assertEqual(first.state, "done")
        app = first._result_records()
        self.assertEqual(app.amount_this_period, 4000.0)
        dup = self._send("subcontract_invoice.upsert", "si-1", requisition(1, 4000))
        self.assertEqual(
            self.env["construction.subcontract.pay.application"].search_count(
                [("order_id", "=", sub.id)]
            ),
            1,
        )
        self.assertEqual(dup, first)
        second = self._send(
            "subcontract_invoice.upsert", "si-2", requisition(2, 5000, submit=True)
        )
        self.assertEqual(second.state, "done")
        self.assertEqual(app.state, "under_review")
        self.assertEqual(app.amount_this_period, 5000.0)
        late = self._send("subcontract_invoice.upsert", "si-1b", requisition(1, 100))
        self.assertEqual(late.state, "superseded")
        self.assertEqual(app.amount_this_period, 5000.0)
        too_much = self._send(
            "subcontract_invoice.upsert", "si-3", requisition(3, 25000, submit=True)
        )
        self.assertEqual(too_much.state, "failed")
        self.assertIn("above the scheduled value", too_much.last_error)
        self.assertEqual(app.amount_this_period, 5000.0)
        # Approved, then a retainage release per line from the portal.
        app.action_approve()
        app.bill_id.action_post()
        self.assertEqual(sub.construction_retainage_balance, 500.0)

        def release(version, amount):
            return {
                "external_id": "REQ-SUB-2",
                "order": sub.name,
                "version": version,
                "period_start": "2026-04-01",
                "period_end": "2026-04-30",
                "application_type": "retainage",
                "submit": True,
                "lines": [{"line_id": line_id, "retainage_release": amount}],
            }

        over = self._send("subcontract_invoice.upsert", "si-4", release(1, 600))
        self.assertEqual(over.state, "failed")
        self.assertRegex(over.last_error, "holds .*500.00 of retainage")
        Apps = self.env["construction.subcontract.pay.application"]
        self.assertEqual(Apps.search_count([("order_id", "=", sub.id)]), 1)
        ok = self._send("subcontract_invoice.upsert", "si-5", release(2, 300))
        self.assertEqual(ok.state, "done")
        released = ok._result_records()
        self.assertEqual(released.state, "under_review")
        self.assertEqual(released.retainage_release_amount, 300.0)
        self.assertEqual(released.amount_due, 300.0)
        # A newer version releases 200 as a total, no longer per line: the line
        # figures of version 2 do not linger.
        total = dict(release(3, 0), retainage_release=200.0)
        total["lines"] = [{"line_id": line_id}]
        changed = self._send("subcontract_invoice.upsert", "si-6", total)
        self.assertEqual(changed.state, "done", changed.last_error)
        self.assertEqual(released.line_ids.retainage_release, 0.0)
        self.assertEqual(released.retainage_release_amount, 200.0)
        self.assertEqual(released.amount_due, 200.0)
