"""HMAC-SHA256 request signing shared by the platform client and the sandbox.

String to sign: ``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nSHA256(BODY)``, hex-encoded HMAC in
``X-Signature``. The timestamp bounds replay to a window; the nonce makes each request unique.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

APP_ID = "X-App-Id"
TIMESTAMP = "X-Timestamp"
NONCE = "X-Nonce"
SIGNATURE = "X-Signature"
IDEMPOTENCY_KEY = "Idempotency-Key"
MAX_SKEW_S = 300


def string_to_sign(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join([method.upper(), path, timestamp, nonce, digest]).encode()


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(
        secret.encode(), string_to_sign(method, path, timestamp, nonce, body), hashlib.sha256
    ).hexdigest()


def signed_headers(
    app_id: str, secret: str, method: str, path: str, body: bytes, *, now: float
) -> dict[str, str]:
    """Fresh timestamp, nonce and signature for one attempt (a retry is signed anew)."""
    ts = str(int(now))
    nonce = secrets.token_hex(16)
    return {
        APP_ID: app_id,
        TIMESTAMP: ts,
        NONCE: nonce,
        SIGNATURE: sign(secret, method, path, ts, nonce, body),
    }


def verify(
    secret: str,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    max_skew_s: int = MAX_SKEW_S,
) -> bool:
    """Constant-time check of the signature and the timestamp window (nonce reuse is the caller's)."""
    ts, nonce, given = headers.get(TIMESTAMP, ""), headers.get(NONCE, ""), headers.get(SIGNATURE, "")
    if not (ts.isdigit() and nonce and given) or abs(now - int(ts)) > max_skew_s:
        return False
    return hmac.compare_digest(sign(secret, method, path, ts, nonce, body), given)
