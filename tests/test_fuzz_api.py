"""Schemathesis against our OpenAPI document on a running Odoo (setup/run), bounded
examples per operation (FUZZ_EXAMPLES, default 5; schemathesis' coverage phase with
CONSTRUCTION_HEAVY_FAULTS=1): every answer is a 2xx or 4xx the
document lists, with its documented content type, never a 500; a refused request
leaves the inbox unchanged. Hand-written hostile bodies are in
addons/construction_connector_base/tests/test_api_hostile.py."""

import os
import time
import uuid

import pytest
import requests

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    status_code_conformance,
)
from test_faults import _sql, database, odoo_env, server  # noqa: E402, F401

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
HEAVY = os.environ.get("CONSTRUCTION_HEAVY_FAULTS") == "1"


def _system(database, name, rate_limit):  # noqa: F811
    """A committed project-management system with its integration user and key."""
    with odoo_env(database) as env:
        backend = env["construction.backend"].create(
            {
                "name": f"{name} {uuid.uuid4().hex[:8]}",
                "kind": "project_management",
                "company_id": env.ref("base.main_company").id,
                "rate_limit": rate_limit,
            }
        )
        backend.action_create_integration_user()
        return backend._generate_api_key(name=name), backend.id


@pytest.fixture(scope="module")
def fuzz_key(database):  # noqa: F811
    key, backend_id = _system(database, "Fuzz", rate_limit=0)
    yield {"key": key, "backend_id": backend_id}
    with odoo_env(database) as env:
        # fuzzed events may wait for parents that never come: cancel them
        env["construction.event"].search(
            [("backend_id", "=", backend_id), ("state", "in", ("queued", "parked"))]
        ).action_cancel()
        env["construction.backend"].browse(backend_id).active = False


@pytest.fixture(scope="module")
def api_schema(server):  # noqa: F811
    url = f"{server['url']}/api/construction/v1/openapi.json"
    for _attempt in range(20):
        try:
            if requests.get(url, timeout=5).ok:
                break
        except requests.RequestException:
            time.sleep(0.5)
    schema = schemathesis.openapi.from_url(url)
    # The coverage phase (hundreds of boundary and negative cases per operation,
    # several minutes) runs with the heavier variants only.
    schema.config.phases.coverage.enabled = HEAVY
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_never_fails_and_answers_as_documented(case, server, database, fuzz_key):  # noqa: F811
    def inbox():
        return _sql(
            database,
            # (the job runner may process accepted events meanwhile: their
            # count, ids and replays are compared, not their state)
            "SELECT count(*), max(id), coalesce(sum(replay_count), 0) "
            "FROM construction_event WHERE backend_id = %s",
            (fuzz_key["backend_id"],),
        )

    before = inbox()
    response = case.call_and_validate(
        base_url=server["url"],
        headers={"Authorization": f"Bearer {fuzz_key['key']}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance],
        timeout=60,
    )
    assert response.status_code < 500
    if response.status_code >= 400:
        assert inbox() == before, "a refused request changed the inbox"


def test_refused_requests_count_toward_the_rate_limit(server, database):  # noqa: F811
    """A client sending only bad bodies is throttled like any other: each refusal
    is counted in its own committed transaction before the request rolls back."""
    key, backend_id = _system(database, "Throttled", rate_limit=3)
    url = f"{server['url']}/api/construction/v1/events/cost_code.upsert"
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Idempotency-Key": f"bad-{uuid.uuid4().hex}",
    }
    try:
        # stay inside one minute window, so the three refusals and the next
        # request are counted together
        if time.time() % 60 > 50:
            time.sleep(61 - time.time() % 60)
        statuses = [
            requests.post(url, data=body, headers=headers, timeout=30).status_code
            for body in ("{", '{"code": 1}', "[]", '{"code": "X"}')
        ]
        assert statuses[:3] == [400, 422, 422], statuses
        assert statuses[3] == 429, statuses
        assert _sql(
            database,
            "SELECT count(*) FROM construction_event WHERE backend_id = %s",
            (backend_id,),
        ) == [(0,)]
    finally:
        with odoo_env(database) as env:
            env["construction.backend"].browse(backend_id).active = False
