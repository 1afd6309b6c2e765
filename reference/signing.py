"""The suite's HMAC scheme, from the sender's and the receiver's side.

``X-Construction-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``
with ``X-Construction-Timestamp`` in unix seconds (README, "Signing")."""

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Construction-Timestamp"
SIGNATURE_HEADER = "X-Construction-Signature"
TOLERANCE = 300


def signature(secret, timestamp, body):
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret, body, timestamp=None):
    """Headers a sender adds to sign ``body`` (bytes)."""
    stamp = str(int(timestamp if timestamp is not None else time.time()))
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: signature(secret, stamp, body)}


def verify(secret, headers, body, now=None):
    """None when ``headers`` sign ``body`` freshly and validly, else the reason."""
    stamp = headers.get(TIMESTAMP_HEADER)
    received = headers.get(SIGNATURE_HEADER)
    if not stamp or not received:
        return "missing signature headers"
    try:
        age = abs((now or time.time()) - int(stamp))
    except ValueError:
        return "invalid timestamp"
    if age > TOLERANCE:
        return "timestamp outside the 5-minute window"
    if not hmac.compare_digest(signature(secret, stamp, body), received.strip()):
        return "signature mismatch"
    return None
