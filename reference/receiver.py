"""A webhook receiver for the suite's outbound messages (transactional outbox).

``POST /webhooks`` (any path but the read-only ones below): checks the HMAC
signature with the system's signing secret (401 when wrong, so the sender keeps
the message failed and visible), deduplicates on ``Idempotency-Key`` (delivery is
at least once), stores the message and hands it to ``on_message`` in a worker
thread (answering 200 at once: the reaction is the receiver's business).

Read-only endpoints for operators and tests: ``GET /received`` (stored messages,
``?type=<event_type>``), ``GET /stats`` (counts), ``GET /health``.

Testing hooks: ``fail_next`` answers that many deliveries with 503 first (the
sender must retry them with the same idempotency key).
"""

import json
import logging
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from . import signing

_logger = logging.getLogger(__name__)


class WebhookReceiver:
    def __init__(self, secret=None, host="127.0.0.1", port=0, name="receiver"):
        self.secret = secret
        self.name = name
        self.messages = []  # accepted, unique messages, in arrival order
        self.rejected = []  # (reason, headers) of refused deliveries
        self.duplicates = 0
        self.fail_next = 0
        self.on_message = None
        self._seen = set()
        self._lock = threading.Lock()
        self._work = queue.Queue()
        self.errors = []  # exceptions raised by on_message
        self.httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self.httpd.daemon_threads = True
        self._threads = []

    @property
    def url(self):
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/webhooks"

    def start(self):
        for target in (self.httpd.serve_forever, self._worker):
            thread = threading.Thread(target=target, daemon=True, name=self.name)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._work.put(None)

    def serve_forever(self):
        self.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            self.stop()

    # ---- what was received ----

    def received(self, event_type=None):
        with self._lock:
            return [
                m
                for m in self.messages
                if event_type is None or m["event_type"] == event_type
            ]

    def wait_for(self, predicate, timeout=60, interval=0.2):
        """The first stored message matching ``predicate``, waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.received():
                if predicate(message):
                    return message
            time.sleep(interval)
        raise TimeoutError(f"{self.name}: no matching webhook within {timeout}s")

    def stats(self):
        with self._lock:
            types = {}
            for message in self.messages:
                types[message["event_type"]] = types.get(message["event_type"], 0) + 1
            return {
                "received": len(self.messages),
                "signature_verified": sum(
                    1 for m in self.messages if m["signature_valid"]
                ),
                "rejected": len(self.rejected),
                "duplicates": self.duplicates,
                "by_type": types,
                "handler_errors": len(self.errors),
            }

    # ---- internals ----

    def _accept(self, headers, raw):
        """(status, answer) for one delivery."""
        if self.fail_next > 0:
            self.fail_next -= 1
            return 503, {"error": "temporarily unavailable (test)"}
        if self.secret:
            error = signing.verify(self.secret, headers, raw)
            if error:
                self.rejected.append((error, dict(headers)))
                return 401, {"error": error}
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, {"error": "malformed JSON"}
        key = headers.get("Idempotency-Key") or body.get("event_id")
        with self._lock:
            if key in self._seen:
                self.duplicates += 1
                return 200, {"status": "duplicate", "event_id": key}
            self._seen.add(key)
            message = dict(
                body,
                idempotency_key=key,
                signature_valid=bool(self.secret),
                received_at=time.time(),
            )
            self.messages.append(message)
        self._work.put(message)
        return 200, {"status": "accepted", "event_id": key}

    def _worker(self):
        while True:
            message = self._work.get()
            if message is None:
                return
            if not self.on_message:
                continue
            try:
                self.on_message(message)
            except Exception as err:  # keep serving; report it
                _logger.exception("%s: handling %s failed", self.name, message)
                self.errors.append(f"{message.get('event_type')}: {err}")

    def _handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status, document):
                data = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._answer(*receiver._accept(self.headers, raw))

            def do_GET(self):
                url = urlparse(self.path)
                if url.path == "/received":
                    wanted = parse_qs(url.query).get("type", [None])[0]
                    self._answer(200, receiver.received(wanted))
                elif url.path == "/stats":
                    self._answer(200, receiver.stats())
                elif url.path == "/health":
                    self._answer(200, {"status": "ok", "name": receiver.name})
                else:
                    self._answer(404, {"error": "not found"})

            def log_message(self, fmt, *args):
                _logger.debug("%s: " + fmt, receiver.name, *args)

        return Handler
