from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from ..tools.exceptions import (
    IdempotencyConflict,
    PermanentEventError,
    RetryableJobError,
)
from .common import ConstructionCommon
from .common_integration import (
    cost_code_payload,
    extra_event_types,
    make_backend,
    run_job,
    run_pending_jobs,
)


@tagged("post_install", "-at_install")
class TestIntegrationProcessing(ConstructionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(cls.env)
        cls.integration_user = cls.backend.user_id
        cls.Event = cls.env["construction.event"].with_user(cls.integration_user)
        cls.Account = cls.env["account.analytic.account"]

    def _receive(self, key, payload, event_type="cost_code.upsert"):
        return self.Event._receive(self.backend, event_type, key, payload)

    def _account(self, code):
        return self.Account.with_context(active_test=False).search(
            [("code", "=", code), ("company_id", "=", self.company.id)]
        )

    # ---- enqueue ----

    def test_receive_enqueues_one_job_on_backend_channel(self):
        self.assertTrue(self.backend.channel_id)
        self.assertEqual(
            self.backend.channel_id.parent_id, self.env.ref("queue_job.channel_root")
        )
        with trap_jobs() as trap:
            event, created = self._receive("k-1", cost_code_payload())
            again, created_again = self._receive("k-1", cost_code_payload())
        self.assertTrue(created)
        self.assertFalse(created_again)
        self.assertEqual(again, event)
        trap.assert_jobs_count(1)
        trap.assert_enqueued_job(
            event._process,
            properties={"channel": self.backend.channel_id.complete_name},
        )
        self.assertEqual(event.state, "queued")
        self.assertEqual(event.entity_external_id, "pm-1")
        self.assertEqual(event.entity_version, 1)
        self.assertEqual(event.user_id, self.integration_user)
        self.assertEqual(len(event.payload_hash), 64)

    def test_same_key_other_body_is_refused(self):
        self._receive("k-1", cost_code_payload())
        with self.assertRaises(IdempotencyConflict):
            self._receive("k-1", cost_code_payload(name="Other"))
        self.assertEqual(
            self.Event.search_count([("backend_id", "=", self.backend.id)]), 1
        )

    # ---- processing: cost_code.upsert ----

    def test_cost_code_upsert_creates_then_updates(self):
        event, _created = self._receive("k-1", cost_code_payload())
        self.assertEqual(run_pending_jobs(self.env), ["done"])
        account = self._account("03-370")
        self.assertEqual(event.state, "done")
        self.assertEqual(account.name, "Cast-in-Place Concrete")
        self.assertEqual(account.plan_id, self.division_03)
        self.assertEqual(event._result_records(), account)
        self.assertEqual(event.attempts, 1)
        binding = self.env["construction.binding"]._find_binding(
            self.backend, "account.analytic.account", "pm-1"
        )
        self.assertEqual(binding.res_id, account.id)
        self.assertEqual(binding.last_version, 1)
        self.assertEqual(self.backend._map_cost_code("03-370"), account)

        update, _created = self._receive(
            "k-2", cost_code_payload(version=2, name="CIP Concrete", active=False)
        )
        run_pending_jobs(self.env)
        self.assertEqual(update.state, "done")
        self.assertEqual(account.name, "CIP Concrete")
        self.assertFalse(account.active)
        self.assertEqual(binding.last_version, 2)

    def test_existing_code_is_matched_not_duplicated(self):
        event, _created = self._receive(
            "k-1", cost_code_payload(code="T03-300", name="Renamed by PM")
        )
        run_pending_jobs(self.env)
        self.assertEqual(event.state, "done")
        self.assertEqual(self.cc_concrete.name, "Renamed by PM")
        self.assertEqual(event._result_records(), self.cc_concrete)
        self.assertEqual(len(self._account("T03-300")), 1)

    def test_rerun_changes_nothing_twice(self):
        event, _created = self._receive("k-1", cost_code_payload())
        run_pending_jobs(self.env)
        account = self._account("03-370")
        account.name = "Edited in Odoo"
        # a stuck job requeued by the garbage collector runs the event again
        event._write_state({"state": "processing"})
        event._process()
        self.assertEqual(account.name, "Edited in Odoo")
        self.assertEqual(len(self._account("03-370")), 1)

    def test_older_version_is_superseded(self):
        newer, _created = self._receive("k-2", cost_code_payload(version=5, name="V5"))
        run_pending_jobs(self.env)
        older, _created = self._receive("k-1", cost_code_payload(version=4, name="V4"))
        run_pending_jobs(self.env)
        self.assertEqual(newer.state, "done")
        self.assertEqual(older.state, "superseded")
        self.assertEqual(self._account("03-370").name, "V5")
        binding = self.env["construction.binding"]._find_binding(
            self.backend, "account.analytic.account", "pm-1"
        )
        self.assertEqual(binding.last_version, 5)

    def test_unmapped_cost_code_fails_readably(self):
        self.backend.map_by_code = False
        with self.assertRaisesMsg(
            PermanentEventError, r"^unmapped cost code 03-999 for backend PM Platform$"
        ):
            self.backend._map_cost_code("03-999")
        mapping = self.env["construction.mapping"].create(
            {
                "backend_id": self.backend.id,
                "kind": "cost_code",
                "external_code": "03-999",
                "target_ref": f"account.analytic.account,{self.cc_concrete.id}",
            }
        )
        self.assertEqual(self.backend._map_cost_code("03-999"), self.cc_concrete)
        self.assertTrue(mapping)

    def test_unknown_division_fails_at_once_with_reason(self):
        event, _created = self._receive(
            "k-1", cost_code_payload(code="99-100", division=None)
        )
        self.assertEqual(run_pending_jobs(self.env), ["done"])  # the job ends
        self.assertEqual(event.state, "failed")
        self.assertEqual(event.last_error, "No CSI division 99 for cost code 99-100.")
        self.assertFalse(self._account("99-100"))

    def test_other_company_cost_code_is_never_touched(self):
        other = self.env["res.company"].create({"name": "Rival Builders"})
        rival_code = self._create_cost_code("R03-300", "Rival", self.division_03, other)
        mapping = self.env["construction.mapping"]
        with self.assertRaisesMsg(ValidationError, "belongs to Rival Builders"):
            mapping.create(
                {
                    "backend_id": self.backend.id,
                    "kind": "cost_code",
                    "external_code": "R03-300",
                    "target_ref": f"account.analytic.account,{rival_code.id}",
                }
            )
        event, _created = self._receive("k-1", cost_code_payload(code="R03-300"))
        run_pending_jobs(self.env)
        self.assertEqual(event.state, "done")
        self.assertEqual(rival_code.name, "Rival")
        created = event._result_records()
        self.assertEqual(created.company_id, self.company)
        self.assertNotEqual(created, rival_code)

    # ---- failures, retries, dead letters, replay ----

    def test_handler_raising_midway_leaves_nothing_written(self):
        Event = type(self.env["construction.event"])
        original = Event._handle_cost_code_upsert

        def half_then_crash(event):
            original(event)  # creates the cost code, its binding and mapping
            raise RuntimeError("crash after writing")

        event, _created = self._receive("k-1", cost_code_payload())
        with patch.object(Event, "_handle_cost_code_upsert", half_then_crash):
            self.assertEqual(run_pending_jobs(self.env), ["failed"])
        self.assertFalse(self._account("03-370"))
        self.assertFalse(
            self.env["construction.binding"].search(
                [("backend_id", "=", self.backend.id)]
            )
        )
        self.assertEqual(event.state, "dead")
        self.assertEqual(event.last_error, "crash after writing")

    def test_failure_then_retry_then_success(self):
        Event = type(self.env["construction.event"])
        original = Event._handle_cost_code_upsert
        calls = []

        def flaky(event):
            calls.append(event.id)
            if len(calls) == 1:
                raise RetryableJobError("PM platform busy")
            return original(event)

        event, _created = self._receive("k-1", cost_code_payload())
        job = event.sudo().job_id
        self.assertEqual(
            job.job_function_id,
            self.env.ref(
                "construction_connector_base.job_function_construction_event_process"
            ),
        )
        with patch.object(Event, "_handle_cost_code_upsert", flaky):
            self.assertEqual(run_job(self.env, job), "postponed")
            self.assertEqual(event.state, "failed")
            self.assertEqual(event.last_error, "PM platform busy")
            self.assertEqual(job.retry, 1)
            # jittered backoff from the job function: 5 to 15 s after try 1
            delay = (job.eta - fields.Datetime.now()).total_seconds()
            self.assertTrue(0 < delay <= 16, delay)
            self.assertEqual(run_job(self.env, job), "done")
        self.assertEqual(event.state, "done")
        self.assertFalse(event.last_error)
        self.assertEqual(event.attempts, 2)
        self.assertEqual(len(self._account("03-370")), 1)

    def test_lock_contention_is_retried_then_succeeds(self):
        """A real row lock held by another transaction: retry, then success."""
        account = self.env.ref(
            "construction_connector_base.cost_code_03_300_demo",
            raise_if_not_found=False,
        )
        if not account or account.company_id != self.company:
            self.skipTest("needs the demo cost code 03-300 of the main company")
        event, _created = self._receive(
            "k-1", cost_code_payload("pm-9", "03-300", name="Locked rename")
        )
        job = event.sudo().job_id
        with self.registry.cursor() as other_cr:
            other_cr.execute(
                "SELECT id FROM account_analytic_account WHERE id = %s FOR UPDATE",
                (account.id,),
            )
            self.assertEqual(run_job(self.env, job), "postponed")
            self.assertEqual(event.state, "failed")
            self.assertIn("locked by another transaction", event.last_error)
            self.assertEqual(account.name, "Cast-in-Place Concrete")
            other_cr.rollback()
        self.assertEqual(run_job(self.env, job), "done")
        self.assertEqual(event.state, "done")
        self.assertEqual(account.name, "Locked rename")
        self.assertEqual(event.attempts, 2)

    def test_dead_after_max_retries_then_replay_exactly_once(self):
        self.env["ir.config_parameter"].set_param(
            "construction_connector_base.max_retries", 2
        )
        Event = type(self.env["construction.event"])
        original = Event._handle_cost_code_upsert
        down = [True]

        def remote_down(event):
            if down[0]:
                raise RetryableJobError("remote system down")
            return original(event)

        event, _created = self._receive("k-1", cost_code_payload())
        with patch.object(Event, "_handle_cost_code_upsert", remote_down):
            self.assertEqual(run_pending_jobs(self.env), ["postponed", "failed"])
            self.assertEqual(event.state, "dead")
            self.assertIn("Max. retries (2) reached", event.last_error)
            self.assertFalse(self._account("03-370"))
            down[0] = False  # the remote system is back
            event.action_replay()
            with self.assertRaisesMsg(UserError, "Only failed or dead"):
                event.action_replay()  # a second click does nothing more
            self.assertEqual(event.state, "queued")
            self.assertEqual(run_pending_jobs(self.env), ["done"])
        self.assertEqual(event.state, "done")
        self.assertEqual(event.replay_count, 1)
        self.assertEqual(len(self._account("03-370")), 1)
        self.assertEqual(run_pending_jobs(self.env), [])

    def test_requeue_from_job_queue_acts_as_replay(self):
        Event = type(self.env["construction.event"])

        def crash(event):
            raise RuntimeError("bug in handler")

        event, _created = self._receive("k-1", cost_code_payload())
        job = event.sudo().job_id
        with patch.object(Event, "_handle_cost_code_upsert", crash):
            self.assertEqual(run_job(self.env, job), "failed")
        self.assertEqual(event.state, "dead")
        self.assertEqual(event.last_error, "bug in handler")
        # the fix is deployed; an administrator requeues the failed job
        self.env["queue.requeue.job"].with_context(
            active_model="queue.job", active_ids=job.ids
        ).create({}).requeue()
        self.assertEqual(event.state, "queued")
        self.assertEqual(run_pending_jobs(self.env), ["done"])
        self.assertEqual(event.state, "done")
        self.assertEqual(len(self._account("03-370")), 1)

    def test_cancel(self):
        event, _created = self._receive("k-1", cost_code_payload())
        job = event.sudo().job_id
        event.action_cancel()
        self.assertEqual(event.state, "cancelled")
        self.assertEqual(job.state, "cancelled")
        self.assertEqual(run_pending_jobs(self.env), [])
        with self.assertRaisesMsg(UserError, "cannot be cancelled"):
            event.action_cancel()

    # ---- parking ----

    def test_unknown_parent_is_parked_then_processed_when_it_arrives(self):
        with extra_event_types(self.env):
            child, _created = self._receive(
                "c-1",
                {
                    "external_id": "ch-1",
                    "parent_id": "pm-1",
                    "name": "Child",
                    "version": 1,
                },
                event_type="test.child",
            )
            self.assertEqual(run_pending_jobs(self.env, ignore_eta=False), ["done"])
            self.assertEqual(child.state, "parked")
            self.assertIn("pm-1 not received yet", child.last_error)
            parked_job = child.sudo().job_id
            self.assertEqual(parked_job.state, "pending")
            self.assertGreater(
                parked_job.eta, fields.Datetime.now() + timedelta(minutes=9)
            )
            # the cron keeps a parked event with a pending job as it is
            self.env["construction.event"]._cron_requeue_parked()
            self.assertEqual(child.sudo().job_id, parked_job)
            # nothing runs before the eta
            self.assertEqual(run_pending_jobs(self.env, ignore_eta=False), [])

            parent, _created = self._receive("p-1", cost_code_payload())
            self.assertEqual(
                run_pending_jobs(self.env, ignore_eta=False), ["done", "done"]
            )
            self.assertEqual(parent.state, "done")
            self.assertEqual(child.state, "done")
            self.assertEqual(parked_job.state, "cancelled")
            self.assertEqual(self._account("03-370").name, "Child")

    def test_parked_event_without_job_is_requeued_by_cron(self):
        with extra_event_types(self.env):
            child, _created = self._receive(
                "c-1",
                {"external_id": "ch-1", "parent_id": "pm-1", "version": 1},
                event_type="test.child",
            )
            run_pending_jobs(self.env, ignore_eta=False)
            child.sudo().job_id.unlink()  # e.g. vacuumed or deleted by hand
            self.assertEqual(child.state, "parked")
            self.env["construction.event"]._cron_requeue_parked()
            self.assertTrue(child.sudo().job_id)
            self.assertEqual(child.sudo().job_id.state, "pending")

    # ---- provisioning ----

    def test_manager_provisions_backend_user_and_key(self):
        manager = new_test_user(
            self.env,
            login="construction_boss",
            groups="construction_connector_base.group_construction_manager",
        )
        backend = (
            self.env["construction.backend"]
            .with_user(manager)
            .create({"name": "Supplier portal", "kind": "supplier_portal"})
        )
        backend.action_create_integration_user()
        user = backend.user_id
        integration = self.env.ref(
            "construction_connector_base.group_construction_integration"
        )
        self.assertEqual(
            user.groups_id, integration, "the integration user holds one group only"
        )
        self.assertFalse(user._is_internal())
        action = backend.action_generate_api_key()
        shown = self.env["construction.secret.display"].browse(action["res_id"])
        uid = self.env["res.users.apikeys"]._check_credentials(
            scope="rpc", key=shown.secret
        )
        self.assertEqual(uid, user.id)
        self.assertEqual(backend.api_key_count, 1)
        backend.action_revoke_api_keys()
        self.assertFalse(
            self.env["res.users.apikeys"]._check_credentials(
                scope="rpc", key=shown.secret
            )
        )
        with self.assertRaisesMsg(ValidationError, "Construction Integration group"):
            backend.user_id = manager

    # ---- audit ----

    def test_retention_purges_payload_keeps_hash(self):
        event, _created = self._receive("k-1", cost_code_payload())
        run_pending_jobs(self.env)
        digest = event.payload_hash
        self.env["construction.event"]._cron_purge_payloads()
        self.assertTrue(event.payload)  # too recent
        event._write_state(
            {"received_date": fields.Datetime.now() - timedelta(days=91)}
        )
        self.env["construction.event"]._cron_purge_payloads()
        self.assertFalse(event.payload)
        self.assertTrue(event.payload_purged)
        self.assertEqual(event.payload_hash, digest)
        self.assertEqual(event.idempotency_key, "k-1")
        # a rejected event is finished too; a failed one is kept for its replay
        rejected, _created = self._receive("k-2", cost_code_payload("pm-2", "03-372"))
        failed, _created = self._receive("k-3", cost_code_payload("pm-3", "03-373"))
        old = fields.Datetime.now() - timedelta(days=91)
        rejected._write_state({"state": "rejected", "received_date": old})
        failed._write_state({"state": "failed", "received_date": old})
        self.env["construction.event"]._cron_purge_payloads()
        self.assertEqual(
            (rejected.payload_purged, failed.payload_purged), (True, False)
        )

    def test_integration_user_cannot_rewrite_its_events(self):
        event, _created = self._receive("k-1", cost_code_payload())
        with self.assertRaises(AccessError):
            event.with_user(self.integration_user).write({"state": "done"})
        with self.assertRaises(AccessError):
            event.with_user(self.integration_user).unlink()
