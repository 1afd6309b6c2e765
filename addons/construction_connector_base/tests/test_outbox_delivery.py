"""Outbox delivery against a real HTTP receiver on 127.0.0.1."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, new_test_user, tagged

from ..tools import signing
from .common_integration import make_backend, run_job

SECRET = "outbox-test-secret"


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        """The sender hung up (read timeout test): nothing to report."""


class Receiver:
    """A webhook receiver with scripted answers: an int status, "close" (drop
    the connection) or "sleep" (answer after the sender's read timeout)."""

    def __init__(self, secret=SECRET):
        self.secret = secret
        self.script = []
        self.requests = []
        self.accepted = {}  # idempotency key -> body, processed once
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                action = receiver.script.pop(0) if receiver.script else 200
                verified = signing.matches(
                    receiver.secret,
                    self.headers.get(signing.TIMESTAMP_HEADER),
                    body,
                    self.headers.get(signing.SIGNATURE_HEADER),
                )
                receiver.requests.append(
                    {
                        "headers": dict(self.headers),
                        "body": body,
                        "verified": verified,
                        "action": action,
                    }
                )
                if action == "close":
                    self.close_connection = True
                    self.connection.close()
                    return
                if action == "sleep":
                    time.sleep(2)
                    action = 200
                status = 401 if not verified else action
                if 200 <= status < 300:
                    receiver.accepted.setdefault(self.headers["Idempotency-Key"], body)
                answer = json.dumps({"status": status, "detail": "test"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class Rollback(Exception):
    pass


@tagged("post_install", "-at_install")
class TestOutboxDelivery(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = Receiver()
        cls.addClassCleanup(cls.receiver.stop)
        cls.backend = make_backend(
            cls.env,
            name="Webhook PM",
            outbound_url=cls.receiver.url,
            outbound_event_types="change_order.approved, purchase_order.confirmed",
            outbound_read_timeout=1,
            outbound_connect_timeout=1,
        )
        cls.backend.sudo().signing_secret = SECRET
        cls.Event = cls.env["construction.event"]
        cls.record = cls.env.company.partner_id

    def setUp(self):
        super().setUp()
        self.receiver.script = []
        self.receiver.requests = []
        self.receiver.accepted = {}

    def _publish(self, event_type="change_order.approved", record=None, **payload):
        return self.Event._publish(
            False, event_type, record or self.record, payload or {"number": "CO-1"}
        )

    def _run(self, message):
        return run_job(self.env, message.job_id)

    def test_publish_stores_one_message_per_subscriber(self):
        message = self._publish()
        self.assertEqual(len(message), 1)
        self.assertEqual(message.backend_id, self.backend)
        self.assertEqual(message.state, "pending")
        self.assertEqual(message.entity_key, f"res.partner,{self.record.id}")
        self.assertEqual(message.job_id.channel, self.backend.channel_id.complete_name)
        body = json.loads(message.payload)
        self.assertEqual(body["event_id"], message.idempotency_key)
        self.assertEqual(body["data"], {"number": "CO-1"})
        # nobody subscribes: nothing stored, nothing queued
        self.assertFalse(self._publish("invoice.posted"))
        self.assertEqual(
            self.env["construction.outbox.message"].search_count(
                [("event_type", "=", "invoice.posted")]
            ),
            0,
        )
        # an archived system receives nothing
        self.backend.active = False
        self.assertFalse(self._publish())

    def test_rollback_sends_nothing(self):
        Message = self.env["construction.outbox.message"]
        jobs_before = self.env["queue.job"].search_count([])
        with self.assertRaises(Rollback):
            with self.env.cr.savepoint():
                self.assertTrue(self._publish(number="CO-ROLLED-BACK"))
                raise Rollback()
        self.assertFalse(Message.search([("backend_id", "=", self.backend.id)]))
        self.assertEqual(self.env["queue.job"].search_count([]), jobs_before)
        self.assertEqual(self.receiver.requests, [])

    def test_retry_then_success_same_key_once(self):
        self.receiver.script = [500, 500, 200]
        message = self._publish()
        self.assertEqual(self._run(message), "postponed")
        self.assertEqual(message.state, "retrying")
        self.assertEqual(message.attempts, 1)
        self.assertEqual(message.last_http_status, 500)
        self.assertTrue(message.job_id.eta)
        self.assertEqual(self._run(message), "postponed")
        self.assertEqual(message.attempts, 2)
        self.assertEqual(self._run(message), "done")
        self.assertEqual(message.state, "done")
        self.assertEqual(message.attempts, 3)
        self.assertEqual(message.last_http_status, 200)
        self.assertTrue(message.sent_date)
        keys = [r["headers"]["Idempotency-Key"] for r in self.receiver.requests]
        self.assertEqual(keys, [message.idempotency_key] * 3)
        bodies = {r["body"] for r in self.receiver.requests}
        self.assertEqual(len(bodies), 1, "every retry sends the same bytes")
        self.assertEqual(list(self.receiver.accepted), [message.idempotency_key])
        # running the finished job's body again sends nothing
        message._deliver()
        self.assertEqual(len(self.receiver.requests), 3)

    def test_client_error_fails_at_once(self):
        self.receiver.script = [400]
        message = self._publish()
        self.assertEqual(self._run(message), "done")  # the job ends; no retry
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.attempts, 1)
        self.assertEqual(message.last_http_status, 400)
        self.assertIn('"status": 400', message.last_response)
        self.assertEqual(len(self.receiver.requests), 1)
        message._deliver()
        self.assertEqual(len(self.receiver.requests), 1)

    def test_rate_limited_is_retried(self):
        self.receiver.script = [429, 408, 204]
        message = self._publish()
        self.assertEqual(self._run(message), "postponed")
        self.assertEqual(message.last_http_status, 429)
        self.assertEqual(self._run(message), "postponed")
        self.assertEqual(message.last_http_status, 408)
        self.assertEqual(self._run(message), "done")
        self.assertEqual(message.state, "done")

    def test_dead_then_replay_delivers_once(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "construction_connector_base.outbox_max_retries", "2"
        )
        self.receiver.script = [503, 503]
        message = self._publish()
        self.assertEqual(self._run(message), "postponed")
        self.assertEqual(self._run(message), "failed")
        self.assertEqual(message.state, "dead")
        self.assertEqual(message.attempts, 2)
        self.assertIn("Max. retries", message.last_error)
        old_job = message.job_id
        message.action_replay()
        self.assertEqual(message.state, "pending")
        self.assertEqual(message.replay_count, 1)
        self.assertNotEqual(message.job_id, old_job)
        with self.assertRaisesRegex(UserError, "Only failed or dead"):
            message.action_replay()
        self.assertEqual(self._run(message), "done")
        self.assertEqual(message.state, "done")
        self.assertEqual(len(self.receiver.requests), 3)
        self.assertEqual(list(self.receiver.accepted), [message.idempotency_key])
        self.assertEqual(
            {r["headers"]["Idempotency-Key"] for r in self.receiver.requests},
            {message.idempotency_key},
        )

    def test_signature_verified_by_receiver(self):
        message = self._publish()
        self.assertEqual(self._run(message), "done")
        request = self.receiver.requests[0]
        self.assertTrue(request["verified"])
        headers = request["headers"]
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(headers["X-Construction-Event"], "change_order.approved")
        self.assertTrue(headers["X-Construction-Signature"].startswith("sha256="))
        self.assertLessEqual(
            abs(int(headers["X-Construction-Timestamp"]) - time.time()), 60
        )
        # a receiver holding another secret refuses it (401: failed at once)
        self.backend.sudo().signing_secret = "another-secret"
        other = self._publish(number="CO-2")
        self._run(other)
        self.assertFalse(self.receiver.requests[1]["verified"])
        self.assertEqual(other.state, "failed")
        self.assertEqual(other.last_http_status, 401)

    def test_timeout_and_closed_connection_are_retried(self):
        self.receiver.script = ["sleep", "close", 200]
        message = self._publish()
        self.assertEqual(self._run(message), "postponed")
        self.assertEqual(message.state, "retrying")
        self.assertIn("Timeout", message.last_error)
        self.assertEqual(self._run(message), "postponed")
        self.assertIn("Network error", message.last_error)
        self.assertEqual(self._run(message), "done")
        self.assertEqual(message.attempts, 3)
        self.assertEqual(message.state, "done")

    def test_connection_refused_is_retried(self):
        self.backend.outbound_url = "http://127.0.0.1:9/closed"
        message = self._publish()
        self.assertEqual(self._run(message), "postponed")
        self.assertEqual(message.state, "retrying")
        self.assertIn("ConnectionError", message.last_error)

    def test_ordering_per_entity(self):
        first = self._publish(number="CO-1", version=1)
        second = self._publish(number="CO-1", version=2)
        other_entity = self._publish(record=self.env.user.partner_id, number="CO-9")
        # the newer message waits for the older one: no request, no attempt
        self.assertEqual(self._run(second), "postponed")
        self.assertEqual(second.state, "pending")
        self.assertEqual(second.attempts, 0)
        self.assertEqual(second.job_id.retry, 0)
        self.assertEqual(self.receiver.requests, [])
        # another entity is not held back
        self.assertEqual(self._run(other_entity), "done")
        self.assertEqual(self._run(first), "done")
        self.assertEqual(self._run(second), "done")
        sent = [json.loads(r["body"])["data"] for r in self.receiver.requests]
        self.assertEqual([d.get("version") for d in sent], [None, 1, 2])

    def test_cancel(self):
        message = self._publish()
        job = message.job_id
        # Accounting approvers read the outbox; they do not operate it.
        approver = new_test_user(
            self.env,
            login="outbox_approver",
            groups="construction_connector_base.group_construction_accounting_approver",
        )
        for action in ("action_cancel", "action_replay"):
            with self.assertRaisesRegex(AccessError, "Construction Manager"):
                getattr(message.with_user(approver), action)()
        self.assertEqual(message.state, "pending")
        message.action_cancel()
        self.assertEqual(message.state, "cancelled")
        self.assertEqual(job.state, "cancelled")
        with self.assertRaisesRegex(UserError, "Only pending"):
            message.action_cancel()
        message._deliver()
        self.assertEqual(self.receiver.requests, [])

    def test_plain_user_change_is_delivered(self):
        """A construction user (no integration rights) emits; the job delivers."""
        user = new_test_user(
            self.env,
            login="outbox_site_user",
            groups="construction_connector_base.group_construction_user",
        )
        Event = self.env["construction.event"].with_user(user)
        message = Event._publish(False, "change_order.approved", self.record, {"n": 1})
        self.assertEqual(len(message), 1)
        with self.assertRaises(AccessError):
            message.with_user(user).read(["payload"])
        self.assertEqual(run_job(self.env, message.sudo().job_id), "done")
        self.assertEqual(message.sudo().state, "done")
        self.assertTrue(self.receiver.requests[0]["verified"])

    def test_other_company_record_not_sent(self):
        other = self.env["res.company"].create({"name": "Rival Builders"})
        partner = self.env["res.partner"].create(
            {"name": "Rival site", "company_id": other.id}
        )
        self.assertFalse(self._publish(record=partner))
        own = self.env["res.partner"].create(
            {"name": "Own site", "company_id": self.env.company.id}
        )
        self.assertEqual(self._publish(record=own).backend_id, self.backend)
