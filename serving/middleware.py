"""Pure-ASGI middleware (streaming-safe): request id + access log + metrics + security headers,
request body limits that answer 413 before a large body is read, and 400 for a NUL in a path or query."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving import messages
from serving.obs import Metrics, request_id_var

log = logging.getLogger("govchat.access")

_RID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Pages are same-origin only: scripts, styles, fetch/EventSource and images from this server alone.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


def _human(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or {}).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _RID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500
        observed = False

        def observe() -> None:
            nonlocal observed
            if observed:
                return
            observed = True
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            elapsed = time.perf_counter() - started
            self.metrics.observe_request(scope["method"], route, status, elapsed)
            log.info(
                "%s %s %d", scope["method"], route, status,
                extra={"request_id": rid, "status": status, "duration_ms": round(elapsed * 1000, 1)},
            )  # fmt: skip

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in dict(SECURITY_HEADERS)
                ]
                headers += [*SECURITY_HEADERS, (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}
                observe()  # streams are measured to their first byte
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            observe()
            request_id_var.reset(token)


class BodyLimitMiddleware:
    """413 for bodies over the limit: by Content-Length up front, or while a chunked body streams in.

    ``limit_for(path)`` gives the limit per path (uploads get a larger one).
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or {}).get(b"content-length")
        message_text = messages.BODY_TOO_LARGE.format(limit=_human(limit))
        if declared is not None and declared.isdigit() and int(declared) > limit:
            if int(declared) <= min(2 * limit + (1 << 20), _MAX_DRAIN):
                # Read a moderately oversized body before answering: most clients (browsers' fetch,
                # httpx) only see the 413 if the server did not reset the connection mid-upload.
                await _drain(receive)
            await _send_413(send, message_text)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI re-raises HTTPException from body parsing; the error handler renders it.
                    raise HTTPException(413, message_text)
            return message

        await self.app(scope, limited_receive, send)


_MAX_DRAIN = 64 * 1024 * 1024


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _send_413(send: Send, message: str) -> None:
    body = json.dumps({"error": {"code": "too_large", "message": message}}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        }
    )  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class NulRejectMiddleware:
    """400 for a NUL byte in the path or query string (raw or percent-encoded).

    Path ids (case numbers, document and job ids) and query values go to SQL as they are, and
    PostgreSQL refuses NUL in text: refusing it here keeps every such route from answering 500.
    JSON bodies are cleaned by the request models (``serving.schemas.without_nul``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            body = json.dumps(
                {"error": {"code": "bad_request", "message": messages.NUL_IN_REQUEST}}, ensure_ascii=False
            ).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def _has_nul(scope: Scope) -> bool:
    raw = bytes(scope.get("raw_path") or b"") + b"?" + bytes(scope.get("query_string") or b"")
    return "\x00" in scope.get("path", "") or b"\x00" in raw or b"%00" in raw
