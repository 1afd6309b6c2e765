"""Fault injection against a real Odoo (setup/run: 2 HTTP workers and the queue_job
runner) on the test database, loopback only, bounded in time (about a minute here):

* an Odoo worker killed (SIGKILL) in the middle of a job: the job is requeued (as
  queue_job's stuck-job collector does) and the result equals one clean run;
* an external receiver down (connection refused), then back: the outbox delivers
  every message exactly once;
* 500 deliveries of one event in parallel: one event, one record;
* PostgreSQL restarted during a burst (CONSTRUCTION_HEAVY_FAULTS=1 only: it restarts
  the local cluster with pg_ctlcluster, so never on a shared database server).

Each asserts that nothing is lost and nothing is doubled. These tests commit to the
test database (a throwaway one in CI); what they create is named uniquely.
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
API = "/api/construction/v1"
HEAVY = os.environ.get("CONSTRUCTION_HEAVY_FAULTS") == "1"


def _db_name():
    try:
        from odoo.tools import config
    except ImportError:
        return None
    return (config.get("db_name") or "").split(",")[0] or None


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(predicate, timeout, what, interval=0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module")
def database():
    name = _db_name()
    if not name:
        pytest.skip("needs the test database (run through setup/test)")
    return name


@contextmanager
def odoo_env(database):
    """A committed transaction on the test database, as superuser."""
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry

    with Registry(database).cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, {})


def _sql(database, query, params=()):
    import psycopg2

    with psycopg2.connect(dbname=database) as conn, conn.cursor() as cr:
        cr.execute(query, params)
        return cr.fetchall() if cr.description else None


@pytest.fixture(scope="module")
def system(database):
    """A project-management system with its key, a project mapping and cost codes
    mapped by code."""
    tag = uuid.uuid4().hex[:8]
    with odoo_env(database) as env:
        company = env.ref("base.main_company")
        backend = env["construction.backend"].create(
            {
                "name": f"Faults {tag}",
                "kind": "project_management",
                "company_id": company.id,
                "map_by_code": True,
                # every duplicate must reach the idempotency check, none be throttled
                "rate_limit": 0,
            }
        )
        backend.action_create_integration_user()
        key = backend._generate_api_key(name="faults")
        projects = env["project.project"].create(
            [{"name": f"Faults {tag} {i}", "company_id": company.id} for i in range(3)]
        )
        env["construction.mapping"].create(
            [
                {
                    "backend_id": backend.id,
                    "kind": "project",
                    "external_code": f"FP-{tag}-{i}",
                    "target_ref": f"project.project,{project.id}",
                }
                for i, project in enumerate(projects)
            ]
        )
        codes = env["account.analytic.account"].search(
            [("construction_role", "=", "cost_code"), ("company_id", "=", company.id)],
            limit=3,
            order="code",
        )
        info = {
            "tag": tag,
            "backend_id": backend.id,
            "key": key,
            "projects": projects.ids,
            "codes": codes.mapped("code"),
        }
    yield info
    with odoo_env(database) as env:
        env["construction.backend"].browse(info["backend_id"]).active = False


@pytest.fixture(scope="module")
def server(database):
    port = _free_port()
    log = open(f"/tmp/faults_{database}_{port}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            str(REPO / "setup" / "run"),
            "--db",
            database,
            "--port",
            str(port),
            f"--gevent-port={_free_port()}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _up(url), 90, "the Odoo server", interval=0.5)
        yield {"url": url, "pid": process.pid}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def _up(url):
    try:
        return requests.get(f"{url}/web/health", timeout=2).ok
    except requests.RequestException:
        return False


def _headers(system, key=None):
    headers = {
        "Authorization": f"Bearer {system['key']}",
        "Content-Type": "application/json",
    }
    if key:
        headers["Idempotency-Key"] = key
    return headers


def _change_order(system, external_id, project_index):
    return {
        "external_id": external_id,
        "version": 1,
        "project": f"FP-{system['tag']}-{project_index}",
        "title": "Fault-injected change",
        "lines": [
            {
                "cost_code": code,
                "cost_type": "labor",
                "description": f"Line {i}",
                "quantity": 3,
                "unit_cost": 111.11,
            }
            for i, code in enumerate(system["codes"])
        ],
    }


def _event(database, backend_id, key):
    rows = _sql(
        database,
        "SELECT e.id, e.state, e.attempts, e.result_ids, j.state, j.worker_pid "
        "FROM construction_event e LEFT JOIN queue_job j ON j.id = e.job_id "
        "WHERE e.backend_id = %s AND e.idempotency_key = %s",
        (backend_id, key),
    )
    return rows[0] if rows else None


def _orders(database, backend_id, external_id):
    return _sql(
        database,
        "SELECT o.id, o.number, o.amount_cost, count(l.id) "
        "FROM construction_binding b "
        "JOIN construction_change_order o ON o.id = b.res_id "
        "LEFT JOIN construction_change_order_line l ON l.change_order_id = o.id "
        "WHERE b.backend_id = %s AND b.model = 'construction.change.order' "
        "AND b.external_id = %s GROUP BY o.id",
        (backend_id, external_id),
    )


def _post_and_wait_done(database, server, system, key, payload, event_type):
    response = requests.post(
        f"{server['url']}{API}/events/{event_type}",
        data=json.dumps(payload),
        headers=_headers(system, key),
        timeout=60,
    )
    assert response.status_code == 202, response.text
    return _wait(
        lambda: (
            (row := _event(database, system["backend_id"], key))
            and row[1] in ("done", "failed", "dead")
            and row
        ),
        90,
        f"event {key} to finish",
    )


def test_worker_killed_mid_job_requeued_same_result(database, server, system):
    import psycopg2

    # the clean run, on project 0
    clean = _post_and_wait_done(
        database,
        server,
        system,
        f"clean-{system['tag']}",
        _change_order(system, f"co-clean-{system['tag']}", 0),
        "change_order.upsert",
    )
    assert clean[1] == "done"
    (clean_order,) = _orders(
        database, system["backend_id"], f"co-clean-{system['tag']}"
    )
    # the faulty run, on project 1: hold the project row so that the job blocks
    # in the middle of creating the change order (its number), then kill the worker
    locker = psycopg2.connect(dbname=database)
    try:
        with locker.cursor() as cr:
            cr.execute(
                "SELECT id FROM project_project WHERE id = %s FOR NO KEY UPDATE",
                (system["projects"][1],),
            )
        key = f"killed-{system['tag']}"
        external_id = f"co-killed-{system['tag']}"
        response = requests.post(
            f"{server['url']}{API}/events/change_order.upsert",
            data=json.dumps(_change_order(system, external_id, 1)),
            headers=_headers(system, key),
            timeout=60,
        )
        assert response.status_code == 202, response.text
        row = _wait(
            lambda: (
                (r := _event(database, system["backend_id"], key))
                and r[4] == "started"
                and r[5]
                and r
            ),
            60,
            "the job to start",
        )
        worker_pid = row[5]
        _wait(
            lambda: _sql(
                database,
                "SELECT 1 FROM pg_stat_activity WHERE datname = %s "
                "AND wait_event_type = 'Lock'",
                (database,),
            ),
            30,
            "the job to block on the project row",
        )
        os.kill(worker_pid, signal.SIGKILL)
        time.sleep(1)
    finally:
        locker.rollback()
        locker.close()
    # nothing was written by the killed job
    assert _orders(database, system["backend_id"], external_id) == []
    assert _event(database, system["backend_id"], key)[4] == "started"
    # what queue_job's stuck-job collector does once started_delta has passed
    _sql(
        database,
        "UPDATE queue_job SET date_started = date_started - interval '20 minutes' "
        "WHERE id = (SELECT job_id FROM construction_event "
        "WHERE backend_id = %s AND idempotency_key = %s)",
        (system["backend_id"], key),
    )
    with odoo_env(database) as env:
        env["queue.job"].requeue_stuck_jobs(enqueued_delta=0, started_delta=15)
    row = _wait(
        lambda: (
            (r := _event(database, system["backend_id"], key))
            and r[1] in ("done", "failed", "dead")
            and r
        ),
        90,
        "the requeued job",
    )
    assert row[1] == "done", row
    orders = _orders(database, system["backend_id"], external_id)
    assert len(orders) == 1, orders
    (order,) = orders
    # same result as the clean run: same number on its project, amount and lines
    assert order[1:] == clean_order[1:]
    assert order[3] == len(system["codes"])
    assert float(order[2]) == round(3 * 111.11 * len(system["codes"]), 2)
    assert json.loads(row[3]) == [order[0]]


class _Receiver(BaseHTTPRequestHandler):
    received = None

    def do_POST(self):  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append((self.headers.get("Idempotency-Key"), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args):
        pass


def test_receiver_down_then_back_delivers_once(database, server, system):
    port = _free_port()  # nothing listens yet: connection refused
    tag = system["tag"]
    with odoo_env(database) as env:
        backend = env["construction.backend"].create(
            {
                "name": f"Receiver {tag}",
                "kind": "other",
                "company_id": env.ref("base.main_company").id,
                "outbound_url": f"http://127.0.0.1:{port}/hook",
                "outbound_event_types": "fault.test",
            }
        )
        records = env["res.partner"].create(
            [{"name": f"Receiver {tag} {i}"} for i in range(3)]
        )
        messages = env["construction.outbox.message"]
        for record in records:
            messages |= env["construction.event"]._publish(
                backend, "fault.test", record, {"name": record.name}
            )
        keys = sorted(messages.mapped("idempotency_key"))
        ids = tuple(messages.ids)
    assert len(ids) == 3

    def states():
        return _sql(
            database,
            "SELECT m.state, m.attempts, j.state, j.retry FROM "
            "construction_outbox_message m JOIN queue_job j ON j.id = m.job_id "
            "WHERE m.id IN %s ORDER BY m.id",
            (ids,),
        )

    _wait(
        lambda: all(row[3] >= 1 and row[2] == "pending" for row in states()),
        60,
        "the first failed attempts",
    )
    assert all(row[0] == "retrying" for row in states()), states()
    # the receiver comes back; time passes until the next try
    received = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        _sql(
            database,
            "UPDATE queue_job SET eta = now() at time zone 'utc' - interval '1 second' "
            "WHERE id IN (SELECT job_id FROM construction_outbox_message "
            "WHERE id IN %s)",
            (ids,),
        )
        _wait(
            lambda: all(row[0] == "done" for row in states()),
            60,
            "the deliveries",
        )
        time.sleep(2)  # a late duplicate would arrive now
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert sorted(key for key, _body in received) == keys
    assert [json.loads(body)["event_id"] for key, body in sorted(received)] == keys
    assert [row[1] for row in states()] == [2, 2, 2]


def test_500_duplicate_deliveries_in_parallel(database, server, system):
    tag = system["tag"]
    key = f"dup-{tag}"
    payload = {
        "external_id": f"dup-{tag}",
        "code": f"03-D{tag[:6]}",
        "name": "Duplicated delivery",
        "division": "03",
        "version": 1,
    }
    body = json.dumps(payload)
    sessions = threading.local()

    def deliver(_i):
        if not hasattr(sessions, "s"):
            sessions.s = requests.Session()
        response = sessions.s.post(
            f"{server['url']}{API}/events/cost_code.upsert",
            data=body,
            headers=_headers(system, key),
            timeout=120,
        )
        return response.status_code, response.json().get(
            "id", response.json().get("event_id")
        )

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(deliver, range(500)))
    statuses = [status for status, _id in results]
    assert statuses.count(202) == 1, statuses
    assert set(statuses) <= {200, 202, 409}, set(statuses)
    event_ids = {event_id for _status, event_id in results if event_id}
    assert len(event_ids) == 1, event_ids
    rows = _sql(
        database,
        "SELECT id FROM construction_event WHERE backend_id = %s "
        "AND idempotency_key = %s",
        (system["backend_id"], key),
    )
    assert [row[0] for row in rows] == list(event_ids)
    _wait(
        lambda: _event(database, system["backend_id"], key)[1] == "done",
        60,
        "the event to be processed",
    )
    accounts = _sql(
        database,
        "SELECT id FROM account_analytic_account WHERE code = %s",
        (payload["code"],),
    )
    assert len(accounts) == 1
    bindings = _sql(
        database,
        "SELECT res_id FROM construction_binding WHERE backend_id = %s "
        "AND external_id = %s",
        (system["backend_id"], payload["external_id"]),
    )
    assert bindings == accounts


@pytest.mark.skipif(
    not HEAVY, reason="restarts PostgreSQL: CONSTRUCTION_HEAVY_FAULTS=1"
)
def test_postgresql_restart_during_burst(database, server, system):
    """A burst of 200 events; PostgreSQL restarts in the middle. Senders retry
    refused or failed requests with the same Idempotency-Key (at-least-once)."""
    tag = system["tag"]
    count = 200
    restarted = threading.Event()

    def deliver(i):
        key = f"pg-{tag}-{i}"
        body = json.dumps(
            {
                "external_id": key,
                "code": f"03-P{tag[:4]}{i}",
                "name": "Burst",
                "division": "03",
                "version": 1,
            }
        )
        if i == count // 3 and not restarted.is_set():
            restarted.set()
            subprocess.run(
                "pg_lsclusters --no-header | awk '{print $1, $2}' | "
                "while read v n; do pg_ctlcluster $v $n restart; done",
                shell=True,
                check=True,
                timeout=120,
            )
        for _attempt in range(60):
            try:
                response = requests.post(
                    f"{server['url']}{API}/events/cost_code.upsert",
                    data=body,
                    headers=_headers(system, key),
                    timeout=30,
                )
                if response.status_code in (200, 202):
                    return response.status_code
            except requests.RequestException:
                pass
            time.sleep(1)
        return None

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(deliver, range(count)))
    assert None not in statuses
    _wait(
        lambda: (
            _sql(
                database,
                "SELECT count(*) FROM construction_event WHERE backend_id = %s AND "
                "idempotency_key LIKE %s AND state = 'done'",
                (system["backend_id"], f"pg-{tag}-%"),
            )[0][0]
            == count
        ),
        300,
        "every event processed",
    )
    rows = _sql(
        database,
        "SELECT count(*), count(DISTINCT code) FROM account_analytic_account "
        "WHERE code LIKE %s",
        (f"03-P{tag[:4]}%",),
    )
    assert rows[0] == (count, count)
