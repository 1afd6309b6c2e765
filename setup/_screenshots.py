"""Screenshots of the main screens, taken by headless Chromium driven over the
DevTools protocol (websocket-client). Run by setup/screenshots; not a command of
its own.

    python3 setup/_screenshots.py --url http://127.0.0.1:8069 --db construction_demo \\
        --out screenshots [--login admin --password admin] [--width 1440 --height 900]
"""

import argparse
import base64
import calendar
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from reference.odoo_rpc import OdooRpc  # noqa: E402

# (file name, what it shows, action xml id or URL path, model and domain of the
# record to open)
SCREENS = [
    (
        "01-budgets",
        "Job-cost budgets",
        "construction_connector_base.construction_budget_action",
        None,
    ),
    (
        "02-budget",
        "A project's job-cost budget",
        "construction_connector_base.construction_budget_action",
        ("construction.budget", []),
    ),
    (
        "03-job-cost-report",
        "Job cost report",
        "construction_connector_base.construction_budget_line_action",
        None,
    ),
    (
        "04-change-orders",
        "Change orders by status",
        "construction_change_order.construction_change_order_action",
        None,
    ),
    (
        "05-change-order",
        "An approved change order",
        "construction_change_order.construction_change_order_action",
        ("construction.change.order", [("stage_kind", "=", "approved")]),
    ),
    (
        "06-contract",
        "A prime contract and its schedule of values",
        "construction_billing.construction_contract_action",
        ("construction.contract", [("state", "=", "active")]),
    ),
    (
        "07-pay-application",
        "A certified pay application (G703)",
        "construction_billing.construction_pay_application_action",
        ("construction.pay.application", [("approval_state", "=", "certified")]),
    ),
    (
        "08-material-requests",
        "Material requests",
        "construction_procurement_sync.construction_material_request_action",
        None,
    ),
    (
        "09-purchase-orders",
        "Purchase orders against cost codes",
        "construction_procurement_sync.purchase_order_construction_action",
        None,
    ),
    (
        "10-external-systems",
        "External systems",
        "construction_connector_base.construction_backend_action",
        None,
    ),
    (
        "11-events",
        "Inbound events (inbox)",
        "construction_connector_base.construction_event_action",
        None,
    ),
    (
        "12-failed-events",
        "Failed events",
        "construction_connector_base.construction_event_action_failed",
        None,
    ),
    (
        "13-outbox",
        "Outbound webhooks (outbox)",
        "construction_connector_base.construction_outbox_action",
        None,
    ),
    (
        "14-integration-overview",
        "Integration Overview (monitoring tiles)",
        "/odoo/construction-integration-overview",
        None,
    ),
    (
        "15-wip-schedule",
        "Work in progress schedule (over/under billing)",
        "construction_billing.construction_wip_report_line_action",
        None,
    ),
]


def _prepare_wip_schedule(rpc):
    """The schedule is a wizard's result: run it once as of the month end (the
    demo's pay applications and bills are dated in the month it plays), dropping
    the user's earlier runs so each project shows once."""
    reports = rpc.call("construction.wip.report", "search", [])
    if reports:
        rpc.call("construction.wip.report", "unlink", reports)
    today = datetime.date.today()
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    report = rpc.call(
        "construction.wip.report", "create", {"as_of": month_end.isoformat()}
    )
    rpc.call("construction.wip.report", "action_compute", [report])


# Screens whose data is made just before the shot.
PREPARE = {"15-wip-schedule": _prepare_wip_schedule}

READY_JS = """(() => {
    const busy = document.querySelector('.o_loading_indicator, .o_blockUI');
    const view = document.querySelector(
        '.o_action_manager .o_view_controller, .o_action_manager .o_form_view');
    return Boolean(view) && !busy;
})()"""


class Chrome:
    def __init__(self, binary, width, height):
        self.profile = tempfile.mkdtemp(prefix="construction-shots-")
        port_file = Path(self.profile) / "DevToolsActivePort"
        self.process = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _attempt in range(100):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        page = next(
            target
            for target in requests.get(
                f"http://127.0.0.1:{port}/json", timeout=5
            ).json()
            if target["type"] == "page"
        )
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self._id = 0

    def send(self, method, **params):
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            answer = json.loads(self.ws.recv())
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def evaluate(self, expression):
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True
        )
        return result.get("result", {}).get("value")

    def close(self):
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            self.process.wait(timeout=10)
            shutil.rmtree(self.profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8069")
    parser.add_argument("--db", required=True)
    parser.add_argument("--out", default="screenshots")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--only", help="comma-separated screen names to take")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "chromium"))
    args = parser.parse_args()
    binary = shutil.which(args.chromium) or shutil.which("chromium-browser")
    if not binary:
        sys.exit("error: Chromium is not installed (Debian: apt-get install chromium)")
    rpc = OdooRpc(args.url, args.db, args.login, args.password)
    login = requests.post(
        f"{args.url}/web/session/authenticate",
        json={
            "jsonrpc": "2.0",
            "params": {"db": args.db, "login": args.login, "password": args.password},
        },
        timeout=60,
    )
    session_id = login.cookies.get("session_id")
    if not session_id:
        sys.exit(f"error: could not log in as {args.login} on {args.db}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chrome = Chrome(binary, args.width, args.height)
    taken = []
    try:
        chrome.send("Page.enable")
        chrome.send(
            "Network.setCookie", name="session_id", value=session_id, url=args.url
        )
        for name, title, action, record in SCREENS:
            if args.only and name not in args.only.split(","):
                continue
            if name in PREPARE:
                PREPARE[name](rpc)
            path = action if action.startswith("/") else f"/odoo/action-{action}"
            if record:
                ids = rpc.call(record[0], "search", record[1], limit=1, order="id desc")
                if not ids:
                    print(f"   skipped {name}: no {record[0]} record", flush=True)
                    continue
                path += f"/{ids[0]}"
            chrome.send("Page.navigate", url=f"{args.url}{path}")
            deadline = time.monotonic() + 30
            time.sleep(1)
            while time.monotonic() < deadline and not chrome.evaluate(READY_JS):
                time.sleep(0.3)
            time.sleep(1.5)  # let charts and statusbars settle
            shot = chrome.send("Page.captureScreenshot", format="png")
            target = out / f"{name}.png"
            target.write_bytes(base64.b64decode(shot["data"]))
            taken.append({"file": target.name, "title": title, "url": path})
            print(f"   {target} - {title}", flush=True)
    finally:
        chrome.close()
    (out / "index.json").write_text(json.dumps(taken, indent=2))
    print(f"==> {len(taken)} screenshots in {out}")


if __name__ == "__main__":
    main()
