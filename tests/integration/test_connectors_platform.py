"""PlatformClient against the sandbox platform served by a real uvicorn on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine

from connectors.handoff import signing
from connectors.handoff.platform import PlatformConnector
from connectors.handoff.platform_client import (
    PlatformAuthError,
    PlatformCircuitOpen,
    PlatformClient,
    PlatformRejected,
    PlatformUnavailable,
    idempotency_key,
)
from connectors.platform_sandbox import SandboxState, create_sandbox_app
from connectors.resilience import CircuitBreaker
from connectors.store import CaseRepository, create_tables
from connectors.types import ContactInfo, HandoffRequest
from tests.integration._connectors_fixtures import closed_port_url, serve

pytestmark = pytest.mark.integration

SECRET = "sandbox-shared-secret"
APPLICANT = ContactInfo(name="张三", phone="13812345678", id_number="11010519491231002X")


class Clock:
    def __init__(self) -> None:
        self.t = 1_780_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> Iterator[tuple[str, SandboxState]]:
    app = create_sandbox_app(SECRET, step_s=60, clock=clock)
    with serve(app) as base:
        yield base, app.state.sandbox


def client(base: str, clock: Clock, **kw: Any) -> PlatformClient:
    options: dict[str, Any] = {
        "timeout_s": 2.0,
        "max_retries": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
    }
    options.update(kw)
    return PlatformClient(
        base_url=base, app_id="govchat", secret=options.pop("secret", SECRET), clock=clock, **options
    )


async def declare(c: PlatformClient, session: str = "s-1") -> Any:
    async with c:
        return await c.declare(
            item_code="HB-YJS-BIRTH",
            item_name="新生儿出生“一件事”",
            applicant=APPLICANT,
            answers={"huji": "hubei", "married": True},
            idempotency_key=idempotency_key(session, "birth"),
            region_code="420600",
            workflow_id="birth",
        )


async def status(c: PlatformClient, sblsh: str) -> Any:
    async with c:
        return await c.status(sblsh)


def test_declare_then_status_follows_the_lifecycle(sandbox: tuple[str, SandboxState], clock: Clock) -> None:
    base, state = sandbox
    receipt = anyio.run(declare, client(base, clock))
    assert receipt.sblsh.startswith("SANDBOX-") and receipt.sandbox
    assert receipt.stage == "pre_accepted" and receipt.label == "预受理通过" and not receipt.replayed
    stored = state.banjian[receipt.sblsh]
    assert stored["SQRZJHM"] == "110***********002X" and stored["LXRSJ"] == "138****5678"  # masked only
    assert stored["DATA"] == {"huji": "hubei", "married": True} and stored["XZQHDM"] == "420600"
    clock.t += 60
    assert anyio.run(status, client(base, clock), receipt.sblsh).stage == "accepted"
    clock.t += 60
    assert anyio.run(status, client(base, clock), receipt.sblsh).label == "审查中（审核）"
    clock.t += 60
    done = anyio.run(status, client(base, clock), receipt.sblsh)
    assert done.stage == "completed" and done.label == "已办结（出证办结）"
    assert done.codes == {"YSLZTDM": "1", "SLZTDM": "1", "SPHJDM": "3", "BJJGDM": "0"}


def _signed(method: str, path: str, body: bytes, now: float) -> dict[str, str]:
    return signing.signed_headers("govchat", SECRET, method, path, body, now=now)


def test_test_hook_and_sandbox_labelling(sandbox: tuple[str, SandboxState], clock: Clock) -> None:
    base, _ = sandbox
    receipt = anyio.run(declare, client(base, clock))
    path = f"/api/v1/sandbox/banjian/{receipt.sblsh}/advance"
    body = json.dumps({"to": "不予受理"}).encode()
    resp = httpx.post(base + path, content=body, headers=_signed("POST", path, body, clock.t))
    assert resp.status_code == 200 and resp.headers["X-Sandbox"] == "true" and resp.json()["sandbox"] is True
    assert resp.json()["BSLYY"].startswith("沙箱模拟")
    assert anyio.run(status, client(base, clock), receipt.sblsh).stage == "rejected"
    health = httpx.get(base + "/healthz")
    assert health.headers["X-Sandbox"] == "true" and "SANDBOX" in health.json()["notice"]
    missing = httpx.get(base + "/nope")
    assert missing.status_code == 404 and missing.json()["sandbox"] is True


def test_duplicate_submission_returns_the_same_banjian(
    sandbox: tuple[str, SandboxState], clock: Clock
) -> None:
    base, state = sandbox
    first = anyio.run(declare, client(base, clock))
    again = anyio.run(declare, client(base, clock))
    assert again.sblsh == first.sblsh and again.replayed
    other = anyio.run(declare, client(base, clock), "s-2")
    assert other.sblsh != first.sblsh
    assert len(state.banjian) == 2


def test_timeout_then_retry_does_not_create_a_second_banjian(
    sandbox: tuple[str, SandboxState], clock: Clock
) -> None:
    base, state = sandbox
    state.delay_next_s, state.delay_count = 1.5, 1  # stored, but answered after the client gave up
    receipt = anyio.run(declare, client(base, clock, timeout_s=0.3))
    assert receipt.replayed and len(state.banjian) == 1
    assert state.requests == 2


def test_timeout_without_retries_is_unavailable(sandbox: tuple[str, SandboxState], clock: Clock) -> None:
    base, state = sandbox
    state.delay_next_s, state.delay_count = 1.5, 1
    with pytest.raises(PlatformUnavailable, match=r"ReadTimeout|timed out"):
        anyio.run(declare, client(base, clock, timeout_s=0.3, max_retries=0))


def test_5xx_then_success(sandbox: tuple[str, SandboxState], clock: Clock) -> None:
    base, state = sandbox
    state.fail_next = 2
    receipt = anyio.run(declare, client(base, clock))
    assert receipt.stage == "pre_accepted" and state.requests == 3 and len(state.banjian) == 1


def test_5xx_beyond_retries_is_unavailable(sandbox: tuple[str, SandboxState], clock: Clock) -> None:
    base, state = sandbox
    state.fail_next = 5
    with pytest.raises(PlatformUnavailable, match="503"):
        anyio.run(declare, client(base, clock, max_retries=1))
    assert state.requests == 2 and not state.banjian


def test_bad_signature_is_rejected_without_retry(sandbox: tuple[str, SandboxState], clock: Clock) -> None:
    base, state = sandbox
    c = client(base, clock, secret="wrong-secret")
    with pytest.raises(PlatformAuthError) as err:
        anyio.run(declare, c)
    assert err.value.status_code == 401 and "bad_signature" in err.value.detail
    assert not state.banjian and c.breaker.state == "closed"


def test_replayed_or_stale_requests_are_rejected(sandbox: tuple[str, SandboxState], clock: Clock) -> None:
    base, _ = sandbox
    receipt = anyio.run(declare, client(base, clock))
    path = f"/api/v1/banjian/{receipt.sblsh}"
    headers = _signed("GET", path, b"", clock.t)
    assert httpx.get(base + path, headers=headers).status_code == 200
    assert httpx.get(base + path, headers=headers).status_code == 401  # same nonce again
    stale = _signed("GET", path, b"", clock.t - 3600)
    assert httpx.get(base + path, headers=stale).status_code == 401


def test_unknown_banjian_is_a_4xx_rejection(sandbox: tuple[str, SandboxState], clock: Clock) -> None:
    base, _ = sandbox
    with pytest.raises(PlatformRejected) as err:
        anyio.run(status, client(base, clock), "SANDBOX-NOPE")
    assert err.value.status_code == 404


def test_circuit_breaker_opens_and_stops_calling(sandbox: tuple[str, SandboxState], clock: Clock) -> None:
    base, state = sandbox
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=0.2)
    state.fail_next = 100
    c = client(base, clock, breaker=breaker, max_retries=5)
    with pytest.raises(PlatformUnavailable):
        anyio.run(declare, c)
    assert breaker.state == "open" and state.requests == 3  # stopped retrying once open
    with pytest.raises(PlatformCircuitOpen):
        anyio.run(declare, c)
    assert state.requests == 3  # not even attempted
    state.fail_next = 0

    time.sleep(0.25)
    assert anyio.run(declare, c).stage == "pre_accepted"  # half-open trial succeeded
    assert breaker.state == "closed"


def test_connection_refused_opens_the_breaker(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout_s=30)
    c = client(closed_port_url(), clock, breaker=breaker, max_retries=0, connect_timeout_s=0.5)
    for _ in range(2):
        with pytest.raises(PlatformUnavailable, match=r"ConnectError|connect"):
            anyio.run(declare, c)
    with pytest.raises(PlatformCircuitOpen):
        anyio.run(declare, c)


def test_platform_connector_records_a_queryable_case(
    sandbox: tuple[str, SandboxState], clock: Clock, tmp_path: Path
) -> None:
    base, state = sandbox
    engine = create_engine(f"sqlite:///{tmp_path / 'cases.sqlite3'}")
    create_tables(engine)
    repo = CaseRepository(engine, Fernet.generate_key())
    request = HandoffRequest(
        session_id="s-9",
        workflow_id="birth",
        workflow_name="新生儿出生“一件事”",
        item_code="HB-YJS-BIRTH",
        region_code="420600",
        answers={"huji": "hubei"},
        contact=APPLICANT,
        consent=True,
    )

    async def flow() -> tuple[Any, Any, Any, Any]:
        async with client(base, clock) as c:
            connector = PlatformConnector(c, repo)
            first = await connector.submit(request)
            second = await connector.submit(request)
            live = await connector.status(first.case_no, first.verify_code)
            wrong = await connector.status(first.case_no, "not-it")
            return first, second, live, wrong

    first, second, live, wrong = anyio.run(flow)
    assert first.kind == "platform" and first.sandbox and first.reference.startswith("SANDBOX-")
    assert first.reference in first.message and first.case_no in first.message and "演示环境" in first.message
    assert (
        second.reference == first.reference and second.case_no == first.case_no and second.verify_code == ""
    )
    assert len(state.banjian) == 1 and len(repo.list_queue(kind="platform")) == 1
    assert live is not None and live.sblsh == first.reference and live.stage == "pre_accepted"
    assert wrong is None
    case = repo.get(first.case_no)
    assert case is not None and case.external_ref == first.reference and case.contact_masked.startswith("张*")
    engine.dispose()
