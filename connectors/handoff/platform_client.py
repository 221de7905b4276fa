"""HTTP client for the provincial platform's 办件 API: declare a 办件, query its status.

Contract (served for demos and tests by ``connectors.platform_sandbox``):

- ``POST /api/v1/banjian`` with JSON ``{SXBM, SXMC, SQRLX, SQRMC, SQRZJHM, LXRXM, LXRSJ, SBFS, XZQHDM,
  SBSJ, YJSBM, DATA}`` → ``{SBLSH, SXBM, YSLZTDM, ...}``; the ``Idempotency-Key`` header makes a
  repeated declaration return the first 办件 instead of creating a second.
- ``GET /api/v1/banjian/{SBLSH}`` → the status record (YSLZTDM / SLZTDM / SPHJDM / BJJGDM codes).
- Every request carries ``X-App-Id``, ``X-Timestamp``, ``X-Nonce`` and ``X-Signature`` (see ``signing``).

Timeouts, retries with exponential backoff on connection errors and 5xx, and a circuit breaker keep
a failing platform from stalling the conversation.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
from pydantic import BaseModel, ConfigDict

from connectors.handoff import codes, signing
from connectors.resilience import CircuitBreaker
from connectors.types import ContactInfo, Scalar

API = "/api/v1"


class PlatformError(RuntimeError):
    """Base class for platform failures."""


class PlatformUnavailable(PlatformError):
    """Network errors, timeouts or 5xx after all retries."""


class PlatformCircuitOpen(PlatformUnavailable):
    """The circuit breaker is open: the call was not attempted."""


class PlatformRejected(PlatformError):
    """The platform answered 4xx: retrying the same request will not help."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(f"platform rejected the request ({status_code}): {detail}")
        self.status_code = status_code
        self.detail = detail


class PlatformAuthError(PlatformRejected):
    """401: the signature was not accepted (wrong secret, clock skew, replayed nonce)."""


class PlatformStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    sblsh: str  # 申办流水号
    sxbm: str  # 事项编码
    stage: codes.Stage
    label: str  # e.g. 已办结（出证办结）
    codes: dict[str, str]  # the raw YSLZTDM / SLZTDM / SPHJDM / BJJGDM present
    sandbox: bool = False
    replayed: bool = False  # an idempotent repeat of an earlier declaration


def idempotency_key(session_id: str, workflow_id: str) -> str:
    """One 办件 per conversation and item: the same session and workflow always yield the same key."""
    return hashlib.sha256(f"govchat\x1f{session_id}\x1f{workflow_id}".encode()).hexdigest()[:32]


def _status(data: dict[str, Any], replayed: bool = False) -> PlatformStatus:
    present = {
        k: str(data[k]) for k in ("YSLZTDM", "SLZTDM", "SPHJDM", "BJJGDM") if data.get(k) not in (None, "")
    }
    return PlatformStatus(
        sblsh=str(data.get("SBLSH", "")),
        sxbm=str(data.get("SXBM", "")),
        stage=codes.stage_of(data),
        label=codes.describe(data),
        codes=present,
        sandbox=bool(data.get("sandbox", False)),
        replayed=replayed,
    )


class PlatformClient:
    """Async client; build once, ``await warm_up()`` (or use ``async with``), share across requests.

    Args:
        base_url: platform root, e.g. ``https://platform.example`` (the sandbox in demos).
        app_id, secret: credentials for request signing.
        timeout_s, connect_timeout_s: per attempt.
        max_retries: extra attempts after the first, on connection errors, timeouts and 5xx.
        backoff_base_s, backoff_max_s: exponential backoff (with jitter) between attempts.
        breaker: shared circuit breaker (default: 5 failures → open for 30 s).
        transport: optional httpx transport (tests).
    """

    def __init__(
        self,
        *,
        base_url: str,
        app_id: str,
        secret: str,
        timeout_s: float = 5.0,
        connect_timeout_s: float = 2.0,
        max_retries: int = 2,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 2.0,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not base_url or not secret:
            raise ValueError("platform base_url and secret are required")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._base_url = base_url.rstrip("/")
        self._app_id = app_id
        self._secret = secret
        self._timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self._max_retries = max_retries
        self._backoff = (backoff_base_s, backoff_max_s)
        self.breaker = breaker or CircuitBreaker()
        self._transport = transport
        self._clock = clock
        self._client: httpx.AsyncClient | None = None

    async def warm_up(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self._base_url, timeout=self._timeout, transport=self._transport
            )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> PlatformClient:
        await self.warm_up()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -------------------------------------------------------------- API

    async def declare(
        self,
        *,
        item_code: str,
        item_name: str,
        applicant: ContactInfo,
        answers: dict[str, Scalar | None],
        idempotency_key: str,
        region_code: str = "",
        workflow_id: str = "",
        applicant_type: str = "1",
    ) -> PlatformStatus:
        """Declare a 办件 (申报). Safe to call again with the same key: no second 办件 is created."""
        body = {
            "SXBM": item_code,
            "SXMC": item_name,
            "SQRLX": applicant_type,  # 1 自然人, 2 法人
            "SQRMC": applicant.name,
            "SQRZJHM": applicant.id_number,
            "LXRXM": applicant.name,
            "LXRSJ": applicant.phone,
            "SBFS": "2",  # 网上申报
            "XZQHDM": region_code,
            "SBSJ": datetime.now(UTC).isoformat(timespec="seconds"),
            "YJSBM": workflow_id,
            "DATA": answers,
        }
        resp = await self._request("POST", f"{API}/banjian", body, idempotency_key)
        return _status(resp.json(), replayed=resp.headers.get("Idempotent-Replayed") == "true")

    async def status(self, sblsh: str) -> PlatformStatus:
        resp = await self._request("GET", f"{API}/banjian/{sblsh}", None, None)
        return _status(resp.json())

    # -------------------------------------------------------------- transport

    async def _request(
        self, method: str, path: str, payload: dict[str, Any] | None, idem_key: str | None
    ) -> httpx.Response:
        await self.warm_up()
        assert self._client is not None
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        last: Exception | None = None
        for attempt in range(self._max_retries + 1):
            if not self.breaker.allow():
                raise PlatformCircuitOpen("platform failing repeatedly; not calling it for now") from last
            headers = signing.signed_headers(
                self._app_id, self._secret, method, path, body, now=self._clock()
            )
            if payload is not None:
                headers["Content-Type"] = "application/json"
            if idem_key:
                headers[signing.IDEMPOTENCY_KEY] = idem_key
            try:
                resp = await self._client.request(method, path, content=body, headers=headers)
            except httpx.TransportError as exc:  # connect errors, timeouts, resets
                self.breaker.record_failure()
                last = exc
            else:
                if resp.status_code < 500:
                    self.breaker.record_success()
                    if resp.status_code == 401:
                        raise PlatformAuthError(401, resp.text[:200])
                    if resp.status_code >= 400:
                        raise PlatformRejected(resp.status_code, resp.text[:200])
                    return resp
                self.breaker.record_failure()
                last = PlatformError(f"platform answered {resp.status_code}")
            if attempt < self._max_retries and self.breaker.state == "closed":
                base, cap = self._backoff
                await anyio.sleep(min(cap, base * 2**attempt) * (0.5 + random.random() / 2))
            elif self.breaker.state != "closed":
                break
        reason = f"{type(last).__name__}: {last}" if last else "no attempt"
        raise PlatformUnavailable(f"platform unavailable after {attempt + 1} attempt(s): {reason}") from last
