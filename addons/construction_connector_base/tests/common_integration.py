"""Fixtures and a synchronous job runner for the integration-framework tests."""

import json
import traceback
from contextlib import contextmanager
from unittest.mock import patch

from odoo import fields

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job

from ..tools.event_types import EventType
from ..tools.exceptions import ParentMissing


def make_backend(env, name="PM Platform", company=None, **vals):
    company = company or env.company
    backend = env["construction.backend"].create(
        dict(
            {"name": name, "kind": "project_management", "company_id": company.id},
            **vals,
        )
    )
    backend.action_create_integration_user()
    return backend


def outbox_messages(backend, event_type=None, record=None):
    """The system's outbox messages, oldest first (of ``event_type``, for
    ``record``)."""
    domain = [("backend_id", "=", backend.id)]
    if event_type:
        domain.append(("event_type", "=", event_type))
    if record is not None:
        domain += [("res_model", "=", record._name), ("res_id", "=", record.id)]
    return backend.env["construction.outbox.message"].search(domain, order="id")


def message_data(message):
    """The ``data`` of an outbox message's envelope."""
    return json.loads(message.payload)["data"]


def open_send_wizard(user, action_xmlid, records):
    """Run a "Send to External System" server action on ``records`` as ``user``
    (as the list's Action menu does) and return the wizard it opens."""
    env = records.env(user=user)
    action = (
        env.ref(action_xmlid)
        .with_context(active_model=records._name, active_ids=records.ids)
        .run()
    )
    return env[action["res_model"]].with_context(action["context"]).create({})


def cost_code_payload(external_id="pm-1", code="03-370", version=1, **extra):
    payload = {
        "external_id": external_id,
        "code": code,
        "name": "Cast-in-Place Concrete",
        "division": "03",
        "active": True,
        "version": version,
    }
    payload.update(extra)
    return payload


def run_job(env, queue_job):
    """Run one stored job the way queue_job's /queue_job/runjob does.

    started -> perform -> done; RetryableJobError -> postponed (pending);
    any other error (FailedJobError after the last retry) -> failed.
    """
    job = Job.load(env, queue_job.uuid)
    job.set_started()
    job.store()
    try:
        job.perform()
    except RetryableJobError as err:
        job.postpone(result=str(err), seconds=err.seconds)
        job.set_pending(reset_retry=False)
        job.store()
        return "postponed"
    except Exception as err:  # noqa: BLE001 - mirrors the runner's catch-all
        job.set_failed(
            exc_name=type(err).__name__,
            exc_message=str(err),
            exc_info=traceback.format_exc(),
        )
        job.store()
        return "failed"
    job.set_done()
    job.store()
    return "done"


def run_pending_jobs(env, ignore_eta=True, limit=20):
    """Run pending construction.event jobs until none is left (bounded)."""
    runs = []
    for _round in range(limit):
        domain = [
            ("model_name", "=", "construction.event"),
            ("state", "=", "pending"),
        ]
        if not ignore_eta:
            domain += [
                "|",
                ("eta", "=", False),
                ("eta", "<=", fields.Datetime.now()),
            ]
        jobs = env["queue.job"].sudo().search(domain, order="id")
        if not jobs:
            break
        for queue_job in jobs:
            runs.append(run_job(env, queue_job))
    return runs


def _handle_test_child(self):
    """Test handler: needs its parent cost code, bound by cost_code.upsert."""
    payload = self._payload()
    parent = self.env["construction.binding"]._find(
        self.backend_id, "account.analytic.account", payload["parent_id"]
    )
    if not parent:
        raise ParentMissing(f"parent cost code {payload['parent_id']} not received yet")
    parent.write({"name": payload.get("name", parent.name)})
    return parent


@contextmanager
def extra_event_types(env):
    """Registers the test-only event type ``test.child``."""
    Event = type(env["construction.event"])
    original = Event._event_types

    def _event_types(self):
        types = original(self)
        types["test.child"] = EventType(
            schema="construction_connector_base/tests/schemas/test_child.v1.json",
            handler="_handle_test_child",
            entity_key="external_id",
            version_key="version",
        )
        return types

    with (
        patch.object(Event, "_event_types", _event_types),
        patch.object(Event, "_handle_test_child", _handle_test_child, create=True),
    ):
        yield
