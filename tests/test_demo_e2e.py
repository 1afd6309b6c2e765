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
    for title in ("Week 1", "Week 2", "Week 3", "Week 4", "Month end", "Done"):
        assert f"== {title}" in output
    assert "construction_event_action_failed" in output
    # the failure and the month-end mismatch are shown on the Integration Overview
    assert output.count("/odoo/construction-integration-overview") == 2
    assert "the Integration Overview shows it: Failed events" in output
    assert (
        "open mismatch: [26-100] Electrical committed: Odoo 180,000.00, platform "
        "175,000.00 (difference 5,000.00)"
    ) in output
    assert "log in as admin / admin" in output


def test_demo_month_outcome(demo):
    steps = demo["summary"]["steps"]
    assert steps["cost_codes"]["states"] == ["done"] * 5
    change_event = steps["change_event"]
    assert change_event["states"] == ["done", "done"]
    # open on receipt, pending once a change order prices it, closed by the platform
    assert change_event["event_states"] == ["open", "pending", "closed"]
    assert change_event["amount_cost"] == 16800.0
    assert change_event["amount_revenue"] == 18480.0
    assert change_event["change_order_ids"] == [
        steps["change_order"]["change_order_id"]
    ]
    assert steps["change_order"]["states"] == ["done", "done"]
    # 60 CY x 185 + 80 h x 72.50, pending on submit, approved in Odoo
    assert steps["change_order"]["cost"] == 16900.0
    assert steps["change_order"]["pending_before"] == 16900.0
    assert steps["change_order"]["approved_after"] == 16900.0
    failure = steps["failure_replayed"]
    assert failure["failed_state"] == "failed"
    # (a kept database may hold other failed events of its own)
    assert failure["overview_failed_count"] >= 1
    assert failure["overview_severity"] == "danger"
    assert "unmapped cost code 31-" in failure["error"]
    # the platform found it itself: health check, then GET /events?state=failed,dead
    assert failure["platform_health"] == "attention"
    assert failure["listed_failed"] == [failure["event_id"]]
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
    # 36,000.00 of the 180,000.00 subcontract, 10% retainage withheld
    sub = steps["subcontract"]
    assert sub["event_state"] == "done"
    assert sub["submitted_state"] == "under_review"
    assert sub["state"] == "approved"
    assert sub["amount_this_period"] == 36000.0
    assert sub["retainage_this_period"] == 3600.0
    assert sub["amount_due"] == 32400.0
    assert sub["bill_state"] == "posted"
    assert sub["webhook_amount_due"] == 32400.0
    reconciliation = steps["reconciliation"]
    assert reconciliation["run_state"] == "done"
    assert reconciliation["mismatches"] == [
        {
            "cost_code": "[26-100] Electrical",
            "metric": "committed",
            "odoo_amount": 180000.0,
            "external_amount": 175000.0,
            "difference": 5000.0,
        }
    ]
    assert reconciliation["overview_count"] >= 1


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
        # every status change of a change order is sent (submitted, approved)
        *[
            {
                "system": "pm",
                "event_type": "change_order.status",
                "model": "construction.change.order",
                "record_id": steps[step]["change_order_id"],
                "signature_valid": True,
            }
            for step in (
                "change_order",
                "change_order",
                "platform_approval",
                "platform_approval",
            )
        ],
        {
            "system": "pm",
            "event_type": "subcontract_invoice.approved",
            "model": "construction.subcontract.pay.application",
            "record_id": steps["subcontract"]["application_id"],
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
    assert summary["change_order_statuses_heard"] == {
        str(steps[step]["change_order_id"]): ["pending_in_review", "approved"]
        for step in ("change_order", "platform_approval")
    }
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
            "change_order.status",  # pending_in_review
            "change_order.status",  # approved
            "purchase_order.confirmed",
        ]
        assert set(messages.mapped("state")) == {"done"}
        assert pm.require_signature and portal.require_signature
        change_event = env["construction.change.event"].browse(
            steps["change_event"]["change_event_id"]
        )
        assert change_event.project_id.id == project["id"]
        assert change_event.state == "closed"
        assert change_event.change_order_ids == order
        assert change_event.scope == "out_of_scope"
        assert change_event.amount_cost == 16800.0
        sub_app = env["construction.subcontract.pay.application"].browse(
            steps["subcontract"]["application_id"]
        )
        assert sub_app.order_id.id == project["subcontract"]["id"]
        assert sub_app.state == "approved"
        assert sub_app.bill_id.id == steps["subcontract"]["bill_id"]
        assert sub_app.bill_id.state == "posted"
        assert sub_app.name == steps["subcontract"]["webhook_application"]
        sub_message = env["construction.outbox.message"].search(
            [
                ("backend_id", "=", pm.id),
                (
                    "entity_key",
                    "=",
                    f"construction.subcontract.pay.application,{sub_app.id}",
                ),
            ]
        )
        assert sub_message.event_type == "subcontract_invoice.approved"
        assert sub_message.state == "done"
        mismatches = env["construction.reconciliation.mismatch"].search(
            [("project_id", "=", project["id"]), ("state", "=", "open")]
        )
        assert [
            (m.cost_code_id.code, m.metric, m.odoo_amount, m.external_amount)
            for m in mismatches
        ] == [("26-100", "committed", 180000.0, 175000.0)]
        assert mismatches.backend_id == pm
