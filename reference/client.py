"""A client of the construction integration API (``/api/construction/v1``), the way
an external system should call it:

- ``Authorization: Bearer <API key>``; with a signing secret every POST is signed
  (a fresh timestamp per attempt: the server accepts each signature once);
- one ``Idempotency-Key`` per event, the same on every retry of that event, so a
  retry after a lost answer returns the first event instead of a second one;
- retries on 5xx, 408, 429 (honouring ``Retry-After``) and network errors with
  jittered exponential backoff; other 4xx raise :class:`ApiError` at once with the
  ``application/problem+json`` body;
- pacing: when an answer says ``RateLimit-Remaining: 0``, the next request waits
  ``RateLimit-Reset`` seconds instead of earning a 429;
- batches (``POST /events/<type>/batch``, 207 with a status per item).

Usage::

    client = ConstructionClient("http://localhost:8069", key, secret=secret)
    event = client.post_event("cost_code.upsert", {"external_id": "03-370", ...})
    client.wait(event["id"])        # -> the event once done, failed, dead, ...
"""

import json
import random
import time
import uuid
from urllib.parse import urlencode

import requests

from . import signing

API_PREFIX = "/api/construction/v1"
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
PENDING_STATES = {"received", "queued", "processing", "parked"}


class ApiError(Exception):
    """A refused request: ``status`` and the RFC 9457 ``problem`` document."""

    def __init__(self, status, problem):
        self.status = status
        self.problem = problem if isinstance(problem, dict) else {"detail": problem}
        detail = self.problem.get("detail") or self.problem.get("title") or ""
        super().__init__(f"HTTP {status}: {detail}")


class ConstructionClient:
    def __init__(
        self,
        base_url,
        api_key,
        secret=None,
        timeout=30,
        max_attempts=6,
        backoff=0.5,
        max_backoff=20.0,
        session=None,
        key_prefix="ref",
    ):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.secret = secret
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.session = session or requests.Session()
        self.key_prefix = key_prefix
        self.retries = 0  # attempts beyond the first, over the client's life
        self.paced = 0  # pauses taken because the rate limit's minute was used up
        self._last_stamp = None
        self._paused_until = 0.0

    # ---- plumbing ----

    def new_key(self):
        return f"{self.key_prefix}-{uuid.uuid4().hex}"

    def _headers(self, body=None, idempotency_key=None):
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
            if self.secret:
                headers.update(signing.signed_headers(self.secret, body, self._stamp()))
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def _stamp(self):
        """A timestamp for a new signature; never the previous one, so that two
        identical bodies sent in the same second still get distinct signatures."""
        stamp = int(time.time())
        if self._last_stamp is not None and stamp <= self._last_stamp:
            time.sleep(self._last_stamp + 1 - time.time() + 0.01)
            stamp = self._last_stamp + 1
        self._last_stamp = stamp
        return stamp

    def _pace(self, response):
        """Note when the server says this minute's requests are used up
        (RateLimit-Remaining: 0): the next request waits for RateLimit-Reset
        instead of earning a 429."""
        headers = response.headers
        if headers.get("RateLimit-Remaining") != "0":
            return
        try:
            reset = min(float(headers.get("RateLimit-Reset", "")), self.max_backoff)
        except ValueError:
            return
        self._paused_until = time.monotonic() + reset

    def _wait_for_rate_limit(self):
        wait = self._paused_until - time.monotonic()
        if wait > 0:
            self.paced += 1
            time.sleep(wait)

    def _delay(self, attempt, response=None):
        if response is not None and response.headers.get("Retry-After"):
            try:
                return min(float(response.headers["Retry-After"]), self.max_backoff)
            except ValueError:
                pass
        ceiling = min(self.backoff * 2**attempt, self.max_backoff)
        return random.uniform(ceiling / 2, ceiling)

    def request(self, method, path, payload=None, idempotency_key=None, ok=(200,)):
        """Sends one request with retries; returns the decoded JSON answer."""
        body = None
        if payload is not None:
            body = json.dumps(payload, separators=(",", ":")).encode()
        url = f"{self.base_url}{API_PREFIX}{path}"
        for attempt in range(self.max_attempts):
            last = attempt == self.max_attempts - 1
            response = None
            self._wait_for_rate_limit()
            try:
                response = self.session.request(
                    method,
                    url,
                    data=body,
                    headers=self._headers(body, idempotency_key),
                    timeout=self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout):
                if last:
                    raise
            else:
                self._pace(response)
                if response.status_code in ok:
                    return response.json()
                if response.status_code not in RETRY_STATUSES or last:
                    raise ApiError(response.status_code, _problem(response))
            self.retries += 1
            time.sleep(self._delay(attempt, response))
        raise AssertionError("unreachable")

    # ---- the API ----

    def post_event(self, event_type, payload, key=None):
        """Sends one event; returns it (``id``, ``state``, ...). 202 when new, 200
        when the same key and body were already received."""
        return self.request(
            "POST",
            f"/events/{event_type}",
            payload,
            idempotency_key=key or self.new_key(),
            ok=(200, 202),
        )

    def post_batch(self, event_type, payloads, keys=None):
        """Sends events of one type in one request; returns the 207 document
        ``{"batch", "items": [{"index", "event_id", "status", "event"|"errors"}]}``."""
        keys = keys or [self.new_key() for _payload in payloads]
        envelope = {
            "events": [
                {"event_id": key, "payload": payload}
                for key, payload in zip(keys, payloads, strict=True)
            ]
        }
        return self.request("POST", f"/events/{event_type}/batch", envelope, ok=(207,))

    def get_event(self, event_id):
        return self.request("GET", f"/events/{event_id}")

    def events(self, **filters):
        """One page of this system's events, newest first (filters: state,
        event_type, external_id, limit, offset)."""
        return self.request("GET", f"/events?{urlencode(filters)}")

    def replay(self, event_id):
        return self.request("POST", f"/events/{event_id}/replay", {}, ok=(202,))

    def health(self):
        return self.request("GET", "/health")

    def openapi(self):
        return self.request("GET", "/openapi.json")

    def wait(self, event_id, timeout=120, interval=0.5, settled=None):
        """Polls an event until it leaves the pending states (or reaches one of
        ``settled``); returns it. Raises TimeoutError with the last state."""
        deadline = time.monotonic() + timeout
        event = self.get_event(event_id)
        while time.monotonic() < deadline:
            if settled and event["state"] in settled:
                return event
            if not settled and event["state"] not in PENDING_STATES:
                return event
            time.sleep(interval)
            event = self.get_event(event_id)
        raise TimeoutError(f"event {event_id} still {event['state']} after {timeout}s")

    def send(self, event_type, payload, key=None, timeout=120, expect="done"):
        """Posts an event and waits for it; raises when it ends in another state
        than ``expect`` (None: any)."""
        event = self.wait(self.post_event(event_type, payload, key)["id"], timeout)
        if expect and event["state"] != expect:
            raise ApiError(
                0,
                {
                    "detail": f"{event_type} {event['id']} ended {event['state']}:"
                    f" {event.get('error')}"
                },
            )
        return event


def _problem(response):
    try:
        return response.json()
    except ValueError:
        return {"detail": response.text[:500]}
