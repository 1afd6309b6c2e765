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
import sys
import time

from .client import ApiError
from .odoo_rpc import OdooRpc
from .pm_platform import PmPlatform
from .supplier_portal import SupplierPortal


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
    def __init__(self, config, odoo_url, db, pm_port=0, portal_port=0, out=None):
        self.config = config
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
        # the portal fulfils this run's orders only
        self.portal.accept = lambda data: data.get("project") == self.project["name"]
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

    def change_orders(self):
        self.step(
            "Week 1: an owner change order arrives from the field, approved in Odoo"
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
            )["id"]
        )
        order_id = event["result"]["ids"][0]
        self.records.add(("construction.change.order", order_id))
        self.say(
            f"   change_order.upsert -> {event['state']} (change order #{order_id})"
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
        self.link(
            "change order",
            "/odoo/action-construction_change_order."
            f"construction_change_order_action/{order_id}",
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
        self.link(
            "failed events (monitoring)",
            "/odoo/action-construction_connector_base.construction_event_action_failed",
        )
        self.say(
            f"   fix: the platform syncs cost code {code}, then replays event "
            f"{event['id']} through the API"
        )
        item = self.pm.sync_cost_codes([(code, name)])[0]
        fixed = self.pm.client.wait(item["event"]["id"])
        self.pm.client.replay(event["id"])
        replayed = self.pm.client.wait(event["id"])
        self.say(
            f"   cost code {code} -> {fixed['state']}; replayed event -> "
            f"{replayed['state']} (attempts {replayed['attempts']})"
        )
        self.record(
            "failure_replayed",
            event_id=event["id"],
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
        self.odoo.call("account.move", "action_post", [invoice_id])
        invoice = self.odoo.read_one(
            "account.move", invoice_id, ["name", "state", "amount_total"]
        )
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
            self.odoo.call(
                "account.move",
                "write",
                [bill["id"]],
                {"invoice_date": datetime.date.today().isoformat()},
            )
            self.odoo.call("account.move", "action_post", [bill["id"]])
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
            "purchase order", f"/odoo/action-purchase.purchase_rfq/{order_ids[0]}"
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
    args = parser.parse_args(argv)
    with open(args.config) as handle:
        config = json.load(handle)
    scenario = Scenario(config, args.odoo, args.db, args.pm_port, args.portal_port)
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
