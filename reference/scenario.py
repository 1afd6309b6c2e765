"""The scripted month played by ``setup/demo`` against a running Odoo.

The reference PM platform and supplier portal run in this process (their webhook
receivers on the ports given). Everything the external systems do goes through
the integration API; what people do in Odoo (certify, approve, confirm, post) goes
through Odoo's JSON-RPC as the demo administrator, the way the buttons do it.

    python3 -m reference.scenario --config provision.json \\
        --odoo http://127.0.0.1:8069 --db construction_demo \\
        --pm-port 8071 --portal-port 8072 [--exit] [--summary F]

``provision.json`` is what ``setup/_demo_provision.py`` prints: both systems' API
keys and signing secrets, and the project of this run.
"""

import argparse
import calendar
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

from .client import ApiError
from .odoo_rpc import OdooRpc
from .pm_platform import PmPlatform
from .supplier_portal import SupplierPortal

OVERVIEW_PATH = "/odoo/construction-integration-overview"


def _co_line(cost_code, cost_type, description, quantity, unit_cost, markup):
    return {
        "cost_code": cost_code,
        "cost_type": cost_type,
        "description": description,
        "quantity": quantity,
        "unit_cost": unit_cost,
        "markup_percent": markup,
    }


class Scenario:
    def __init__(
        self,
        config,
        odoo_url,
        db,
        pm_port=0,
        portal_port=0,
        out=None,
        screenshots=None,
    ):
        self.config = config
        self.screenshots = screenshots
        self.url = odoo_url.rstrip("/")
        self.db = db
        self.out = out or sys.stdout
        self.project = config["project"]
        pm, portal = config["pm"], config["portal"]
        self.pm = PmPlatform(self.url, pm["key"], pm["secret"], port=pm_port)
        self.portal = SupplierPortal(
            self.url, portal["key"], portal["secret"], port=portal_port
        )
        self.odoo = None
        # the portal fulfils this run's orders only (the subcontract is not its)
        subcontract = (self.project.get("subcontract") or {}).get("name")
        self.portal.accept = lambda data: (
            data.get("project") == self.project["name"]
            and data.get("order") != subcontract
        )
        self.records = set()  # (model, id) of what this run made, for its webhooks
        self.summary = {"project": self.project, "steps": []}
        tag = self.project["ref"].lower()
        self.ext = lambda name: f"{tag}-{name}"  # external ids unique per run

    # ---- output ----

    def say(self, text):
        print(text, file=self.out, flush=True)

    def step(self, title):
        self.say(f"\n== {title}")

    def link(self, label, path):
        self.say(f"   open: {label}: {self.url}{path}")

    def record(self, name, **data):
        self.summary["steps"].append(dict(data, step=name))

    # ---- the month ----

    def run(self):
        self.pm.start()
        self.portal.start()
        self._wait_for_odoo()
        self.odoo = OdooRpc(self.url, self.db)
        self.say(
            f"Project {self.project['name']} (platform reference "
            f"{self.project['ref']}); PM platform webhooks at {self.pm.webhook_url},"
            f" supplier portal webhooks at {self.portal.webhook_url}"
        )
        self.link(
            "project budget",
            f"/odoo/action-construction_connector_base."
            f"construction_budget_action/{self.project['budget_id']}",
        )
        self.sync_cost_codes()
        self.change_orders()
        self.deliberate_failure()
        self.progress_and_billing()
        self.procurement()
        self.subcontract_requisition()
        self.reconciliation()
        self.finish()
        return self.summary

    def _wait_for_odoo(self, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.pm.client.health()
                return
            except Exception:  # not up yet
                time.sleep(1)
        raise TimeoutError(f"Odoo did not answer at {self.url} within {timeout}s")

    def sync_cost_codes(self):
        self.step("Week 1: the PM platform syncs its cost codes (one signed batch)")
        codes = [
            ("01-100", "General requirements"),
            ("03-300", "Cast-in-place concrete"),
            ("03-370", "Concrete curing"),
            ("05-100", "Structural steel framing"),
            ("26-100", "Electrical"),
        ]
        items = self.pm.sync_cost_codes(codes)
        states = []
        for item in items:
            event = self.pm.client.wait(item["event"]["id"])
            states.append(event["state"])
            self.say(
                f"   {item['event_id']}: HTTP {item['status']} -> {event['state']}"
            )
        self.record("cost_codes", states=states)
        self.link(
            "cost codes",
            "/odoo/action-construction_connector_base.construction_cost_code_action",
        )

    def _budget(self):
        return self.odoo.read_one(
            "construction.budget",
            self.project["budget_id"],
            [
                "pending_change_amount",
                "approved_change_amount",
                "revised_amount",
                "committed_amount",
                "actual_amount",
            ],
        )

    def _change_event(self, change_event_id):
        return self.odoo.read_one(
            "construction.change.event",
            change_event_id,
            ["name", "state", "amount_cost", "amount_revenue", "change_order_ids"],
        )

    def change_orders(self):
        self.step(
            "Week 1: a change event from the field, priced by an owner change order "
            "approved in Odoo"
        )
        change_event_ext = self.ext("ce-1")
        change_event_lines = [
            {
                "cost_code": "03-300",
                "cost_type": "material",
                "description": "Thickened slab concrete",
                "cost_estimate": 11000.0,
                "revenue_estimate": 12100.0,
            },
            {
                "cost_code": "03-300",
                "cost_type": "labor",
                "description": "Placing and finishing",
                "cost_estimate": 5800.0,
                "revenue_estimate": 6380.0,
            },
        ]
        ce_args = (
            change_event_ext,
            self.project["ref"],
            "Book stacks heavier than designed",
            change_event_lines,
        )
        ce_event = self.pm.client.wait(
            self.pm.push_change_event(
                *ce_args,
                origin="owner_request",
                origin_reference="RFI-014",
                scope="out_of_scope",
                reason="owner_request",
            )["id"]
        )
        change_event_id = ce_event["result"]["ids"][0]
        change_event = self._change_event(change_event_id)
        self.say(
            f"   change_event.upsert -> {ce_event['state']} ({change_event['name']} "
            f"{change_event['state']}: cost ROM {change_event['amount_cost']:,.2f}, "
            f"revenue ROM {change_event['amount_revenue']:,.2f})"
        )
        external_id = self.ext("pcco-1")
        event = self.pm.client.wait(
            self.pm.push_change_order(
                external_id,
                self.project["ref"],
                "Add thickened slab at the book-stack area",
                [
                    _co_line(
                        "03-300", "material", "Ready-mix, 4000 psi", 60, 185.0, 10
                    ),
                    _co_line("03-300", "labor", "Placing and finishing", 80, 72.5, 10),
                ],
                side="prime",
                reason="owner_request",
                schedule_impact_days=3,
                change_event_external_ids=[change_event_ext],
            )["id"]
        )
        order_id = event["result"]["ids"][0]
        priced = self._change_event(change_event_id)
        self.records.add(("construction.change.order", order_id))
        self.say(
            f"   change_order.upsert -> {event['state']} (change order #{order_id}, "
            f"pricing {priced['name']}, now {priced['state']})"
        )
        pending = self.pm.client.send(
            "change_order.status",
            {
                "external_id": external_id,
                "version": self.pm.next_version(external_id),
                "status": "pending_in_review",
                "reason": None,
            },
        )
        budget = self._budget()
        self.say(
            f"   submitted ({pending['state']}): budget pending changes "
            f"{budget['pending_change_amount']:,.2f}"
        )
        # The project manager approves in Odoo (Approve button); the platform hears
        # about it by webhook.
        self.odoo.call("construction.change.order", "action_approve", [order_id])
        budget_after = self._budget()
        order = self.odoo.read_one(
            "construction.change.order",
            order_id,
            ["name", "amount_cost", "amount_price"],
        )
        self.say(
            f"   approved in Odoo: {order['name']} cost "
            f"{order['amount_cost']:,.2f}, price {order['amount_price']:,.2f}; budget "
            f"approved changes {budget_after['approved_change_amount']:,.2f}, revised "
            f"{budget_after['revised_amount']:,.2f}"
        )
        webhook = self.pm.receiver.wait_for(
            lambda m: (
                m["event_type"] == "change_order.status" and m["record_id"] == order_id
            )
        )
        self.say(
            f"   the platform received change_order.status by webhook "
            f"(signature verified: {webhook['signature_valid']})"
        )
        # the platform closes its change event: priced and approved
        closed = self.pm.client.wait(
            self.pm.push_change_event(*ce_args, status="closed")["id"]
        )
        after_close = self._change_event(change_event_id)
        self.say(
            f"   the platform closes {after_close['name']} (version 2, "
            f"{closed['state']}): {after_close['state']}"
        )
        self.link(
            "change event",
            "/odoo/action-construction_change_order."
            f"construction_change_event_action/{change_event_id}",
        )
        self.link(
            "change order",
            "/odoo/action-construction_change_order."
            f"construction_change_order_action/{order_id}",
        )
        self.record(
            "change_event",
            change_event_id=change_event_id,
            states=[ce_event["state"], closed["state"]],
            event_states=[
                change_event["state"],
                priced["state"],
                after_close["state"],
            ],
            amount_cost=change_event["amount_cost"],
            amount_revenue=change_event["amount_revenue"],
            change_order_ids=after_close["change_order_ids"],
        )
        self.record(
            "change_order",
            change_order_id=order_id,
            states=[event["state"], pending["state"]],
            pending_before=budget["pending_change_amount"],
            approved_after=budget_after["approved_change_amount"],
            cost=order["amount_cost"],
        )

    def deliberate_failure(self):
        self.step(
            "Week 2: a change order uses a cost code nobody mapped (deliberate failure)"
        )
        # a code of division 31 that exists nowhere yet (one per run of the demo)
        code, name = f"31-{230 + self.project['run']}", "Rock removal"
        external_id = self.ext("pcco-2")
        event = self.pm.client.wait(
            self.pm.push_change_order(
                external_id,
                self.project["ref"],
                "Rock at the north footing",
                [
                    _co_line(
                        code, "equipment", "Hydraulic hammer, 2 days", 16, 210.0, 15
                    )
                ],
                side="prime",
                reason="unforeseen_condition",
            )["id"]
        )
        self.say(f"   change_order.upsert -> {event['state']}: {event['error']}")
        failed_tile = self._overview_tile("event_failed")
        self.say(
            f"   the Integration Overview shows it: {failed_tile['name']} "
            f"{failed_tile['count']} ({failed_tile['severity']})"
        )
        self.link("Integration Overview", OVERVIEW_PATH)
        self.link(
            "failed events (monitoring)",
            "/odoo/action-construction_connector_base.construction_event_action_failed",
        )
        self._screenshot_overview("overview-failed-event")
        # The platform sees it too: its health check, then the failed events of
        # the change order it pushed.
        health = self.pm.client.health()
        failed = self.pm.client.events(state="failed,dead", external_id=external_id)
        self.say(
            f"   the platform's health check says {health['status']} (inbox failed "
            f"{health['inbox']['failed']}); GET /events?state=failed,dead lists "
            f"event {', '.join(str(item['id']) for item in failed['items'])}"
        )
        self.say(
            f"   fix: the platform syncs cost code {code}, then replays event "
            f"{event['id']} through the API"
        )
        item = self.pm.sync_cost_codes([(code, name)])[0]
        fixed = self.pm.client.wait(item["event"]["id"])
        for failed_event in failed["items"]:
            self.pm.client.replay(failed_event["id"])
        replayed = self.pm.client.wait(event["id"])
        self.say(
            f"   cost code {code} -> {fixed['state']}; replayed event -> "
            f"{replayed['state']} (attempts {replayed['attempts']})"
        )
        self.record(
            "failure_replayed",
            overview_failed_count=failed_tile["count"],
            overview_severity=failed_tile["severity"],
            event_id=event["id"],
            listed_failed=[item["id"] for item in failed["items"]],
            platform_health=health["status"],
            failed_state=event["state"],
            error=event["error"],
            fix_state=fixed["state"],
            replayed_state=replayed["state"],
            change_order_id=(replayed["result"] or {"ids": [None]})["ids"][0],
        )
        self.platform_approval(external_id, replayed["result"]["ids"][0])

    def platform_approval(self, external_id, order_id):
        """The owner signs in the platform, which is the approver of record."""
        before = self._budget()
        self.records.add(("construction.change.order", order_id))
        states = [
            self.pm.client.wait(
                self.pm.decide_change_order(external_id, status, reason)["id"]
            )["state"]
            for status, reason in (
                ("pending_in_review", None),
                ("approved", "Signed by the owner in the platform"),
            )
        ]
        after = self._budget()
        order = self.odoo.read_one(
            "construction.change.order", order_id, ["name", "stage_kind", "amount_cost"]
        )
        self.say(
            f"   the platform submits and approves {order['name']} "
            f"({', '.join(states)}): {order['stage_kind']}; budget approved changes "
            f"{before['approved_change_amount']:,.2f} -> "
            f"{after['approved_change_amount']:,.2f}"
        )
        self.record(
            "platform_approval",
            change_order_id=order_id,
            states=states,
            stage_kind=order["stage_kind"],
            approved_before=before["approved_change_amount"],
            approved_after=after["approved_change_amount"],
        )

    def progress_and_billing(self):
        self.step(
            "Week 3: progress from the field, pay application certified and invoiced"
        )
        today = datetime.date.today()
        period_to = today.replace(day=calendar.monthrange(today.year, today.month)[1])
        event = self.pm.client.wait(
            self.pm.report_progress(
                self.ext(f"progress-{period_to:%Y-%m}"),
                self.project["ref"],
                period_to.isoformat(),
                [
                    {"item_no": "1", "percent_complete": 20.0},
                    {
                        "cost_code": "03-300",
                        "work_completed_to_date": 162000.0,
                        "stored_to_date": 18000.0,
                    },
                    {"item_no": "3", "percent_complete": 5.0},
                ],
            )["id"]
        )
        app_id = event["result"]["ids"][0]
        self.say(f"   progress.update -> {event['state']} (pay application #{app_id})")
        self.odoo.call("construction.pay.application", "action_submit", [app_id])
        self.odoo.call("construction.pay.application", "action_certify", [app_id])
        app = self.odoo.read_one(
            "construction.pay.application",
            app_id,
            ["name", "approval_state", "invoice_id", "current_payment_due"],
        )
        invoice_id = app["invoice_id"][0]
        self.records.add(("account.move", invoice_id))
        invoice = self._post_move(invoice_id)
        self.say(
            f"   {app['name']} {app['approval_state']}: current payment due "
            f"{app['current_payment_due']:,.2f}; invoice {invoice['name']} "
            f"{invoice['state']} ({invoice['amount_total']:,.2f})"
        )
        webhook = self.pm.receiver.wait_for(
            lambda m: (
                m["event_type"] == "billing.invoice_posted"
                and m["data"]["invoice"] == invoice["name"]
            )
        )
        self.say(
            f"   the platform received billing.invoice_posted "
            f"(signature verified: {webhook['signature_valid']})"
        )
        self.link(
            "pay application",
            "/odoo/action-construction_billing."
            f"construction_pay_application_action/{app_id}",
        )
        self.record(
            "billing",
            pay_application_id=app_id,
            approval_state=app["approval_state"],
            current_payment_due=app["current_payment_due"],
            invoice_id=invoice_id,
            invoice_state=invoice["state"],
        )

    def procurement(self):
        self.step(
            "Week 4: a material request is ordered, acknowledged, delivered, invoiced"
        )
        event = self.pm.client.wait(
            self.pm.request_material(
                self.ext("mr-1"),
                self.project["ref"],
                [
                    {
                        "cost_code": "03-300",
                        "cost_type": "material",
                        "product": "RMC-4000",
                        "quantity": 60,
                    }
                ],
                description="Thickened slab pour (change order 1)",
            )["id"]
        )
        request_id = event["result"]["ids"][0]
        self.say(
            f"   material_request.upsert -> {event['state']} (request #{request_id})"
        )
        self.odoo.call("construction.material.request", "action_approve", [request_id])
        self.odoo.call(
            "construction.material.request", "action_create_rfq", [request_id]
        )
        order_ids = self.odoo.read_one(
            "construction.material.request", request_id, ["purchase_order_ids"]
        )["purchase_order_ids"]
        self.records.update(("purchase.order", order_id) for order_id in order_ids)
        self.odoo.call("purchase.order", "button_confirm", order_ids)
        order = self.odoo.read_one(
            "purchase.order", order_ids[0], ["name", "amount_untaxed", "partner_id"]
        )
        self.say(
            f"   approved and ordered: {order['name']} to {order['partner_id'][1]} "
            f"({order['amount_untaxed']:,.2f}); the outbox sends it to the portal"
        )
        steps = self.portal.wait_fulfilled(order["name"])
        for name, answer in steps:
            self.say(f"   portal: {name} -> event {answer['id']} {answer['state']}")
        bill = self.odoo.search_read(
            "account.move",
            [
                ("invoice_origin", "like", order["name"]),
                ("move_type", "=", "in_invoice"),
            ],
            ["name", "state", "construction_match_state", "amount_untaxed"],
        )[0]
        if bill["construction_match_state"] == "matched":
            # the portal's bill is locked to its synced fields (date included)
            self._post_move(bill["id"])
        bill = self.odoo.read_one(
            "account.move",
            bill["id"],
            ["name", "state", "construction_match_state", "amount_untaxed"],
        )
        budget = self._budget()
        self.say(
            f"   vendor bill {bill['name']}: three-way match "
            f"{bill['construction_match_state']}, {bill['state']} "
            f"({bill['amount_untaxed']:,.2f}); budget committed "
            f"{budget['committed_amount']:,.2f}, actual {budget['actual_amount']:,.2f}"
        )
        self.link(
            "purchase order",
            f"/odoo/action-purchase.purchase_form_action/{order_ids[0]}",
        )
        self.record(
            "procurement",
            material_request_id=request_id,
            purchase_order_id=order_ids[0],
            portal_steps=[[name, answer["state"]] for name, answer in steps],
            bill_id=bill["id"],
            bill_state=bill["state"],
            match_state=bill["construction_match_state"],
        )

    def _post_move(self, move_id):
        """Post an invoice or bill (dated today when it has no date yet)."""
        move = self.odoo.read_one("account.move", move_id, ["invoice_date"])
        if not move["invoice_date"]:
            self.odoo.call(
                "account.move",
                "write",
                [move_id],
                {"invoice_date": datetime.date.today().isoformat()},
            )
        self.odoo.call("account.move", "action_post", [move_id])
        return self.odoo.read_one(
            "account.move", move_id, ["name", "state", "amount_total"]
        )

    def _overview_tile(self, key):
        """The Integration Overview's tile ``key`` as the Overview menu shows it
        (refreshed by opening it)."""
        self.odoo.call("construction.monitor.tile", "action_open_overview")
        tiles = self.odoo.search_read(
            "construction.monitor.tile",
            [("key", "=", key)],
            ["name", "count", "severity", "detail"],
            order="id desc",
            limit=1,
        )
        return tiles[0] if tiles else {"name": key, "count": 0, "severity": "ok"}

    def _screenshot_overview(self, name):
        """With ``--screenshots DIR``: the Overview as it is now, into DIR/NAME."""
        if not self.screenshots:
            return
        out = Path(self.screenshots) / name
        command = [
            sys.executable,
            str(Path(__file__).resolve().parents[1] / "setup" / "_screenshots.py"),
            "--url",
            self.url,
            "--db",
            self.db,
            "--out",
            str(out),
            "--only",
            "14-integration-overview",
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=180, check=False
        )
        if done.returncode:
            self.say(f"   (no screenshot: {(done.stderr or done.stdout).strip()})")
        else:
            self.say(f"   screenshot: {out / '14-integration-overview.png'}")

    def subcontract_requisition(self):
        self.step(
            "Week 4: the electrical subcontractor's requisition, approved in Odoo "
            "with its vendor bill"
        )
        sub = self.project["subcontract"]
        today = datetime.date.today()
        period_start = today.replace(day=1)
        period_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
        event = self.pm.client.wait(
            self.pm.submit_requisition(
                self.ext("req-1"),
                sub["name"],
                period_start.isoformat(),
                period_end.isoformat(),
                [{"line_id": sub["line_id"], "work_this_period": 36000.0}],
            )["id"]
        )
        app_id = event["result"]["ids"][0]
        model = "construction.subcontract.pay.application"
        self.records.add((model, app_id))
        fields = [
            "name",
            "state",
            "amount_this_period",
            "retainage_this_period",
            "amount_due",
            "bill_id",
        ]
        submitted = self.odoo.read_one(model, app_id, fields)
        self.say(
            f"   subcontract_invoice.upsert -> {event['state']} ({submitted['name']} "
            f"on {sub['name']} {sub['vendor']}: {submitted['state']}, "
            f"{submitted['amount_this_period']:,.2f} this period)"
        )
        # The project manager approves it in Odoo: the vendor bill is created.
        self.odoo.call(model, "action_approve", [app_id])
        app = self.odoo.read_one(model, app_id, fields)
        bill_id = app["bill_id"][0]
        bill = self._post_move(bill_id)
        self.say(
            f"   approved in Odoo: {app['state']}, retainage withheld "
            f"{app['retainage_this_period']:,.2f}, due {app['amount_due']:,.2f}; "
            f"vendor bill {bill['name']} {bill['state']} "
            f"({bill['amount_total']:,.2f})"
        )
        webhook = self.pm.receiver.wait_for(
            lambda m: (
                m["event_type"] == "subcontract_invoice.approved"
                and m["record_id"] == app_id
            )
        )
        self.say(
            f"   the platform received subcontract_invoice.approved for "
            f"{webhook['data']['application']} (due "
            f"{webhook['data']['amount_due']:,.2f}, signature verified: "
            f"{webhook['signature_valid']})"
        )
        self.link(
            "subcontractor pay application",
            f"/odoo/construction.subcontract.pay.application/{app_id}",
        )
        self.record(
            "subcontract",
            application_id=app_id,
            event_state=event["state"],
            submitted_state=submitted["state"],
            state=app["state"],
            amount_this_period=app["amount_this_period"],
            retainage_this_period=app["retainage_this_period"],
            amount_due=app["amount_due"],
            bill_id=bill_id,
            bill_state=bill["state"],
            webhook_application=webhook["data"]["application"],
            webhook_amount_due=webhook["data"]["amount_due"],
        )

    def _platform_figures(self):
        """The platform's cost report per cost code and metric: what it pushed
        and heard back this month (budget, approved changes, commitments, job
        cost, billing)."""
        budget_lines = self.odoo.search_read(
            "construction.budget.line",
            [("budget_id", "=", self.project["budget_id"])],
            [
                "cost_code_id",
                "original_amount",
                "approved_change_amount",
                "committed_amount",
                "actual_amount",
            ],
        )
        app_lines = self.odoo.search_read(
            "construction.pay.application.line",
            [
                (
                    "application_id",
                    "=",
                    self.summary_step("billing")["pay_application_id"],
                )
            ],
            ["sov_line_id", "total_completed_stored", "retainage_to_date"],
        )
        sov = {
            line["id"]: line["cost_code_id"][0]
            for line in self.odoo.search_read(
                "construction.sov.line",
                [("id", "in", [line["sov_line_id"][0] for line in app_lines])],
                ["cost_code_id"],
            )
        }
        figures = {}

        def add(code_id, metric, amount):
            if amount:
                key = (code_id, metric)
                figures[key] = round(figures.get(key, 0.0) + amount, 2)

        for line in budget_lines:
            code_id = line["cost_code_id"][0]
            add(code_id, "budget", line["original_amount"])
            add(code_id, "approved_changes", line["approved_change_amount"])
            add(code_id, "jtd_cost", line["actual_amount"])
        for line in app_lines:
            code_id = sov[line["sov_line_id"][0]]
            add(code_id, "billed", line["total_completed_stored"])
            add(code_id, "retainage_held", line["retainage_to_date"])
        # commitments: the orders the platform followed this month, at their
        # ordered value (the budget's committed column is what is still open)
        for line in self.odoo.search_read(
            "purchase.order.line",
            [
                ("order_id.project_id", "=", self.project["id"]),
                ("order_id.state", "in", ["purchase", "done"]),
            ],
            ["construction_cost_code_id", "price_subtotal"],
        ):
            if line["construction_cost_code_id"]:
                add(
                    line["construction_cost_code_id"][0],
                    "committed",
                    line["price_subtotal"],
                )
        codes = {
            account["id"]: account["code"]
            for account in self.odoo.search_read(
                "account.analytic.account",
                [("id", "in", sorted({key[0] for key in figures}))],
                ["code"],
            )
        }
        return {
            (codes[code_id], metric): amount
            for (code_id, metric), amount in figures.items()
        }

    def summary_step(self, name):
        return next(step for step in self.summary["steps"] if step["step"] == name)

    def reconciliation(self):
        self.step(
            "Month end: the PM platform pushes its cost report for reconciliation"
        )
        figures = self._platform_figures()
        # One deliberate difference: the platform still holds the electrical
        # subcontract at its bid value, 5,000.00 below the signed subcontract.
        key = ("26-100", "committed")
        figures[key] = round(figures.get(key, 0.0) - 5000.0, 2)
        lines = [
            {
                "project": self.project["ref"],
                "cost_code": code,
                "metric": metric,
                "amount": amount,
            }
            for (code, metric), amount in sorted(figures.items())
        ]
        answer = self.pm.send_reconciliation_snapshot(
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            lines,
            source="PM platform cost report",
        )
        run = answer["run"]
        self.say(
            f"   snapshot #{answer['id']} ({answer['lines']} figures) reconciled at "
            f"once: {run['name']} {run['state']}, compared {run['compared']}, "
            f"open mismatches {run['open']}"
        )
        mismatches = self.odoo.search_read(
            "construction.reconciliation.mismatch",
            [("project_id", "=", self.project["id"]), ("state", "=", "open")],
            ["cost_code_id", "metric", "odoo_amount", "external_amount", "difference"],
            order="id",
        )
        for mismatch in mismatches:
            self.say(
                f"   open mismatch: {mismatch['cost_code_id'][1]} "
                f"{mismatch['metric']}: Odoo {mismatch['odoo_amount']:,.2f}, "
                f"platform {mismatch['external_amount']:,.2f} (difference "
                f"{mismatch['difference']:,.2f})"
            )
        tile = self._overview_tile("reconciliation_open")
        self.say(
            f"   the Integration Overview shows it: {tile['name']} {tile['count']}"
        )
        self.link("Integration Overview", OVERVIEW_PATH)
        self._screenshot_overview("overview-open-mismatch")
        self.record(
            "reconciliation",
            snapshot_lines=answer["lines"],
            run_state=run["state"],
            compared=run["compared"],
            mismatches=[
                {
                    "cost_code": mismatch["cost_code_id"][1],
                    "metric": mismatch["metric"],
                    "odoo_amount": mismatch["odoo_amount"],
                    "external_amount": mismatch["external_amount"],
                    "difference": mismatch["difference"],
                }
                for mismatch in mismatches
            ],
            overview_count=tile["count"],
        )

    def finish(self):
        self.step("Done")
        self.summary["webhooks"] = {
            "pm": self.pm.receiver.stats(),
            "portal": self.portal.receiver.stats(),
        }
        self.summary["run_webhooks"] = sorted(
            (
                {
                    "system": system.name,
                    "event_type": message["event_type"],
                    "model": message["model"],
                    "record_id": message["record_id"],
                    "signature_valid": message["signature_valid"],
                }
                for system in (self.pm, self.portal)
                for message in system.receiver.received()
                if (message["model"], message["record_id"]) in self.records
            ),
            key=lambda item: (item["system"], item["event_type"], item["record_id"]),
        )
        # the status codes the platform heard per change order of this run
        statuses = {}
        for message in self.pm.receiver.received():
            key = ("construction.change.order", message["record_id"])
            if message["event_type"] == "change_order.status" and key in self.records:
                statuses.setdefault(str(message["record_id"]), []).append(
                    message["data"]["status"]
                )
        self.summary["change_order_statuses_heard"] = statuses
        self.summary["client_retries"] = (
            self.pm.client.retries + self.portal.client.retries
        )
        for name, stats in self.summary["webhooks"].items():
            self.say(f"   {name} webhooks: {json.dumps(stats)}")
        self.link(
            "events (inbox)",
            "/odoo/action-construction_connector_base.construction_event_action",
        )
        self.link(
            "outbox",
            "/odoo/action-construction_connector_base.construction_outbox_action",
        )
        self.say(f"   log in as admin / admin on {self.url}/web/login?db={self.db}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m reference.scenario")
    parser.add_argument("--config", required=True, help="JSON from _demo_provision.py")
    parser.add_argument("--odoo", default="http://127.0.0.1:8069")
    parser.add_argument("--db", required=True)
    parser.add_argument("--pm-port", type=int, default=0)
    parser.add_argument("--portal-port", type=int, default=0)
    parser.add_argument(
        "--exit", action="store_true", help="stop when the month is played"
    )
    parser.add_argument("--summary", help="write the outcome as JSON to this file")
    parser.add_argument(
        "--screenshots",
        help="take the Integration Overview with the failed event and with the "
        "open mismatch into this directory (headless Chromium)",
    )
    args = parser.parse_args(argv)
    with open(args.config) as handle:
        config = json.load(handle)
    scenario = Scenario(
        config,
        args.odoo,
        args.db,
        args.pm_port,
        args.portal_port,
        screenshots=args.screenshots,
    )
    status = 0
    try:
        summary = scenario.run()
    except (ApiError, TimeoutError, RuntimeError) as err:
        scenario.say(f"\nerror: the scenario stopped: {err}")
        summary = dict(scenario.summary, error=str(err))
        status = 1
    if args.summary:
        with open(args.summary, "w") as handle:
            json.dump(summary, handle, indent=2)
    if args.exit or status:
        return status
    scenario.say("\nThe reference systems keep receiving webhooks; stop with Ctrl-C.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
