"""A small project-management platform (think Procore) as the suite sees it.

It owns the field-side data and pushes it to Odoo through the API: cost codes
(batch), change orders and their status decisions, monthly progress, material
requests and subcontractor requisitions. It receives our webhooks
(``change_order.status``, ``billing.invoice_posted`` ...) and verifies their
signatures.

Run it as a webhook endpoint (prints each verified message)::

    python3 -m reference.pm_platform --port 8071 --secret <signing secret>

or push a cost code once::

    python3 -m reference.pm_platform --api http://localhost:8069 --key <API key> \\
        --secret <signing secret> --push-cost-code 03-370 "Curing"
"""

import argparse
import json
import logging

from .system import ExternalSystem


class PmPlatform(ExternalSystem):
    """The platform's outbound side (a :class:`ConstructionClient`) and inbound
    side (a :class:`WebhookReceiver`), sharing one signing secret."""

    name = "pm"
    key_prefix = "pm"

    # ---- what the platform pushes ----

    def sync_cost_codes(self, codes):
        """``codes``: [(code, name)]: one batch of ``cost_code.upsert``; returns the
        batch items (each with its event)."""
        payloads = [
            {
                "external_id": f"cc-{code}",
                "code": code,
                "name": name,
                "version": self.next_version(f"cc-{code}"),
            }
            for code, name in codes
        ]
        return self.client.post_batch("cost_code.upsert", payloads)["items"]

    def _push_upsert(self, event_type, external_id, project, title, lines, extra):
        payload = {
            "external_id": external_id,
            "version": self.next_version(external_id),
            "project": project,
            "title": title,
            "lines": lines,
            **extra,
        }
        return self.client.post_event(event_type, payload)

    def push_change_order(self, external_id, project, title, lines, **extra):
        """``change_order.upsert``; ``lines``: dicts with cost_code, cost_type,
        description, quantity, unit_cost (and optional markup_percent, ...)."""
        return self._push_upsert(
            "change_order.upsert", external_id, project, title, lines, extra
        )

    def push_change_event(self, external_id, project, title, lines, **extra):
        """``change_event.upsert``: a potential change with rough cost and revenue;
        ``lines``: dicts with cost_code, description, cost_estimate,
        revenue_estimate (and optional cost_type)."""
        return self._push_upsert(
            "change_event.upsert", external_id, project, title, lines, extra
        )

    def send_reconciliation_snapshot(self, as_of, lines, reconcile=True, source=None):
        """``POST /reconciliation/snapshot``: the platform's totals per project,
        cost code and metric (``lines``: dicts with project, cost_code, metric,
        amount); with ``reconcile`` Odoo compares them at once."""
        payload = {"as_of": as_of, "reconcile": reconcile, "lines": lines}
        if source:
            payload["source"] = source
        return self.client.request(
            "POST",
            "/reconciliation/snapshot",
            payload,
            idempotency_key=self.client.new_key(),
            ok=(201,),
        )

    def decide_change_order(self, external_id, status, reason=None):
        """``change_order.status``: submit (``pending``), approve, reject, void..."""
        payload = {
            "external_id": external_id,
            "version": self.next_version(external_id),
            "status": status,
            "reason": reason,
        }
        return self.client.post_event("change_order.status", payload)

    def report_progress(self, external_id, project, period_to, lines, contract=None):
        """``progress.update``: progress per schedule-of-values line for a period."""
        payload = {
            "external_id": external_id,
            "version": self.next_version(external_id),
            "project": project,
            "period_to": period_to,
            "lines": lines,
        }
        if contract:
            payload["contract"] = contract
        return self.client.post_event("progress.update", payload)

    def request_material(self, external_id, project, lines, submit=True, **extra):
        """``material_request.upsert``: what the field needs, by cost code."""
        payload = {
            "external_id": external_id,
            "project": project,
            "version": self.next_version(external_id),
            "submit": submit,
            "lines": lines,
            **extra,
        }
        return self.client.post_event("material_request.upsert", payload)

    def submit_requisition(
        self, external_id, order, period_start, period_end, lines, submit=True
    ):
        """``subcontract_invoice.upsert``: a subcontractor's pay application."""
        payload = {
            "external_id": external_id,
            "order": order,
            "version": self.next_version(external_id),
            "period_start": period_start,
            "period_end": period_end,
            "submit": submit,
            "lines": lines,
        }
        return self.client.post_event("subcontract_invoice.upsert", payload)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m reference.pm_platform")
    parser.add_argument("--port", type=int, default=0, help="webhook port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--secret", help="the system's signing secret")
    parser.add_argument("--api", default="http://localhost:8069", help="Odoo URL")
    parser.add_argument("--key", help="API key (for pushing)")
    parser.add_argument("--push-cost-code", nargs=2, metavar=("CODE", "NAME"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    platform = PmPlatform(args.api, args.key, args.secret, args.port, args.host)
    if args.push_cost_code:
        if not args.key:
            parser.error("--push-cost-code needs --key")
        item = platform.sync_cost_codes([tuple(args.push_cost_code)])[0]
        event = platform.client.wait(item["event"]["id"])
        print(json.dumps(event, indent=2))
        return 0 if event["state"] == "done" else 1

    def show(message):
        logging.info(
            "webhook %s %s (signature %s): %s",
            message["event_type"],
            message["idempotency_key"],
            "verified" if message["signature_valid"] else "not checked",
            json.dumps(message.get("data"))[:300],
        )

    platform.receiver.on_message = show
    logging.info("PM platform: webhooks at %s", platform.webhook_url)
    platform.receiver.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
