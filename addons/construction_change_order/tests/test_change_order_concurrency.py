import threading

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger


@tagged("post_install", "-at_install")
class TestChangeOrderNumberingConcurrency(TransactionCase):
    """Two users create a change order in the same project at the same time.

    The second one must get a serialization error (retried by Odoo and
    queue_job), never the same number. Setup is committed and removed after.
    """

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.project_id = env["project.project"].create({"name": "Race"}).id
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["construction.change.order"].search(
                [("project_id", "=", self.project_id)]
            ).unlink()
            env["project.project"].browse(self.project_id).unlink()

    def _create(self, barrier, results, index):
        try:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                # take the snapshot before the other transaction commits
                env["construction.change.order"].search_count([])
                barrier.wait(timeout=10)
                order = env["construction.change.order"].create(
                    {"title": f"Race {index}", "project_id": self.project_id}
                )
                results[index] = order.name
        except Exception as err:  # noqa: BLE001 - reported by the test
            results[index] = err

    @mute_logger("odoo.sql_db")
    def test_concurrent_numbering(self):
        barrier = threading.Barrier(2)
        results = [None, None]
        threads = [
            threading.Thread(target=self._create, args=(barrier, results, index))
            for index in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        names = [r for r in results if isinstance(r, str)]
        errors = [r for r in results if isinstance(r, Exception)]
        self.assertEqual(names, ["PCCO-001"], results)
        self.assertEqual(len(errors), 1, results)
        self.assertIsInstance(errors[0], SerializationFailure)
        # The retry sees the first order and takes the next number.
        results = [None]
        self._create(threading.Barrier(1), results, 0)
        self.assertEqual(results, ["PCCO-002"])
