#!/usr/bin/env python3
"""Queue throughput with 2 workers (setup/run): M single events are posted through
the API by 4 clients, then drained by the queue_job runner. Prints processed events
per minute, enqueue-to-start p50/p95 (queue_job date_created -> date_started), and
the ratio against the rate of acknowledged requests in the same run.
"""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from _common import (
    API,
    Database,
    Server,
    parser,
    percentile,
    provision_backend,
    report,
    self_peak_mb,
    wait_until,
)


def main():
    p = parser(__doc__)
    p.add_argument("-m", type=int, default=200, help="events (default 200)")
    args = p.parse_args()
    if args.full:
        args.m = 2000
    tag = uuid.uuid4().hex[:6]
    with Database(args) as database:
        _backend_id, key = provision_backend(database.name)
        with Server(database.name) as server:
            headers = {
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
            }
            sessions = {}

            def post(i):
                s = sessions.setdefault(i % 4, requests.Session())
                body = {
                    "external_id": f"q-{tag}-{i}",
                    "code": f"03-Q{tag}{i}",
                    "name": "Queue probe",
                    "division": "03",
                    "version": 1,
                }
                r = s.post(
                    f"{server.url}{API}/events/cost_code.upsert",
                    data=json.dumps(body),
                    headers=dict(headers, **{"Idempotency-Key": f"q-{tag}-{i}"}),
                    timeout=120,
                )
                assert r.status_code == 202, r.text[:300]

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(post, range(args.m)))

            def drained():
                return (
                    database.sql(
                        "SELECT count(*) FROM construction_event WHERE state IN "
                        "('received','queued','processing') "
                        f"AND idempotency_key LIKE 'q-{tag}-%'"
                    )
                    == "0"
                )

            wait_until(drained, timeout=3600, interval=0.5)
        rows = database.sql(
            "SELECT extract(epoch FROM j.date_started - j.date_created), "
            "extract(epoch FROM j.date_done), extract(epoch FROM j.date_created), "
            "e.state FROM construction_event e JOIN queue_job j ON j.id = e.job_id "
            f"WHERE e.idempotency_key LIKE 'q-{tag}-%'"
        ).splitlines()
        waits = [float(r.split("|")[0]) for r in rows if r.split("|")[0]]
        done_at = [float(r.split("|")[1]) for r in rows if r.split("|")[1]]
        created = [float(r.split("|")[2]) for r in rows]
        states = [r.split("|")[3] for r in rows]
        span = max(done_at) - min(created)
        accept_span = max(created) - min(created) or 1e-9
        per_minute = len(done_at) / span * 60
        report(
            f"Queue throughput, {args.m} events, 2 workers",
            [
                ("processed events per minute", f"{per_minute:.0f}"),
                ("acknowledged events per minute", f"{args.m / accept_span * 60:.0f}"),
                (
                    "enqueue-to-start p50 / p95 (s)",
                    f"{percentile(waits, 50):.2f} / {percentile(waits, 95):.2f}",
                ),
                ("events done / sent", f"{states.count('done')} / {args.m}"),
            ],
            [
                (
                    "processed / acknowledged rate",
                    per_minute / (args.m / accept_span * 60),
                )
            ],
            [
                ("Odoo server (master + workers)", server.peak_rss_mb),
                ("bench client", self_peak_mb()),
            ],
        )


if __name__ == "__main__":
    main()
