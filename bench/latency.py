#!/usr/bin/env python3
"""Acknowledgement latency of the event API under a bounded burst (p50/p95/p99 at
10 and 50 concurrent clients on 127.0.0.1), against Odoo's lightest authenticated
JSON route (/web/session/get_session_info with a session cookie) under the same load
as the floor. Target: our p99 within 3x of the floor's p99; the queue absorbs the
work (events are processed after the acknowledgement).
"""

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from _common import (
    API,
    Database,
    Server,
    odoo_exec,
    parser,
    percentile,
    provision_backend,
    report,
    self_peak_mb,
)

local = threading.local()


def session():
    if not hasattr(local, "session"):
        local.session = requests.Session()
    return local.session


RESETS = {}


def burst(fn, requests_count, clients, label=None):
    """Latencies of ``requests_count`` calls by ``clients`` threads. A connection
    reset (Odoo's listen backlog is 8 x workers) is retried like a client would,
    within the measured latency, and counted."""
    latencies = []

    def one(i):
        t0 = time.perf_counter()
        for attempt in range(10):
            try:
                fn(i)
                break
            except requests.ConnectionError:
                RESETS[label] = RESETS.get(label, 0) + 1
                time.sleep(0.05 * (attempt + 1))
        else:
            raise RuntimeError("10 connection resets in a row")
        latencies.append(time.perf_counter() - t0)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(requests_count)))
    return latencies


def main():
    p = parser(__doc__)
    p.add_argument("--requests", type=int, default=200, help="per burst")
    p.add_argument("--clients", default="10,50")
    args = p.parse_args()
    if args.full:
        args.requests = 1000
    password = uuid.uuid4().hex
    with Database(args) as database:
        _backend_id, key = provision_backend(database.name)
        odoo_exec(
            database.name,
            "env.ref('base.user_admin').password = PASSWORD",
            {"PASSWORD": password},
        )
        with Server(database.name) as server:

            def login():
                s = requests.Session()
                r = s.post(
                    f"{server.url}/web/session/authenticate",
                    json={
                        "jsonrpc": "2.0",
                        "params": {
                            "db": database.name,
                            "login": "admin",
                            "password": password,
                        },
                    },
                    timeout=120,
                )
                assert r.ok and "error" not in r.json(), r.text[:300]
                return s

            # one authenticated session per client, logged in before timing
            sessions = [
                login() for _i in range(max(int(c) for c in args.clients.split(",")))
            ]

            def floor(i, clients):
                r = sessions[i % clients].post(
                    f"{server.url}/web/session/get_session_info",
                    json={"jsonrpc": "2.0", "params": {}},
                    timeout=120,
                )
                assert r.ok and (r.json().get("result") or {}).get("uid"), r.text[:400]

            tag = uuid.uuid4().hex[:6]
            headers = {
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
            }

            def ours(i):
                body = {
                    "external_id": f"lat-{tag}-{i}",
                    "code": f"03-L{tag}{i}",
                    "name": "Latency probe",
                    "division": "03",
                    "version": 1,
                }
                r = session().post(
                    f"{server.url}{API}/events/cost_code.upsert",
                    data=json.dumps(body),
                    headers=dict(headers, **{"Idempotency-Key": f"lat-{tag}-{i}"}),
                    timeout=120,
                )
                assert r.status_code == 202, r.text[:300]

            rows, ratios = [], []
            offset = 0
            for clients in (int(c) for c in args.clients.split(",")):
                burst(lambda i, c=clients: floor(i, c), min(20, args.requests), clients)
                base = burst(
                    lambda i, c=clients: floor(i, c),
                    args.requests,
                    clients,
                    f"floor @ {clients}",
                )
                mine = burst(
                    lambda i, o=offset: ours(o + i),
                    args.requests,
                    clients,
                    f"event API @ {clients}",
                )
                offset += args.requests
                for label, values in (
                    ("floor get_session_info", base),
                    ("event API", mine),
                ):
                    rows.append(
                        (
                            f"{label} @ {clients} clients p50/p95/p99 (ms)",
                            " / ".join(
                                f"{percentile(values, q) * 1000:.0f}"
                                for q in (50, 95, 99)
                            ),
                        )
                    )
                ratios.append(
                    (
                        f"p99 event API / floor @ {clients} clients (target <= 3)",
                        percentile(mine, 99) / percentile(base, 99),
                    )
                )
            # the queue absorbs the work after the acknowledgement
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                left = database.sql(
                    "SELECT count(*) FROM construction_event WHERE state IN "
                    "('received','queued','processing') "
                    f"AND idempotency_key LIKE 'lat-{tag}-%'"
                )
                if left == "0":
                    break
                time.sleep(0.5)
            done = database.sql(
                "SELECT count(*) FROM construction_event WHERE state = 'done' "
                f"AND idempotency_key LIKE 'lat-{tag}-%'"
            )
            rows.append(
                ("events acknowledged / processed by the queue", f"{offset} / {done}")
            )
            for label, count in sorted(RESETS.items()):
                rows.append((f"connection resets retried, {label}", str(count)))
        report(
            f"Acknowledgement latency ({args.requests} requests per burst)",
            rows,
            ratios,
            [
                ("Odoo server (master + workers)", server.peak_rss_mb),
                ("bench client", self_peak_mb()),
            ],
        )


if __name__ == "__main__":
    main()
