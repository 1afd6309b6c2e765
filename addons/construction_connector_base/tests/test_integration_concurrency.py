import threading
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from .common_integration import cost_code_payload, make_backend


@tagged("post_install", "-at_install")
class TestIntegrationConcurrency(TransactionCase):
    """Two workers deliver the same event at the same time, on real cursors.

    The setup is committed (the workers need to see it) and removed afterwards.
    """

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = make_backend(env, name="Concurrent PM")
            self.backend_id = backend.id
            self.user_id = backend.user_id.id
            self.channel_id = backend.channel_id.id
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            events = env["construction.event"].search(
                [("backend_id", "=", self.backend_id)]
            )
            jobs = (
                env["queue.job"]
                .search(
                    [("model_name", "=", "construction.event"), ("state", "!=", "done")]
                )
                .filtered(lambda job: job.records & events)
            )
            jobs.unlink()
            events.unlink()
            env["construction.backend"].browse(self.backend_id).unlink()
            env["queue.job.channel"].browse(self.channel_id).unlink()
            user = env["res.users"].browse(self.user_id)
            partner = user.partner_id
            user.unlink()
            partner.unlink()

    def _deliver(self, barrier, results, index):
        try:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, self.user_id, {})
                Event = env["construction.event"]
                backend = env["construction.backend"].browse(self.backend_id)
                # take the transaction snapshot before the twin commits
                Event.search_count([("backend_id", "=", self.backend_id)])
                barrier.wait(timeout=10)
                event, created = Event._receive(
                    backend, "cost_code.upsert", "same-key", cost_code_payload()
                )
                # the API view of the twin, invisible to our snapshot, is readable
                view = event._to_api()
                assert view["id"] == event.id and view["state"] == "queued", view
                results[index] = (event.id, created)
        except Exception as err:  # noqa: BLE001 - reported by the test
            results[index] = err

    def test_concurrent_duplicate_delivery_creates_one_event(self):
        barrier = threading.Barrier(2)
        results = [None, None]
        threads = [
            threading.Thread(target=self._deliver, args=(barrier, results, index))
            for index in range(2)
        ]
        Event = type(self.env["construction.event"])
        twin_reads = []
        original = Event._read_committed_twin

        def read_twin(model, backend, key):
            twin_reads.append(key)
            return original(model, backend, key)

        with (
            mute_logger("odoo.sql_db"),
            patch.object(Event, "_read_committed_twin", read_twin),
        ):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
        for result in results:
            self.assertIsInstance(result, tuple, result)
        # the loser hit the unique constraint, not the application-level search
        self.assertEqual(twin_reads, ["same-key"])
        ids = {event_id for event_id, _created in results}
        self.assertEqual(len(ids), 1, results)
        self.assertEqual(sorted(created for _id, created in results), [False, True])
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            events = env["construction.event"].search(
                [("backend_id", "=", self.backend_id)]
            )
            self.assertEqual(len(events), 1)
            jobs = (
                env["queue.job"]
                .search([("model_name", "=", "construction.event")])
                .filtered(lambda job: job.records == events)
            )
            self.assertEqual(len(jobs), 1)
