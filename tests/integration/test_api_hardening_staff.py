"""Issue 9 over the real API on PostgreSQL + Redis: case-code throttling that expires (never a permanent
lock), taking a case enforced, /metrics protected in production, and a per-account login back-off."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.integration._api_fixtures import LiveServer, add_staff, bearer
from tests.integration._live_pg import pg_redis_server

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
WINDOW_S = 2  # the per-IP and per-account windows of this module's server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    api = {
        "trust_proxy": True,  # X-Forwarded-For stands for distinct clients
        "case_code_failures_per_ip": 5,
        "case_code_window_s": WINDOW_S,
        "login_failures_per_account": 3,
        "login_backoff_s": WINDOW_S,
    }
    with pg_redis_server(tmp_path_factory.mktemp("hardening-staff"), api=api) as srv:
        add_staff(srv, "cw1", "caseworker")
        add_staff(srv, "cw2", "caseworker")
        add_staff(srv, "boss", "admin")
        yield srv


def _from(server: LiveServer, ip: str) -> httpx.Client:
    return server.client(headers={"X-Forwarded-For": ip})


def _new_case(server: LiveServer) -> dict[str, Any]:
    with server.client() as c:
        session = c.post("/api/chat", json={"message": "办理社保卡要多少钱"}).json()["session"]
        r = c.post("/api/handoff", json={"session": session, "kind": "caseworker"})
        assert r.status_code == 200, r.text
        return r.json()["handoff"]  # type: ignore[no-any-return]


def _status(client: httpx.Client, case_no: str, code: str) -> httpx.Response:
    return client.post("/api/cases/status", json={"case_no": case_no, "verify_code": code})


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- 4. case-code lockout ----------------------------------------------------------------------------
def test_wrong_codes_throttle_the_case_for_a_window_never_for_good(server: LiveServer) -> None:
    case = _new_case(server)
    case_no, code = case["case_no"], case["verify_code"]
    for i in range(10):  # ten clients, one wrong code each: the per-IP limit is not what stops them
        with _from(server, f"10.0.1.{i}") as c:
            assert _status(c, case_no, _wrong(code)).status_code == 404
    with _from(server, "10.0.2.1") as citizen:
        locked = _status(citizen, case_no, code)
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
        assert "分钟" in locked.json()["error"]["message"]
        # The window ends (15 minutes in production; moved back here): the right code works again.
        with server.services.engine.begin() as conn:
            conn.execute(
                text("UPDATE cases SET verify_window_start = verify_window_start - interval '16 minutes'")
            )
        ok = _status(citizen, case_no, code)
        assert ok.status_code == 200 and ok.json()["case_no"] == case_no


def test_wrong_codes_throttle_the_client_with_expiry(server: LiveServer) -> None:
    case = _new_case(server)
    with _from(server, "10.0.3.1") as guesser, _from(server, "10.0.3.2") as neighbour:
        for n in range(5):  # five different (non-existent) cases: only the per-client limit applies
            assert _status(guesser, f"HB20260101-AAA{n + 2}", "123456").status_code == 404
        refused = _status(guesser, case["case_no"], case["verify_code"])
        assert refused.status_code == 429 and "Retry-After" in refused.headers
        assert _status(neighbour, case["case_no"], case["verify_code"]).status_code == 200
        time.sleep(WINDOW_S + 0.5)
        assert _status(guesser, case["case_no"], case["verify_code"]).status_code == 200


# --- 9. taking a case is enforced ---------------------------------------------------------------------
def test_only_the_caseworker_who_took_a_case_or_an_admin_may_reply_or_close(server: LiveServer) -> None:
    first, second = _new_case(server)["case_no"], _new_case(server)["case_no"]
    with (
        bearer(server, "cw1", PASSWORD) as cw1,
        bearer(server, "cw2", PASSWORD) as cw2,
        bearer(server, "boss", PASSWORD) as admin,
    ):
        untaken = cw1.post(f"/api/cases/{first}/reply", json={"text": "您好"})
        assert untaken.status_code == 403 and untaken.json()["error"]["code"] == "not_assignee"
        assert cw1.post(f"/api/cases/{first}/take").status_code == 200
        for action, body in (("reply", {"text": "我替他回复"}), ("close", None)):
            r = cw2.post(f"/api/cases/{first}/{action}", json=body)
            assert r.status_code == 403 and r.json()["error"]["code"] == "not_assignee", action
        assert cw2.post(f"/api/cases/{first}/draft").status_code == 200  # reading and drafting stay open
        assert cw1.post(f"/api/cases/{first}/reply", json={"text": "您好，请带身份证。"}).status_code == 200
        assert cw1.post(f"/api/cases/{first}/close").json()["status"] == "closed"
        # An admin may step in on any case, taken or not.
        assert admin.post(f"/api/cases/{second}/reply", json={"text": "管理员答复"}).status_code == 200
        assert admin.post(f"/api/cases/{second}/close").json()["status"] == "closed"


# --- 9. per-account login back-off ---------------------------------------------------------------------
def test_failed_logins_back_off_per_account_across_addresses(server: LiveServer) -> None:
    add_staff(server, "alice", "caseworker")

    def attempt(ip: str, username: str, password: str) -> int:
        with _from(server, ip) as c:
            return c.post("/api/auth/login", json={"username": username, "password": password}).status_code

    assert [attempt(f"10.0.4.{i}", "alice", "wrong password") for i in range(3)] == [401] * 3
    assert attempt("10.0.4.100", "Alice", PASSWORD) == 429  # the right password waits too
    assert attempt("10.0.4.100", "cw1", PASSWORD) == 200  # other accounts are not affected
    time.sleep(WINDOW_S + 0.5)
    assert attempt("10.0.4.101", "alice", PASSWORD) == 200


# --- 9. /metrics in production ---------------------------------------------------------------------
def test_metrics_need_the_token_or_an_admin_in_production(tmp_path: Path) -> None:
    api = {"metrics_token": "scrape-token-for-tests", "cookie_secure": False}
    with pg_redis_server(tmp_path, api=api, env="production") as prod:
        add_staff(prod, "ops-cw", "caseworker")
        add_staff(prod, "ops-admin", "admin")
        with prod.client() as anonymous:
            assert anonymous.get("/metrics").status_code == 401
            assert anonymous.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
            scraped = anonymous.get("/metrics", headers={"Authorization": "Bearer scrape-token-for-tests"})
            assert scraped.status_code == 200 and "govchat_http_requests_total" in scraped.text
            assert anonymous.get("/healthz").status_code == 200
        with bearer(prod, "ops-cw", PASSWORD) as cw:
            assert cw.get("/metrics").status_code == 403
        with bearer(prod, "ops-admin", PASSWORD) as admin:
            assert admin.get("/metrics").status_code == 200
