"""The events of one API batch are processed by one job, a savepoint per event."""

import json
from unittest.mock import patch

from odoo.tests import HttpCase, tagged

from ..tools.exceptions import PermanentEventError, RetryableJobError
from .common_integration import cost_code_payload, make_backend, run_pending_jobs

API = "/api/construction/v1"


@tagged("post_install", "-at_install")
class TestIntegrationBatchJob(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(cls.env, name="Batch PM")
        cls.key = cls.backend._generate_api_key()

    def _post_batch(self, events):
        response = self.url_open(
            f"{API}/events/cost_code.upsert/batch",
            data=json.dumps({"events": events}),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.key}",
            },
        )
        self.env.invalidate_all()
        self.assertEqual(response.status_code, 207, response.text)
        return response.json()["items"]

    def _events(self):
        return self.env["construction.event"].search(
            [("backend_id", "=", self.backend.id)], order="id"
        )

    def _batch_jobs(self):
        return self._events().job_id.filtered(
            lambda job: job.method_name == "_process_batch"
        )

    def _failing(self, key, error):
        """Patch the cost code handler so that the event ``key`` raises ``error``
        the first time it is applied."""
        Event = type(self.env["construction.event"])
        original = Event._handle_cost_code_upsert
        calls = []

        def handler(event):
            calls.append(event.idempotency_key)
            if event.idempotency_key == key and calls.count(key) == 1:
                raise error
            return original(event)

        return patch.object(Event, "_handle_cost_code_upsert", handler), calls

    def test_one_job_per_batch_bad_item_does_not_sink_others(self):
        items = self._post_batch(
            [
                {"event_id": "j-1", "payload": cost_code_payload("e-1", "03-381")},
                {"event_id": "j-2", "payload": cost_code_payload("e-2", "03-382")},
                {"event_id": "j-3", "payload": cost_code_payload("e-3", "03-383")},
            ]
        )
        self.assertEqual([item["status"] for item in items], [202, 202, 202])
        self.assertEqual([item["event"]["state"] for item in items], ["queued"] * 3)
        events = self._events()
        self.assertEqual(len(events), 3)
        job = self._batch_jobs()
        self.assertEqual(len(job), 1)
        self.assertEqual(events.job_id, job)
        # a permanent failure of the second item only
        failing, calls = self._failing("j-2", PermanentEventError("unmapped unit"))
        with failing:
            self.assertEqual(run_pending_jobs(self.env), ["done"])
        self.assertEqual(calls, ["j-1", "j-2", "j-3"])
        self.assertEqual(events.mapped("state"), ["done", "failed", "done"])
        self.assertEqual(events[1].last_error, "unmapped unit")
        accounts = self.env["account.analytic.account"].search(
            [("code", "in", ("03-381", "03-382", "03-383"))]
        )
        self.assertEqual(sorted(accounts.mapped("code")), ["03-381", "03-383"])
        # the same batch again: nothing new, no new job
        again = self._post_batch(
            [
                {"event_id": "j-1", "payload": cost_code_payload("e-1", "03-381")},
                {"event_id": "j-3", "payload": cost_code_payload("e-3", "03-383")},
            ]
        )
        self.assertEqual([item["status"] for item in again], [200, 200])
        self.assertEqual([item["event"]["state"] for item in again], ["done"] * 2)
        self.assertEqual(len(self._batch_jobs()), 1)
        # the batch job requeued by hand: done events are left alone, the failed
        # one is tried again (like a replay)
        job.sudo().write({"state": "pending"})
        self.assertEqual(run_pending_jobs(self.env), ["done"])
        self.assertEqual(events.mapped("state"), ["done", "done", "done"])
        self.assertEqual(events.mapped("attempts"), [1, 2, 1])
        self.assertEqual(
            self.env["account.analytic.account"].search_count(
                [("code", "in", ("03-381", "03-382", "03-383"))]
            ),
            3,
        )

    def test_transient_error_requeues_only_that_event(self):
        flaky, calls = self._failing(
            "t-2", RetryableJobError("locked elsewhere", seconds=1)
        )
        items = self._post_batch(
            [
                {"event_id": "t-1", "payload": cost_code_payload("f-1", "03-391")},
                {"event_id": "t-2", "payload": cost_code_payload("f-2", "03-392")},
            ]
        )
        self.assertEqual([item["status"] for item in items], [202, 202])
        batch_job = self._batch_jobs()
        with flaky:
            self.assertEqual(run_pending_jobs(self.env), ["done", "done"])
        first, second = self._events()
        self.assertEqual((first.state, second.state), ("done", "done"))
        self.assertEqual(first.job_id, batch_job)
        self.assertNotEqual(second.job_id, batch_job)
        self.assertEqual(second.job_id.method_name, "_process")
        self.assertEqual(second.attempts, 2)
        self.assertEqual(calls, ["t-1", "t-2", "t-2"])
        self.assertEqual(
            self.env["account.analytic.account"].search_count(
                [("code", "in", ("03-391", "03-392"))]
            ),
            2,
        )

    def test_crashing_event_does_not_sink_the_batch(self):
        """A bug in one event's handler (not a permanent or transient error):
        the others are applied, the crashing one gets a job of its own."""
        crash, calls = self._failing("c-2", KeyError("code"))
        items = self._post_batch(
            [
                {"event_id": "c-1", "payload": cost_code_payload("k-1", "03-395")},
                {"event_id": "c-2", "payload": cost_code_payload("k-2", "03-396")},
                {"event_id": "c-3", "payload": cost_code_payload("k-3", "03-397")},
            ]
        )
        self.assertEqual([item["status"] for item in items], [202, 202, 202])
        batch_job = self._batch_jobs()
        with crash:
            self.assertEqual(run_pending_jobs(self.env), ["done", "done"])
        first, second, third = self._events()
        self.assertEqual(
            (first.state, second.state, third.state), ("done", "done", "done")
        )
        self.assertEqual((first.job_id, third.job_id), (batch_job, batch_job))
        self.assertEqual(second.job_id.method_name, "_process")
        self.assertEqual(second.attempts, 2)
        self.assertEqual(calls, ["c-1", "c-2", "c-3", "c-2"])
        self.assertEqual(
            self.env["account.analytic.account"].search_count(
                [("code", "in", ("03-395", "03-396", "03-397"))]
            ),
            3,
        )
