from odoo.tests import tagged

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
    run_pending_jobs,
)

from .common_billing import BillingCommon


@tagged("post_install", "-at_install")
class TestBillingChangeOrderApi(BillingCommon):
    """A project-management platform approves a prime change order through the
    API (it is the approver of record): the contract sum and the schedule of
    values follow, although its integration user has no right on contract
    changes of its own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(cls.env)
        for kind, code, record in (
            ("project", "PRJ-7", cls.project),
            ("partner", "OWNER-1", cls.customer),
            ("cost_code", "03-300", cls.cc_concrete),
        ):
            cls.env["construction.mapping"].create(
                {
                    "backend_id": cls.backend.id,
                    "kind": kind,
                    "external_code": code,
                    "target_ref": f"{record._name},{record.id}",
                }
            )
        cls.Event = cls.env["construction.event"].with_user(cls.backend.user_id)

    def _send(self, key, event_type, payload):
        event, _created = self.Event._receive(self.backend, event_type, key, payload)
        run_pending_jobs(self.env)
        event.invalidate_recordset()
        self.assertEqual(event.state, "done", event.last_error)
        return event

    def _status(self, key, version, status, reason=None):
        payload = {"external_id": "co-1", "version": version, "status": status}
        return self._send(key, "change_order.status", dict(payload, reason=reason))

    def test_platform_approval_changes_contract_sum_and_void_reverts_it(self):
        self.assertFalse(
            self.backend.user_id.has_group(
                "construction_connector_base.group_construction_manager"
            )
        )
        event = self._send(
            "k1",
            "change_order.upsert",
            {
                "external_id": "co-1",
                "version": 1,
                "project": "PRJ-7",
                "side": "prime",
                "title": "Thicker slab",
                "partner": "OWNER-1",
                "lines": [
                    {
                        "cost_code": "03-300",
                        "cost_type": "labor",
                        "description": "Placing",
                        "quantity": 2,
                        "unit_cost": 250.0,
                        "markup_percent": 10,
                    }
                ],
            },
        )
        order = event._result_records()
        self._status("k2", 2, "pending_in_review")
        self._status("k3", 3, "approved", "Owner signed")
        self.assertEqual(order.stage_kind, "approved")
        self.assertEqual(order.amount_price, 550.0)
        change = self.contract.change_ids
        self.assertEqual(len(change), 1)
        self.assertEqual(change.sov_line_id, self.sov1)
        self.assertEqual(change.amount, 550.0)
        self.assertEqual(self.contract.contract_sum_to_date, 100550.0)
        self._status("k4", 4, "void", "Owner withdrew")
        self.assertEqual(order.stage_kind, "void")
        self.assertEqual(
            sorted(self.contract.change_ids.mapped("amount")), [-550.0, 550.0]
        )
        self.assertEqual(self.contract.contract_sum_to_date, 100000.0)
