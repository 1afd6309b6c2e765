"""A supplier portal: receives our purchase orders by webhook and answers back.

For each ``purchase_order.confirmed`` it receives (signature verified), the
supplier, in turn:

1. acknowledges the order (``purchase.acknowledgement``, ``accepted``);
2. ships and delivers every line in full (``delivery.notice`` ``delivered``);
3. invoices what it delivered at the ordered price (``supplier_invoice.status``
   ``submitted``), which Odoo matches against order and receipt (three-way match).

``purchase_order.changed`` / ``cancelled`` are stored and acknowledged in the log.
Each answer waits for the previous one to be processed (a real portal would poll
too), and the portal's own log of what happened per order is in ``orders``.

    python3 -m reference.supplier_portal --port 8072 --api http://localhost:8069 \\
        --key <API key> --secret <signing secret> [--step-delay 1]
"""

import argparse
import datetime
import logging
import time

from .system import ExternalSystem

_logger = logging.getLogger(__name__)


class SupplierPortal(ExternalSystem):
    name = "portal"
    key_prefix = "sp"

    def __init__(
        self,
        api_url,
        api_key,
        secret=None,
        port=0,
        host="127.0.0.1",
        step_delay=0.0,
        auto=True,
        supplier_ref="SP",
    ):
        super().__init__(api_url, api_key, secret, port, host)
        self.receiver.on_message = self.handle if auto else None
        self.step_delay = step_delay
        self.supplier_ref = supplier_ref
        self.orders = {}  # our order reference -> {"steps": [(step, event)], ...}
        # which confirmed orders this supplier fulfils (None: all); the others
        # are stored and left alone (Odoo sends every subscribed portal the
        # company's orders, including a backlog sent while the portal was down)
        self.accept = None

    def handle(self, message):
        data = message.get("data") or {}
        order = data.get("order")
        entry = self.orders.setdefault(order, {"steps": [], "messages": []})
        entry["messages"].append(message["event_type"])
        if message["event_type"] != "purchase_order.confirmed":
            return
        if self.accept and not self.accept(data):
            _logger.info("portal: %s is not for this supplier, left alone", order)
            return
        self.fulfil(data)

    def _step(self, order, name, event_type, payload):
        time.sleep(self.step_delay)
        event = self.client.send(event_type, payload, expect=None)
        self.orders[order]["steps"].append((name, event))
        _logger.info(
            "portal: %s %s -> event %s %s", name, order, event["id"], event["state"]
        )
        if event["state"] != "done":
            raise RuntimeError(
                f"{event_type} for {order} ended {event['state']}: {event['error']}"
            )
        return event

    def fulfil(self, data):
        """Acknowledge, deliver and invoice one order in full."""
        order = data["order"]
        today = datetime.date.today().isoformat()
        lines = [line for line in data["lines"] if line.get("quantity")]
        self._step(
            order,
            "acknowledged",
            "purchase.acknowledgement",
            {
                "order": order,
                "status": "accepted",
                "version": self.next_version(f"ack-{order}"),
                "supplier_ref": f"{self.supplier_ref}-{order}",
                "note": "Accepted, delivery as planned.",
            },
        )
        self._step(
            order,
            "delivered",
            "delivery.notice",
            {
                "external_id": f"dn-{order}",
                "order": order,
                "status": "delivered",
                "version": self.next_version(f"dn-{order}"),
                "date": today,
                "carrier_ref": f"TRUCK-{order}",
                "lines": [
                    {"line_id": line["line_id"], "quantity": line["quantity"]}
                    for line in lines
                ],
            },
        )
        self._step(
            order,
            "invoiced",
            "supplier_invoice.status",
            {
                "external_id": f"inv-{order}",
                "order": order,
                "status": "submitted",
                "version": self.next_version(f"inv-{order}"),
                "number": f"INV-{order}",
                "invoice_date": today,
                "currency": data.get("currency") or "USD",
                "lines": [
                    {
                        "line_id": line["line_id"],
                        "quantity": line["quantity"],
                        "price_unit": line["price_unit"],
                    }
                    for line in lines
                ],
            },
        )

    def wait_fulfilled(self, order, timeout=120):
        """Blocks until the portal has answered ``order`` in full (or failed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            steps = self.orders.get(order, {}).get("steps", [])
            if len(steps) == 3:
                return steps
            failed = [e for e in self.receiver.errors if order in e]
            if failed:
                raise RuntimeError(failed[0])
            time.sleep(0.3)
        raise TimeoutError(f"supplier portal did not finish {order} in {timeout}s")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m reference.supplier_portal")
    parser.add_argument("--port", type=int, default=8072, help="webhook port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api", default="http://localhost:8069", help="Odoo URL")
    parser.add_argument("--key", required=True, help="the portal's API key")
    parser.add_argument("--secret", help="the portal's signing secret")
    parser.add_argument("--step-delay", type=float, default=1.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    portal = SupplierPortal(
        args.api, args.key, args.secret, args.port, args.host, args.step_delay
    )
    _logger.info("supplier portal: webhooks at %s", portal.webhook_url)
    portal.receiver.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
