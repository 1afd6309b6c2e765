"""The new change orders of one API batch are created by one ``create`` in the
batch job; what does not qualify, or a failing batch create, goes one by one."""

from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
    run_pending_jobs,
)

from .common import ChangeOrderCommon
from .test_change_order_integration import LABOR_LINES, co_payload


@tagged("post_install", "-at_install")
class TestChangeOrderBatchJob(ChangeOrderCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(cls.env, name="Batch CO Platform")
        cls._create_mappings(cls.backend)
        cls.Event = cls.env["construction.event"].with_user(cls.backend.user_id)

    def _batch(self, items):
        events = self.Event.browse()
        for key, payload in items:
            event, _created = self.Event._receive(
                self.backend,
                "change_order.upsert",
                key,
                payload,
                batch_ref="b-co",
                enqueue=False,
            )
            events |= event
        events._enqueue_batch("b-co")
        self.assertEqual(len(events.job_id), 1)
        return events

    def _run(self):
        """Run the jobs; the sizes of every change order ``create`` call."""
        Order = type(self.env["construction.change.order"])
        original = Order.create
        sizes = []

        def create(records, vals_list):
            sizes.append(len(vals_list) if isinstance(vals_list, list) else 1)
            return original(records, vals_list)

        with patch.object(Order, "create", create):
            run_pending_jobs(self.env)
        self.env.invalidate_all()
        return sizes

    def _bound(self, external_id):
        return self.env["construction.binding"]._find(
            self.backend, "construction.change.order", external_id
        )

    def _items(self):
        return [
            ("b-1", co_payload("pm-b-1")),
            ("b-2", co_payload("pm-b-2", title="Second", lines=LABOR_LINES)),
            # unmapped cost code: fails on its own
            (
                "b-3",
                co_payload(
                    "pm-b-3",
                    lines=[dict(LABOR_LINES[0], cost_code="99-999")],
                ),
            ),
            ("b-4", co_payload("pm-b-4", title="Fourth")),
            # a status: created one by one (then submitted)
            ("b-5", co_payload("pm-b-5", status="pending_pricing")),
        ]

    def _assert_outcome(self, events):
        self.assertEqual(
            events.mapped("state"), ["done", "done", "failed", "done", "done"]
        )
        self.assertIn("99-999", events[2].last_error)
        orders = [self._bound(f"pm-b-{i}") for i in (1, 2, 4, 5)]
        self.assertFalse(self._bound("pm-b-3"))
        # numbered in event order, amounts as one by one
        self.assertEqual(
            [co.name for co in orders], ["PCCO-001", "PCCO-002", "PCCO-003", "PCCO-004"]
        )
        self.assertEqual(
            [co.amount_cost for co in orders], [1500.0, 500.0, 1500.0, 1500.0]
        )
        self.assertEqual(
            [co.amount_price for co in orders], [1600.0, 500.0, 1600.0, 1600.0]
        )
        self.assertEqual(
            [co.stage_kind for co in orders[:3]], ["draft", "draft", "draft"]
        )
        self.assertEqual(orders[3].status_id.code, "pending_pricing")
        self.assertEqual(orders[1].title, "Second")
        for event, order in zip(events[:2] + events[3:], orders, strict=True):
            self.assertEqual(event.result_model, "construction.change.order")
            self.assertEqual(event.result_ids, f"[{order.id}]")
            self.assertEqual(event.attempts, 1)
            self.assertEqual(event.project_id, self.project)
            binding = self.env["construction.binding"].search(
                [
                    ("backend_id", "=", self.backend.id),
                    ("res_id", "=", order.id),
                    ("model", "=", "construction.change.order"),
                ]
            )
            self.assertEqual(binding.last_payload_hash, event.payload_hash)
            self.assertEqual(binding.last_version, 1)
        # budget columns: drafts change nothing, the pending one its cost
        self.assertEqual(self._columns(self.line_concrete)[:2], (1000.0, 0.0))
        self.assertEqual(self._columns(self.line_forming)[:2], (500.0, 0.0))
        self.assertEqual(
            [co.line_ids.budget_line_id for co in orders],
            [self.line_concrete | self.line_forming, self.line_forming]
            + [self.line_concrete | self.line_forming] * 2,
        )
        # no chatter on the created change orders (the event is the audit trail)
        self.assertFalse(
            self.env["mail.message"].search_count(
                [
                    ("model", "=", "construction.change.order"),
                    ("res_id", "in", [co.id for co in orders[:3]]),
                ]
            )
        )

    def test_new_change_orders_created_at_once(self):
        events = self._batch(self._items())
        sizes = self._run()
        # b-1, b-2 and b-4 in one create; b-3 fails alone, b-5 one by one
        self.assertEqual(sizes, [3, 1])
        self._assert_outcome(events)
        # a rerun of the batch changes nothing
        again = self._batch(
            [("b-6", co_payload("pm-b-1", version=1)), ("b-7", co_payload("pm-b-7"))]
        )
        self.assertEqual(self._run(), [1])
        self.assertEqual(again.mapped("state"), ["done", "done"])
        self.assertEqual(self._bound("pm-b-7").name, "PCCO-005")

    def test_failing_batch_create_falls_back_one_by_one(self):
        events = self._batch(self._items())
        Order = type(self.env["construction.change.order"])
        original = Order.create

        def create(records, vals_list):
            if isinstance(vals_list, list) and len(vals_list) > 1:
                # after the first row is inserted: the savepoint must undo it
                original(records, vals_list[:1])
                raise UserError(records.env._("batch refused"))
            return original(records, vals_list)

        with patch.object(Order, "create", create):
            run_pending_jobs(self.env)
        self.env.invalidate_all()
        self._assert_outcome(events)
        self.assertEqual(
            self.env["construction.change.order"].search_count(
                [("project_id", "=", self.project.id)]
            ),
            4,
        )

    def test_batch_maps_cost_codes_once(self):
        events = self._batch(
            [
                ("c-1", co_payload("pm-c-1")),
                ("c-2", co_payload("pm-c-2", lines=LABOR_LINES)),
                ("c-3", co_payload("pm-c-3", title="Third")),
            ]
        )
        self.assertEqual(self._run(), [3])
        self.assertEqual(events.mapped("state"), ["done"] * 3)
        orders = [self._bound(f"pm-c-{i}") for i in (1, 2, 3)]
        self.assertEqual([co.amount_price for co in orders], [1600.0, 500.0, 1600.0])
        self.assertEqual(
            [co.line_ids.mapped("cost_code_id") for co in orders],
            [self.cc_concrete | self.cc_forming, self.cc_forming]
            + [self.cc_concrete | self.cc_forming],
        )
        self.assertEqual(
            [co.line_ids.mapped("cost_type_id.cost_type_kind") for co in orders],
            [["material", "labor"], ["labor"], ["material", "labor"]],
        )
