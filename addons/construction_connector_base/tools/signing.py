"""HMAC request signing: ``X-Construction-Signature: sha256=<hex>`` over
``f"{timestamp}.{raw_body}"`` with ``X-Construction-Timestamp`` in unix seconds."""

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Construction-Timestamp"
SIGNATURE_HEADER = "X-Construction-Signature"
SIGNATURE_TOLERANCE = 300  # seconds either side of our clock


def sign(secret, timestamp, raw_body):
    """The signature header value a sender puts on a request."""
    if isinstance(raw_body, str):
        raw_body = raw_body.encode()
    message = str(timestamp).encode() + b"." + raw_body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def matches(secret, timestamp, raw_body, signature):
    """Constant-time comparison of a received signature with the expected one."""
    if not secret or not signature:
        return False
    return hmac.compare_digest(sign(secret, timestamp, raw_body), signature.strip())
