"""The reference client and webhook receiver against each other and against a
scripted stand-in server, over real HTTP on 127.0.0.1 (no Odoo needed)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from reference import signing
from reference.client import ApiError, ConstructionClient
from reference.receiver import WebhookReceiver

SECRET = "s3cret"


class ScriptedApi:
    """Answers POSTs with the scripted statuses in turn and records each request."""

    def __init__(self, statuses, headers=None):
        self.statuses = list(statuses)
        self.headers = list(headers or [{} for _status in statuses])
        self.requests = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                api.requests.append((self.path, dict(self.headers), body))
                status = api.statuses.pop(0)
                extra = api.headers.pop(0)
                answer = {"id": 7, "state": "queued"}
                if status >= 400:
                    answer = {"title": "nope", "status": status, "detail": "scripted"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted():
    servers = []

    def make(statuses, headers=None):
        servers.append(ScriptedApi(statuses, headers))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def test_client_retries_5xx_and_429_with_same_key_and_fresh_signatures(scripted):
    api = scripted([503, 429, 202])
    client = ConstructionClient(api.url, "KEY", secret=SECRET, backoff=0.01)
    event = client.post_event("cost_code.upsert", {"code": "03-370"}, key="k-1")
    assert event == {"id": 7, "state": "queued"}
    assert client.retries == 2
    assert [path for path, _h, _b in api.requests] == [
        "/api/construction/v1/events/cost_code.upsert"
    ] * 3
    keys = {headers["Idempotency-Key"] for _p, headers, _b in api.requests}
    assert keys == {"k-1"}
    stamps = [headers[signing.TIMESTAMP_HEADER] for _p, headers, _b in api.requests]
    assert len(set(stamps)) == 3  # each attempt signed anew, never twice alike
    for _path, headers, body in api.requests:
        assert headers["Authorization"] == "Bearer KEY"
        assert body == b'{"code":"03-370"}'
        assert signing.verify(SECRET, headers, body) is None


def test_client_waits_out_a_used_up_rate_limit_instead_of_a_429(scripted, monkeypatch):
    api = scripted(
        [202, 202, 202],
        headers=[
            {"RateLimit-Remaining": "1", "RateLimit-Reset": "30"},
            {"RateLimit-Remaining": "0", "RateLimit-Reset": "30"},
            {},
        ],
    )
    client = ConstructionClient(api.url, "KEY", backoff=0.01, max_backoff=2.0)
    sleeps = []
    monkeypatch.setattr("reference.client.time.sleep", sleeps.append)
    client.post_event("cost_code.upsert", {"code": "03-370"}, key="k-1")
    client.post_event("cost_code.upsert", {"code": "03-371"}, key="k-2")
    assert (client.paced, sleeps) == (0, [])  # one left: no pause yet
    client.post_event("cost_code.upsert", {"code": "03-372"}, key="k-3")
    # the minute was used up: it waited (capped at max_backoff) before asking
    assert client.paced == 1
    assert len(sleeps) == 1 and 1.5 < sleeps[0] <= 2.0
    assert client.retries == 0 and len(api.requests) == 3


def test_client_raises_problem_on_4xx_without_retry(scripted):
    api = scripted([422])
    client = ConstructionClient(api.url, "KEY", backoff=0.01)
    with pytest.raises(ApiError) as error:
        client.post_event("cost_code.upsert", {"code": ""})
    assert error.value.status == 422
    assert error.value.problem["detail"] == "scripted"
    assert len(api.requests) == 1
    assert signing.SIGNATURE_HEADER not in api.requests[0][1]


def test_client_batch_envelope(scripted):
    api = scripted([207])
    client = ConstructionClient(api.url, "KEY", backoff=0.01)
    client.post_batch("cost_code.upsert", [{"code": "A"}, {"code": "B"}], ["a", "b"])
    body = json.loads(api.requests[0][2])
    assert api.requests[0][0].endswith("/events/cost_code.upsert/batch")
    assert body == {
        "events": [
            {"event_id": "a", "payload": {"code": "A"}},
            {"event_id": "b", "payload": {"code": "B"}},
        ]
    }


def _deliver(receiver, body, key, secret=SECRET, stamp=None):
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    if secret:
        headers.update(signing.signed_headers(secret, raw, stamp))
    return requests.post(receiver.url, data=raw, headers=headers, timeout=10)


def test_receiver_verifies_signatures_and_deduplicates():
    receiver = WebhookReceiver(SECRET, name="test").start()
    handled = []
    receiver.on_message = handled.append
    try:
        message = {"event_id": "e-1", "event_type": "change_order.status", "data": {}}
        assert _deliver(receiver, message, "e-1").status_code == 200
        assert _deliver(receiver, message, "e-1").json()["status"] == "duplicate"
        wrong = _deliver(receiver, message, "e-2", secret="other")
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "signature mismatch"
        stale = _deliver(receiver, message, "e-3", stamp=1)
        assert stale.status_code == 401
        assert _deliver(receiver, message, "e-4", secret=None).status_code == 401
        receiver.fail_next = 1
        assert _deliver(receiver, message, "e-5").status_code == 503
        receiver.wait_for(lambda m: m["idempotency_key"] == "e-1", timeout=5)
        for _attempt in range(50):  # the handler runs in the receiver's worker
            if handled:
                break
            time.sleep(0.1)
        stats = requests.get(receiver.url.replace("/webhooks", "/stats"), timeout=5)
        assert stats.json() == {
            "received": 1,
            "signature_verified": 1,
            "rejected": 3,
            "duplicates": 1,
            "by_type": {"change_order.status": 1},
            "handler_errors": 0,
        }
        assert [m["idempotency_key"] for m in receiver.received()] == ["e-1"]
    finally:
        receiver.stop()
    assert [m["event_id"] for m in handled] == ["e-1"]
