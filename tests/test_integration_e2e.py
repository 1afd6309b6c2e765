"""Black-box end to end: provision a system with setup/backend, start a real Odoo
(workers + queue_job runner) with setup/run, push a cost code over HTTP and watch the
job runner apply it exactly once. Commits to the test database (a throwaway one in CI);
the system it creates is archived afterwards."""

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests
from conftest import free_port

REPO = Path(__file__).resolve().parents[1]
API = "/api/construction/v1"


@pytest.fixture(scope="module")
def system(database):
    name = f"E2E {uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [
            str(REPO / "setup" / "backend"),
            "--db",
            database,
            "--name",
            name,
            "--kind",
            "project_management",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert len(key) == 40, result.stdout
    assert "shown once" in result.stderr
    # a second run with the same name: the same system, a new key
    again = subprocess.run(
        [str(REPO / "setup" / "backend"), "--db", database, "--name", name],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert "existing backend" in again.stderr
    assert len(again.stdout.strip()) == 40
    assert again.stdout.strip() != key
    yield {"name": name, "key": key}
    subprocess.run(
        ["psql", "-q", "-d", database, "-v", f"name={name}"],
        input="UPDATE construction_backend SET active = false WHERE name = :'name';",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture(scope="module")
def server(database):
    port = free_port()
    process = subprocess.Popen(
        [str(REPO / "setup" / "run"), "--db", database, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _attempt in range(120):
            try:
                if requests.get(f"{url}{API}/openapi.json", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("the Odoo server did not answer within 60 s")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def test_push_cost_code_end_to_end(system, server):
    headers = {
        "Authorization": f"Bearer {system['key']}",
        "Content-Type": "application/json",
        "Idempotency-Key": f"e2e-{uuid.uuid4().hex}",
    }
    code = f"03-{uuid.uuid4().int % 900 + 100}E"
    payload = {
        "external_id": f"ext-{code}",
        "code": code,
        "name": "E2E concrete",
        "division": "03",
        "version": 1,
    }
    body = json.dumps(payload)
    first = requests.post(
        f"{server}{API}/events/cost_code.upsert", data=body, headers=headers, timeout=30
    )
    assert first.status_code == 202, first.text
    event_id = first.json()["id"]
    again = requests.post(
        f"{server}{API}/events/cost_code.upsert", data=body, headers=headers, timeout=30
    )
    assert again.status_code == 200, again.text
    assert again.json()["id"] == event_id
    status = {}
    for _attempt in range(60):
        status = requests.get(
            f"{server}{API}/events/{event_id}",
            headers={"Authorization": headers["Authorization"]},
            timeout=30,
        ).json()
        if status["state"] not in ("received", "queued", "processing"):
            break
        time.sleep(0.5)
    assert status["state"] == "done", status
    assert status["attempts"] == 1
    assert status["result"]["model"] == "account.analytic.account"
    assert len(status["result"]["ids"]) == 1
    unauthorized = requests.get(f"{server}{API}/events/{event_id}", timeout=30)
    assert unauthorized.status_code == 401
    assert unauthorized.headers["Content-Type"] == "application/problem+json"
