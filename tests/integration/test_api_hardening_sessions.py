"""Issue 9 over the real API on PostgreSQL + Redis: OpenAI-endpoint session takeover, NUL bytes at the
edge, the audit write as part of the turn, and feedback tied to the session that owns the turn."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.integration._api_fixtures import LiveServer, add_staff, bearer, sse_events
from tests.integration._live_pg import pg_redis_server

pytestmark = pytest.mark.integration

SECRET_QUESTION = "我叫王小明，我想问新生儿落户要带什么材料"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with pg_redis_server(tmp_path_factory.mktemp("hardening-sessions")) as srv:
        add_staff(srv, "integrator", "caseworker")
        add_staff(srv, "partner", "caseworker")
        yield srv


def _completion(client: httpx.Client, content: str, **extra: Any) -> dict[str, Any]:
    body = {"model": "govchat", "messages": [{"role": "user", "content": content}], **extra}
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _history_text(client: httpx.Client, token: str) -> str:
    turns = client.get("/api/history", params={"session": token}).json()["turns"]
    return " ".join(t["content"] for t in turns)


# --- 1. session takeover through /v1/chat/completions ------------------------------------------------
def test_a_user_string_never_reaches_another_callers_session(server: LiveServer) -> None:
    with server.client() as victim, server.client() as attacker:
        mine = _completion(victim, SECRET_QUESTION, user="citizen-42")["govchat"]["session"]
        theirs = _completion(attacker, "你好", user="citizen-42")["govchat"]["session"]
        assert theirs != mine
        assert "王小明" not in _history_text(attacker, theirs)
        # An SDK's placeholder key is no credential: still anonymous, still a fresh session.
        sdk = server.client(headers={"Authorization": "Bearer sk-placeholder"})
        other = _completion(sdk, "你好", user="citizen-42")["govchat"]["session"]
        assert other not in (mine, theirs) and "王小明" not in _history_text(sdk, other)
        sdk.close()
        # The victim keeps the conversation with the token it was given.
        again = _completion(victim, "谢谢", metadata={"session": mine})["govchat"]["session"]
        assert again == mine and "王小明" in _history_text(victim, mine)


def test_an_api_key_scopes_user_sessions_to_its_own_account(server: LiveServer) -> None:
    key = server.ctx.users.issue_for("integrator", "apikey")
    other_key = server.ctx.users.issue_for("partner", "apikey")
    with (
        server.client(headers={"Authorization": f"Bearer {key}"}) as app,
        server.client(headers={"Authorization": f"Bearer {other_key}"}) as other_app,
        server.client() as anonymous,
    ):
        first = _completion(app, SECRET_QUESTION, user="app-user-7")["govchat"]["session"]
        second = _completion(app, "那要多久", user="app-user-7")["govchat"]["session"]
        assert first == second  # the key's own end user keeps the conversation
        foreign = _completion(other_app, "你好", user="app-user-7")["govchat"]["session"]
        anon = _completion(anonymous, "你好", user="app-user-7")["govchat"]["session"]
        assert len({first, foreign, anon}) == 3
        assert "王小明" not in _history_text(other_app, foreign) + _history_text(anonymous, anon)


# --- 3. NUL bytes and the audit write ----------------------------------------------------------------
def test_nul_bytes_never_reach_postgresql(server: LiveServer) -> None:
    add_staff(server, "nul-admin", "admin")
    with server.client() as c, bearer(server, "nul-admin", "correct horse battery") as admin:
        login = c.post("/api/auth/login", json={"username": "nul-admin\x00", "password": "wrong password"})
        assert login.status_code == 401
        status = c.post("/api/cases/status", json={"case_no": "HB2026\x00-AAAA", "verify_code": "12\x0034"})
        assert status.status_code == 404
        turn = c.post("/api/chat", json={"message": "电子证照\x00怎么用"}).json()
        fb = c.post("/api/feedback", json={"session": turn["session"], "turn_id": "ab\x00cd", "stars": 5})
        assert fb.status_code == 404
        for path in ("/api/sources/birth%00", "/api/history?session=%00"):
            r = c.get(path)
            assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", (path, r.text)
        for method, path in (
            ("GET", "/api/cases/HB2026%00-AAAA"),
            ("GET", "/api/admin/jobs/%00"),
            ("POST", "/api/admin/documents/birth%00/retire"),
            ("DELETE", "/api/admin/documents/%00"),
            ("GET", "/api/admin/eval/files/a%00.png"),
        ):
            r = admin.request(method, path)
            assert r.status_code == 400, (method, path, r.text)


def test_a_message_with_nul_is_answered_audited_and_can_be_rated(server: LiveServer) -> None:
    with server.client() as c:
        turn = c.post("/api/chat", json={"message": "电子证照\x00怎么用"})
        assert turn.status_code == 200
        body = turn.json()
        assert body["answer"] and body["citations"]
        audited = server.services.audit.turns()
        assert body["turn_id"] in [t["turn_id"] for t in audited]
        fb = c.post(
            "/api/feedback", json={"session": body["session"], "turn_id": body["turn_id"], "stars": 4}
        )
        assert fb.status_code == 200, fb.text
        streamed = c.post("/api/chat/stream", json={"message": "\x00社保卡\x00怎么办"})
        events = list(sse_events(streamed))
        assert events[-1][0] == "done"


def test_a_turn_whose_audit_row_fails_is_an_error_not_a_silent_loss(server: LiveServer) -> None:
    engine = server.services.engine
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_records ADD CONSTRAINT audit_down CHECK (false) NOT VALID"))
    try:
        with server.client() as c:
            r = c.post("/api/chat", json={"message": "电子证照怎么用"})
            assert r.status_code == 503 and r.json()["error"]["code"] == "audit_failed"
            with c.stream("POST", "/api/chat/stream", json={"message": "电子证照怎么用"}) as s:
                names = [name for name, _ in sse_events(s)]
            assert "error" in names and "done" not in names
            body = {"model": "govchat", "messages": [{"role": "user", "content": "电子证照怎么用"}]}
            assert c.post("/v1/chat/completions", json=body).status_code == 503
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_records DROP CONSTRAINT audit_down"))
    with server.client() as c:
        assert c.post("/api/chat", json={"message": "电子证照怎么用"}).status_code == 200


# --- 9. feedback: the owning session, one rating per turn --------------------------------------------
def test_feedback_needs_the_session_that_owns_the_turn(server: LiveServer) -> None:
    with server.client() as owner, server.client() as stranger:
        turn = owner.post("/api/chat", json={"message": "电子证照怎么用"}).json()
        other = stranger.post("/api/chat", json={"message": "你好"}).json()
        rating = {"turn_id": turn["turn_id"], "stars": 1, "comment": "没用"}
        assert stranger.post("/api/feedback", json={**rating, "session": other["session"]}).status_code == 404
        assert stranger.post("/api/feedback", json=rating).status_code == 422  # no session at all
        forged = {**rating, "session": "forged.token"}
        assert stranger.post("/api/feedback", json=forged).status_code == 404
        ok = owner.post("/api/feedback", json={**rating, "session": turn["session"]})
        assert ok.status_code == 200 and ok.json()["needs_followup"] is True


def test_one_rating_per_turn_and_a_second_one_changes_it(server: LiveServer) -> None:
    add_staff(server, "fb-cw", "caseworker")
    with server.client() as c:
        turn = c.post("/api/chat", json={"message": "社保卡丢了怎么补办"}).json()
        rating = {"session": turn["session"], "turn_id": turn["turn_id"]}
        for _ in range(20):
            assert c.post("/api/feedback", json={**rating, "stars": 1, "comment": "差"}).status_code == 200
    with bearer(server, "fb-cw", "correct horse battery") as cw:
        mine = [f for f in cw.get("/api/followups").json() if f["turn_id"] == turn["turn_id"]]
        assert len(mine) == 1  # never 20 follow-ups
        with server.client() as c:
            changed = c.post("/api/feedback", json={**rating, "level": "满意"}).json()
        assert changed["changed"] is True and changed["needs_followup"] is False
        assert turn["turn_id"] not in [f["turn_id"] for f in cw.get("/api/followups").json()]
    with server.services.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT level FROM feedback WHERE turn_id = :t"), {"t": turn["turn_id"]}
        ).all()
    assert [r[0] for r in rows] == ["满意"]
