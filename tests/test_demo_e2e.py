"""Black-box end to end of the demo: ``setup/demo --exit`` on the test database
provisions the reference PM platform and supplier portal, starts a real Odoo with
workers and the queue_job runner, plays the scripted month over HTTP and stops.
The outcome is read from its summary and checked again in the database.
Commits to the test database (a throwaway one in CI): each run adds its own project
("Lakeside Library Renovation #n") and new API keys for the two reference systems,
which are archived afterwards."""

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import free_port

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(database, tmp_path_factory):
    summary_file = tmp_path_factory.mktemp("demo") / "summary.json"
    process = subprocess.Popen(
        [
            str(REPO / "setup" / "demo"),
            "--db",
            database,
            "--port",
            str(free_port()),
            "--exit",
            "--summary",
            str(summary_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
        pytest.fail(f"setup/demo did not finish in 5 minutes:\n{output}")
    assert process.returncode == 0, output
    summary = json.loads(summary_file.read_text())
    summary["steps"] = {step.pop("step"): step for step in summary["steps"]}
    yield {"database": database, "output": output, "summary": summary}
    # The reference systems' webhook ports are gone: archive them, so that later
    # tests on a kept database publish nothing to them (setup/demo reactivates them).
    subprocess.run(
        ["psql", "-q", "-d", database],
        input="UPDATE construction_backend SET active = false WHERE name IN"
        " ('PM Platform (reference)', 'Supplier Portal (reference)');",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _env(database):
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry

    cursor = Registry(database).cursor()
    return cursor, api.Environment(cursor, SUPERUSER_ID, {})


def test_demo_prints_progress_and_urls(demo):
    output = demo["output"]
    for title in ("Week 1", "Week 2", "Week 3", "Week 4", "Done"):
        assert f"== {title}" in output
    assert "construction_event_action_failed" in output
    assert "log in as admin / admin" in output


def test_demo_month_outcome(demo):
    steps = demo["summary"]["steps"]
    assert steps["cost_codes"]["states"] == ["done"] * 5
    assert steps["change_order"]["states"] == ["done", "done"]
    # 60 CY x 185 + 80 h x 72.50, pending on submit, approved in Odoo
    assert steps["change_order"]["cost"] == 16900.0
    assert steps["change_order"]["pending_before"] == 16900.0
    assert steps["change_order"]["approved_after"] == 16900.0
    failure = steps["failure_replayed"]
    assert failure["failed_state"] == "failed"
    assert "unmapped cost code 31-" in failure["error"]
    assert failure["fix_state"] == "done"
    assert failure["replayed_state"] == "done"
    # the replayed change order (16 h x 210.00) is then approved by the platform
    approval = steps["platform_approval"]
    assert approval["change_order_id"] == failure["change_order_id"]
    assert approval["states"] == ["done", "done"]
    assert approval["stage_kind"] == "approved"
    assert approval["approved_before"] == 16900.0
    assert approval["approved_after"] == 16900.0 + 3360.0
    assert steps["billing"]["approval_state"] == "certified"
    assert steps["billing"]["invoice_state"] == "posted"
    assert steps["procurement"]["portal_steps"] == [
        ["acknowledged", "done"],
        ["delivered", "done"],
        ["invoiced", "done"],
    ]
    assert steps["procurement"]["match_state"] == "matched"
    assert steps["procurement"]["bill_state"] == "posted"


def test_demo_webhooks_signed_and_received(demo):
    summary = demo["summary"]
    steps = summary["steps"]
    assert summary["run_webhooks"] == [
        {
            "system": "pm",
            "event_type": "billing.invoice_posted",
            "model": "account.move",
            "record_id": steps["billing"]["invoice_id"],
            "signature_valid": True,
        },
        {
            "system": "pm",
            "event_type": "change_order.status",
            "model": "construction.change.order",
            "record_id": steps["change_order"]["change_order_id"],
            "signature_valid": True,
        },
        {
            "system": "pm",
            "event_type": "change_order.status",
            "model": "construction.change.order",
            "record_id": steps["platform_approval"]["change_order_id"],
            "signature_valid": True,
        },
        {
            "system": "portal",
            "event_type": "purchase_order.confirmed",
            "model": "purchase.order",
            "record_id": steps["procurement"]["purchase_order_id"],
            "signature_valid": True,
        },
    ]
    # everything received (also older messages of the database sent to the new
    # webhook URLs) was signed with the system's secret; nothing was refused
    for side in ("pm", "portal"):
        webhooks = summary["webhooks"][side]
        assert webhooks["received"] == webhooks["signature_verified"]
        assert webhooks["rejected"] == 0
        assert webhooks["handler_errors"] == 0


def test_demo_records_in_the_database(demo):
    steps = demo["summary"]["steps"]
    project = demo["summary"]["project"]
    cursor, env = _env(demo["database"])
    with cursor:
        event = env["construction.event"].browse(steps["failure_replayed"]["event_id"])
        assert event.state == "done"
        assert event.attempts == 2
        replayed_order = env["construction.change.order"].browse(
            steps["failure_replayed"]["change_order_id"]
        )
        assert replayed_order.project_id.id == project["id"]
        assert replayed_order.line_ids.cost_code_id.code.startswith("31-")
        assert replayed_order.stage_kind == "approved"
        assert (
            replayed_order.approved_by_id
            == env["construction.backend"]
            .search([("name", "=", "PM Platform (reference)")])
            .user_id
        )
        order = env["construction.change.order"].browse(
            steps["change_order"]["change_order_id"]
        )
        assert order.stage_kind == "approved"
        app = env["construction.pay.application"].browse(
            steps["billing"]["pay_application_id"]
        )
        assert app.approval_state == "certified"
        assert app.invoice_id.state == "posted"
        purchase = env["purchase.order"].browse(
            steps["procurement"]["purchase_order_id"]
        )
        assert purchase.state == "purchase"
        assert purchase.partner_ref == f"SP-{purchase.name}"
        assert purchase.order_line.qty_received == 60.0
        bill = env["account.move"].browse(steps["procurement"]["bill_id"])
        assert bill.state == "posted"
        assert bill.construction_match_state == "matched"
        pm, portal = (
            env["construction.backend"].search([("name", "=", name)])
            for name in ("PM Platform (reference)", "Supplier Portal (reference)")
        )
        entities = [
            f"construction.change.order,{order.id}",
            f"account.move,{app.invoice_id.id}",
            f"purchase.order,{purchase.id}",
        ]
        messages = env["construction.outbox.message"].search(
            [
                ("backend_id", "in", (pm | portal).ids),
                ("entity_key", "in", entities),
            ]
        )
        assert sorted(messages.mapped("event_type")) == [
            "billing.invoice_posted",
            "change_order.status",
            "purchase_order.confirmed",
        ]
        assert set(messages.mapped("state")) == {"done"}
        assert pm.require_signature and portal.require_signature
