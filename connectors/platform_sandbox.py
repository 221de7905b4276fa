"""SANDBOX of the provincial platform's 办件 API — for demos and contract tests, never a real platform.

Implements the contract ``PlatformClient`` speaks (see ``connectors.handoff.platform_client``):
signed requests (401 on a bad signature or a replayed nonce), idempotency keys (a repeated
declaration returns the first 办件), and a 办件 lifecycle that advances over time or through the test
hooks under ``/api/v1/sandbox/``. Every response says ``"sandbox": true`` and carries ``X-Sandbox: true``.
Applicant data is kept only masked.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from connectors.handoff import signing
from connectors.pii import mask_id_number, mask_name, mask_phone

log = logging.getLogger(__name__)

# The lifecycle in time steps: 预受理通过 → 受理 → 审核 → 办结(出证办结).
_TIMELINE: list[dict[str, str]] = [
    {"YSLZTDM": "1"},
    {"YSLZTDM": "1", "SLZTDM": "1"},
    {"YSLZTDM": "1", "SLZTDM": "1", "SPHJDM": "2"},
    {"YSLZTDM": "1", "SLZTDM": "1", "SPHJDM": "3", "BJJGDM": "0"},
]
# Test hook targets.
OUTCOMES: dict[str, dict[str, str]] = {
    "预受理": _TIMELINE[0],
    "受理": _TIMELINE[1],
    "审查": _TIMELINE[2],
    "办结": _TIMELINE[3],
    "补齐补正": {"YSLZTDM": "1", "SLZTDM": "3", "BZGZYY": "沙箱模拟：材料需补齐补正"},
    "不予受理": {"YSLZTDM": "1", "SLZTDM": "4", "BSLYY": "沙箱模拟：不予受理"},
    "不予许可": {"YSLZTDM": "1", "SLZTDM": "1", "SPHJDM": "3", "BJJGDM": "7"},
}


class SandboxState:
    """In-memory 办件 store plus fault injection; thread-safe (tests poke it from another thread)."""

    def __init__(self, *, step_s: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        self.step_s = step_s
        self.clock = clock
        self.banjian: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.nonces: dict[str, float] = {}
        self.fail_next = 0  # answer 503 to this many upcoming API requests
        self.delay_next_s = 0.0  # delay this many upcoming declarations (after storing them)
        self.delay_count = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._seq = 0

    def seen_nonce(self, nonce: str) -> bool:
        now = self.clock()
        with self._lock:
            for n, t in list(self.nonces.items()):
                if now - t > 2 * signing.MAX_SKEW_S:
                    del self.nonces[n]
            if nonce in self.nonces:
                return True
            self.nonces[nonce] = now
            return False

    def take_fault(self) -> tuple[bool, float]:
        """(fail this request?, seconds to delay it)."""
        with self._lock:
            self.requests += 1
            if self.fail_next > 0:
                self.fail_next -= 1
                return True, 0.0
            if self.delay_count > 0:
                self.delay_count -= 1
                return False, self.delay_next_s
            return False, 0.0

    def declare(self, key: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        with self._lock:
            if key and key in self.by_key:
                return self.record(self.by_key[key]), True
            self._seq += 1
            now = self.clock()
            sblsh = f"SANDBOX-{datetime.fromtimestamp(now, UTC):%Y%m%d}-{self._seq:06d}"
            self.banjian[sblsh] = {
                "SBLSH": sblsh,
                "SXBM": str(body.get("SXBM", "")),
                "SXMC": str(body.get("SXMC", "")),
                "SQRMC": mask_name(str(body.get("SQRMC", ""))),
                "SQRZJHM": mask_id_number(str(body.get("SQRZJHM", ""))),
                "LXRSJ": mask_phone(str(body.get("LXRSJ", ""))),
                "XZQHDM": str(body.get("XZQHDM", "")),
                "DATA": body.get("DATA") or {},
                "created": now,
                "override": None,
            }
            if key:
                self.by_key[key] = sblsh
            return self.record(sblsh), False

    def record(self, sblsh: str) -> dict[str, Any]:
        row = self.banjian[sblsh]
        now = self.clock()
        codes = (
            row["override"] or _TIMELINE[min(len(_TIMELINE) - 1, int((now - row["created"]) // self.step_s))]
        )
        ts = datetime.fromtimestamp(row["created"], UTC).isoformat(timespec="seconds")
        out = {k: v for k, v in row.items() if k not in ("created", "override")}
        return {**out, **codes, "SBSJ": ts, "YSLSJ": ts, "sandbox": True}

    def advance(self, sblsh: str, outcome: str) -> dict[str, Any]:
        with self._lock:
            self.banjian[sblsh]["override"] = dict(OUTCOMES[outcome])
            return self.record(sblsh)


def _json(status: int, data: dict[str, Any], **headers: str) -> JSONResponse:
    return JSONResponse(
        {"sandbox": True, **data}, status_code=status, headers={"X-Sandbox": "true", **headers}
    )


def create_sandbox_app(
    secret: str, *, step_s: float = 60.0, clock: Callable[[], float] = time.time
) -> FastAPI:
    """The sandbox platform as a FastAPI app; its ``SandboxState`` is ``app.state.sandbox``."""
    if not secret:
        raise ValueError("the sandbox needs the shared signing secret")
    state = SandboxState(step_s=step_s, clock=clock)
    app = FastAPI(title="SANDBOX 湖北政务服务平台办件接口（演示用，非真实平台）", version="sandbox")
    app.state.sandbox = state

    @app.middleware("http")
    async def sandbox_header(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["X-Sandbox"] = "true"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _json(exc.status_code, {"error": str(exc.detail)})

    async def authorised(request: Request) -> tuple[bytes, float, JSONResponse | None]:
        """(body, injected delay, error response or None) for a request to the API."""
        body = await request.body()
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        ok = signing.verify(secret, request.method, path, request.headers, body, now=state.clock())
        if not ok or state.seen_nonce(request.headers.get(signing.NONCE, "")):
            return body, 0.0, _json(401, {"error": "bad_signature"})
        failed, delay = state.take_fault()
        if failed:
            return body, 0.0, _json(503, {"error": "sandbox_injected_fault"})
        return body, delay, None

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return _json(200, {"status": "ok", "notice": "SANDBOX — not the provincial platform"})

    @app.post("/api/v1/banjian")
    async def declare(request: Request) -> JSONResponse:
        body, delay, error = await authorised(request)
        if error is not None:
            return error
        try:
            payload = json.loads(body)
        except ValueError:
            return _json(400, {"error": "body is not JSON"})
        if not isinstance(payload, dict) or not payload.get("SXBM"):
            return _json(422, {"error": "SXBM (事项编码) is required"})
        record, replayed = state.declare(request.headers.get(signing.IDEMPOTENCY_KEY, ""), payload)
        if delay:  # the 办件 exists already: a client that times out now must not create a second one
            await anyio.sleep(delay)
        return _json(
            200 if replayed else 201, record, **({"Idempotent-Replayed": "true"} if replayed else {})
        )

    @app.get("/api/v1/banjian/{sblsh}")
    async def status(sblsh: str, request: Request) -> JSONResponse:
        _, delay, error = await authorised(request)
        if error is not None:
            return error
        if delay:
            await anyio.sleep(delay)
        if sblsh not in state.banjian:
            return _json(404, {"error": "no such 办件"})
        return _json(200, state.record(sblsh))

    @app.post("/api/v1/sandbox/banjian/{sblsh}/advance")
    async def advance(sblsh: str, request: Request) -> JSONResponse:
        body, _, error = await authorised(request)
        if error is not None:
            return error
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = None
        outcome = str(data.get("to", "")) if isinstance(data, dict) else ""
        if sblsh not in state.banjian:
            return _json(404, {"error": "no such 办件"})
        if outcome not in OUTCOMES:
            return _json(422, {"error": f"'to' must be one of {sorted(OUTCOMES)}"})
        return _json(200, state.advance(sblsh, outcome))

    return app


def run_sandbox(host: str, port: int, secret: str, *, step_s: float = 60.0) -> None:
    """Serve the sandbox with uvicorn (blocking); wired to ``govchat platform-sandbox``."""
    import uvicorn

    log.warning("SANDBOX platform on http://%s:%d — demo only, no real 办件 are created", host, port)
    uvicorn.run(create_sandbox_app(secret, step_s=step_s), host=host, port=port, log_level="info")
