#!/usr/bin/env python3
"""Ingest benchmark: N change orders x 10 lines.

1. floor: one ORM batch ``create`` inside Odoo (no API, no queue);
2. point-to-point: one XML-RPC ``create`` per change order (sampled);
3. ours: the batch endpoint (100 per request, 2 concurrent senders) processed by
   the queue (setup/run: 2 HTTP workers + the job runner), timed from the first
   request to the last event done.
Prints change orders/s and the ratios; targets: >= 3x XML-RPC, >= 60% of the floor.
"""

import json
import time
import uuid
import xmlrpc.client
from concurrent.futures import ThreadPoolExecutor

import requests
from _common import (
    API,
    Database,
    Server,
    odoo_exec,
    parser,
    provision_backend,
    report,
    self_peak_mb,
    wait_until,
)

LINES = 10
BATCH = 100

SETUP = """
company = env.ref("base.main_company")
codes = env["account.analytic.account"].search(
    [("construction_role", "=", "cost_code"), ("company_id", "=", company.id)],
    limit=10, order="code")
labor = env["account.analytic.account"].search(
    [("construction_role", "=", "cost_type"), ("cost_type_kind", "=", "labor")],
    limit=1)
projects = env["project.project"].create(
    [{"name": f"Bench project {i}", "company_id": company.id}
     for i in range(N_PROJECTS)])
backend = env["construction.backend"].browse(BACKEND_ID)
env["construction.mapping"].create([
    {"backend_id": backend.id, "kind": "project", "external_code": f"BP-{i}",
     "target_ref": f"project.project,{p.id}"} for i, p in enumerate(projects)])
admin = env.ref("base.user_admin")
admin.password = PASSWORD
result = {"codes": codes.mapped("code"), "code_ids": codes.ids, "labor": labor.id,
          "projects": projects.ids}
"""

ORM_FLOOR = """
from odoo import Command
data = DATA
ctx = dict(tracking_disable=True, mail_create_nolog=True,
           mail_create_nosubscribe=True, mail_notrack=True)
Order = env["construction.change.order"].with_context(**ctx)
vals_list = []
for i in range(N):
    vals_list.append({
        "project_id": data["projects"][i // BATCH],
        "title": f"Floor change {i}",
        "line_ids": [Command.create({
            "cost_code_id": data["code_ids"][j % len(data["code_ids"])],
            "cost_type_id": data["labor"], "name": f"Line {j}",
            "quantity": 2, "unit_cost": 125.5}) for j in range(LINES)],
    })
start = time.perf_counter()
orders = Order.create(vals_list)
env.flush_all()
elapsed = time.perf_counter() - start
result = {"seconds": elapsed, "count": len(orders),
          "lines": sum(len(o.line_ids) for o in orders)}
cr.rollback()
"""


def payload(data, i, tag):
    return {
        "external_id": f"{tag}-{i}",
        "version": 1,
        "project": f"BP-{i // BATCH}",
        "title": f"Change {i}",
        "lines": [
            {
                "cost_code": data["codes"][j % len(data["codes"])],
                "cost_type": "labor",
                "description": f"Line {j}",
                "quantity": 2,
                "unit_cost": 125.5,
            }
            for j in range(LINES)
        ],
    }


def run_xmlrpc(url, db, password, data, sample):
    common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
    uid = common.authenticate(db, "admin", password, {})
    models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)
    start = time.perf_counter()
    for i in range(sample):
        vals = {
            "project_id": data["projects"][i % len(data["projects"])],
            "title": f"XML-RPC change {i}",
            "line_ids": [
                (
                    0,
                    0,
                    {
                        "cost_code_id": data["code_ids"][j % len(data["code_ids"])],
                        "cost_type_id": data["labor"],
                        "name": f"Line {j}",
                        "quantity": 2,
                        "unit_cost": 125.5,
                    },
                )
                for j in range(LINES)
            ],
        }
        models.execute_kw(
            db, uid, password, "construction.change.order", "create", [vals]
        )
    return time.perf_counter() - start


def run_api(url, key, data, n, senders, database):
    tag = uuid.uuid4().hex[:8]
    session = requests.Session()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    batches = [
        {
            "events": [
                {"event_id": f"{tag}-{i}", "payload": payload(data, i, tag)}
                for i in range(start, min(n, start + BATCH))
            ]
        }
        for start in range(0, n, BATCH)
    ]
    ack = []

    def send(body):
        t0 = time.perf_counter()
        response = session.post(
            f"{url}{API}/events/change_order.upsert/batch",
            data=json.dumps(body),
            headers=headers,
            timeout=300,
        )
        ack.append(time.perf_counter() - t0)
        statuses = {item["status"] for item in response.json()["items"]}
        assert response.status_code == 207 and statuses == {202}, response.text[:500]

    start = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(send, batches))
    acked = time.perf_counter() - start

    def finished():
        row = database.sql(
            "SELECT count(*) FILTER (WHERE state IN ('done','failed','dead')), "
            "count(*) FILTER (WHERE state = 'done') FROM construction_event "
            "WHERE event_type = 'change_order.upsert' "
            f"AND idempotency_key LIKE '{tag}-%'"
        )
        ended, done = (int(x) for x in row.split("|"))
        return (ended, done) if ended >= n else None

    ended, done = wait_until(finished, timeout=3600, interval=0.25)
    elapsed = time.perf_counter() - start
    lines = int(
        database.sql(
            "SELECT count(*) FROM construction_change_order_line l "
            "JOIN construction_change_order o ON o.id = l.change_order_id "
            "WHERE o.title LIKE 'Change %' "
            "AND o.create_date >= now() - interval '2 hours'"
        )
    )
    return elapsed, acked, done, lines, ack


def main():
    p = parser(__doc__)
    p.add_argument("-n", type=int, default=300, help="change orders (default 300)")
    p.add_argument("--sample", type=int, default=60, help="XML-RPC sample size")
    p.add_argument("--senders", type=int, default=2)
    args = p.parse_args()
    if args.full:
        args.n, args.sample = 2000, 500
    password = uuid.uuid4().hex
    with Database(args) as database:
        backend_id, key = provision_backend(database.name)
        data, _peak = odoo_exec(
            database.name,
            SETUP,
            {
                "N_PROJECTS": (args.n + BATCH - 1) // BATCH,
                "BACKEND_ID": backend_id,
                "PASSWORD": password,
            },
        )
        floor, floor_peak = odoo_exec(
            database.name,
            ORM_FLOOR,
            {"DATA": data, "BATCH": BATCH, "LINES": LINES, "N": args.n},
        )
        assert floor["count"] == args.n and floor["lines"] == args.n * LINES
        floor_rate = args.n / floor["seconds"]
        with Server(database.name) as server:
            xml_seconds = run_xmlrpc(
                server.url, database.name, password, data, args.sample
            )
            xml_rate = args.sample / xml_seconds
            elapsed, acked, done, lines, ack = run_api(
                server.url, key, data, args.n, args.senders, database
            )
        api_rate = args.n / elapsed
        report(
            f"Ingest: {args.n} change orders x {LINES} lines",
            [
                ("ORM batch create (floor), change orders/s", f"{floor_rate:.1f}"),
                (
                    f"XML-RPC create per record (sample {args.sample}), /s",
                    f"{xml_rate:.1f}",
                ),
                (
                    f"batch API + queue ({args.senders} senders, {BATCH}/request), /s",
                    f"{api_rate:.1f}",
                ),
                ("  all requests acknowledged after (s)", f"{acked:.1f}"),
                ("  last record written after (s)", f"{elapsed:.1f}"),
                ("  events done / sent", f"{done} / {args.n}"),
                ("  change order lines written", f"{lines} / {args.n * LINES}"),
            ],
            [
                ("API+queue / XML-RPC per record (target >= 3)", api_rate / xml_rate),
                ("API+queue / ORM floor (target >= 0.60)", api_rate / floor_rate),
            ],
            [
                ("Odoo server (master + workers)", server.peak_rss_mb),
                ("ORM floor process", floor_peak),
                ("bench client", self_peak_mb()),
            ],
        )
        if done != args.n or lines != args.n * LINES:
            raise SystemExit("FAILED: records lost or not processed")


if __name__ == "__main__":
    main()
