"""Staff API over a real server: logins, roles, CSRF, tokens, API keys, the case desk, followups."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from serving.cli import app as cli_app
from tests.integration._api_fixtures import (
    LiveServer,
    add_staff,
    api_settings,
    bearer,
    login,
    sse_events,
    start_app,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with start_app(api_settings(tmp_path_factory.mktemp("api-staff"))) as srv:
        add_staff(srv, "cw", "caseworker")
        add_staff(srv, "boss", "admin")
        yield srv
    assert not srv.blocking_reports(), srv.blocking_reports()


def _new_case(client: httpx.Client, question: str = "办理社保卡要多少钱") -> tuple[str, dict[str, Any]]:
    """A citizen asks, then asks for a caseworker; returns (session token, handoff)."""
    session = client.post("/api/chat", json={"message": question}).json()["session"]
    r = client.post("/api/handoff", json={"session": session, "kind": "caseworker", "consent": False})
    assert r.status_code == 200, r.text
    return session, r.json()["handoff"]


def test_anonymous_users_cannot_reach_staff_routes(server: LiveServer) -> None:
    with server.client() as anon:
        for method, path in [("GET", "/api/cases"), ("GET", "/api/followups"), ("GET", "/api/admin/documents"),
                             ("POST", "/api/cases/HB1/take"), ("GET", "/api/auth/me")]:  # fmt: skip
            r = anon.request(method, path)
            assert r.status_code == 401, path
            assert r.json()["error"]["code"] == "not_logged_in"


def test_wrong_password_is_401_and_does_not_say_which_part_was_wrong(server: LiveServer) -> None:
    with server.client() as c:
        a = c.post("/api/auth/login", json={"username": "cw", "password": "wrong password"})
        b = c.post("/api/auth/login", json={"username": "nobody", "password": "wrong password"})
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()
    assert "govchat_staff" not in a.headers.get("set-cookie", "")


def test_cookie_login_sets_an_httponly_cookie_and_needs_csrf_for_changes(server: LiveServer) -> None:
    client, csrf = login(server, "cw", "correct horse battery")
    with closing(client):
        cookie = client.cookies.jar
        assert any(c.name == "govchat_staff" for c in cookie)
        r = client.post("/api/auth/login", json={"username": "cw", "password": "correct horse battery"})
        assert (
            "httponly" in r.headers["set-cookie"].lower()
            and "samesite=lax" in r.headers["set-cookie"].lower()
        )
        csrf = r.json()["csrf_token"]
        me = client.get("/api/auth/me").json()
        assert me["user"] == "cw" and me["role"] == "caseworker" and me["csrf_token"] == csrf
        assert client.get("/api/cases").status_code == 200  # reads need no CSRF header
        _, handoff = _new_case(client)
        case_no = handoff["case_no"]
        no_csrf = client.post(f"/api/cases/{case_no}/take")
        assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf"
        bad = client.post(f"/api/cases/{case_no}/take", headers={"X-CSRF-Token": "guess"})
        assert bad.status_code == 403
        ok = client.post(f"/api/cases/{case_no}/take", headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 200 and ok.json()["status"] == "taken" and ok.json()["assigned_to"] == "cw"
        assert client.post("/api/auth/logout").status_code == 403  # logout changes state too
        assert client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
        assert client.get("/api/auth/me").status_code == 401


def test_logged_out_cookie_cannot_be_replayed(server: LiveServer) -> None:
    client, csrf = login(server, "cw", "correct horse battery")
    with closing(client):
        stolen = client.cookies.get("govchat_staff")
        client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    with server.client(cookies={"govchat_staff": stolen or ""}) as replay:
        assert replay.get("/api/cases").status_code == 401


def test_caseworker_is_403_on_admin_routes_and_admin_may_do_casework(server: LiveServer) -> None:
    with bearer(server, "cw", "correct horse battery") as cw:
        r = cw.get("/api/admin/documents")
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert cw.put("/api/admin/synonyms", json={"text": "a: [b]"}).status_code == 403
        assert cw.get("/api/cases").status_code == 200
    with bearer(server, "boss", "correct horse battery") as boss:
        assert boss.get("/api/cases").status_code == 200
        assert boss.get("/api/admin/documents").status_code == 200
        # Bearer requests need no CSRF header: browsers never attach them on their own.
        assert boss.post("/api/admin/reindex").status_code == 202


def test_garbage_bearer_and_tampered_cookie_are_401(server: LiveServer) -> None:
    with server.client(headers={"Authorization": "Bearer not-a-token"}) as c:
        assert c.get("/api/cases").status_code == 401
    with server.client(cookies={"govchat_staff": "abc.def"}) as c:
        assert c.get("/api/cases").status_code == 401


def test_case_desk_draft_reply_reaches_the_citizen_chat_and_events(server: LiveServer) -> None:
    citizen = server.client()
    session, handoff = _new_case(citizen, "办理社保卡要多少钱")
    case_no = handoff["case_no"]
    received: list[tuple[str, Any]] = []

    def listen() -> None:
        try:
            with (
                httpx.Client(base_url=server.url, timeout=10) as c,
                c.stream("GET", "/api/events", params={"session": session}) as r,
            ):
                for name, data in sse_events(r):
                    received.append((name, data))
                    if name == "reply":
                        return
        except httpx.HTTPError as exc:
            received.append(("client-error", repr(exc)))

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(0.3)
    with bearer(server, "cw", "correct horse battery") as cw:
        queue = cw.get("/api/cases", params={"status": "open"}).json()
        assert case_no in [c["case_no"] for c in queue]
        detail = cw.get(f"/api/cases/{case_no}").json()
        assert detail["case"]["case_no"] == case_no
        assert any("社保卡" in t["content"] for t in detail["transcript"] if t["role"] == "user")
        draft = cw.post(f"/api/cases/{case_no}/draft").json()
        assert draft["answer"] and draft["mode"] in ("extractive", "llm")
        assert draft["citations"] and "社保卡" in draft["question"]
        assert cw.post(f"/api/cases/{case_no}/take").status_code == 200
        r = cw.post(f"/api/cases/{case_no}/reply", json={"text": "您好，补卡请携带身份证到社保窗口办理。"})
        assert r.status_code == 200 and r.json()["delivered"] is True
    listener.join(10)
    assert "reply" in [n for n, _ in received], received
    reply = next(d for n, d in received if n == "reply")
    assert reply["case_no"] == case_no and "身份证" in reply["text"]
    turns = citizen.get("/api/history", params={"session": session}).json()["turns"]
    assert turns[-1]["role"] == "caseworker" and "社保窗口" in turns[-1]["content"]
    status = citizen.post(
        "/api/cases/status", json={"case_no": case_no, "verify_code": handoff["verify_code"]}
    ).json()
    assert status["status"] == "replied" and "身份证" in status["last_reply"]
    with bearer(server, "cw", "correct horse battery") as cw:
        assert cw.post(f"/api/cases/{case_no}/close").json()["status"] == "closed"
        late = cw.post(f"/api/cases/{case_no}/reply", json={"text": "补充"})
        assert late.status_code == 409
        assert cw.get("/api/cases/HB00000000-XXXX").status_code == 404
    citizen.close()


def test_the_draft_is_about_the_case_not_what_the_citizen_asked_afterwards(server: LiveServer) -> None:
    with server.client() as citizen:
        session = citizen.post("/api/chat", json={"message": "我要办开办餐饮店一件事"}).json()["session"]
        for answer in ("执照已经办好了", "不是 我自己办", "六十平方左右", "武汉市江汉区"):
            r = citizen.post("/api/chat", json={"session": session, "message": answer}).json()
        assert r["flow"] and r["flow"]["kind"] == "checklist", r["answer"]
        handoff = citizen.post(
            "/api/handoff", json={"session": session, "kind": "caseworker", "consent": False}
        )
        case_no = handoff.json()["handoff"]["case_no"]
        time.sleep(2.5)  # a later question, clearly after the handoff
        later = citizen.post(
            "/api/chat", json={"session": session, "message": "另外问一下 退休要准备哪些材料"}
        )
        assert later.status_code == 200
    with bearer(server, "cw", "correct horse battery") as cw:
        detail = cw.get(f"/api/cases/{case_no}").json()
        assert any("餐饮店" in t["content"] for t in detail["transcript"])
        assert not any("退休" in t["content"] for t in detail["transcript"] if t["role"] == "user")
        assert any("退休" in t["content"] for t in detail["follow_ups"] if t["role"] == "user")
        draft = cw.post(f"/api/cases/{case_no}/draft").json()
        assert "退休" not in draft["question"] and "餐饮店" in draft["question"], draft["question"]
        assert "需要准备的材料" in draft["answer"] and "食品经营许可" in draft["answer"], draft["answer"]
        assert draft["citations"] and draft["citations"][0]["doc_id"] == "open_restaurant"


def test_another_caseworker_cannot_take_a_taken_case(server: LiveServer) -> None:
    add_staff(server, "cw2", "caseworker")
    with server.client() as citizen:
        _, handoff = _new_case(citizen)
    with (
        bearer(server, "cw", "correct horse battery") as a,
        bearer(server, "cw2", "correct horse battery") as b,
    ):
        assert a.post(f"/api/cases/{handoff['case_no']}/take").status_code == 200
        r = b.post(f"/api/cases/{handoff['case_no']}/take")
        assert r.status_code == 409 and r.json()["error"]["code"] == "case_state"


def test_followups_list_bad_ratings_for_staff(server: LiveServer) -> None:
    with server.client() as citizen:
        turn = citizen.post("/api/chat", json={"message": "电子证照怎么用"}).json()
        rating = {
            "session": turn["session"],
            "turn_id": turn["turn_id"],
            "level": "不满意",
            "comment": "看不懂",
        }
        assert citizen.post("/api/feedback", json=rating).status_code == 200
    with bearer(server, "cw", "correct horse battery") as cw:
        items = cw.get("/api/followups").json()
    assert any(i["turn_id"] == turn["turn_id"] and i["level"] == "不满意" for i in items)


def test_cli_creates_users_and_api_keys_usable_as_bearer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVCHAT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GOVCHAT_RETRIEVAL__EMBEDDER", "hashing")
    runner = CliRunner()
    r = runner.invoke(cli_app, ["user", "add", "ops", "--role", "admin", "--password", "long enough pw"])
    assert r.exit_code == 0, r.output
    dup = runner.invoke(cli_app, ["user", "add", "ops", "--role", "admin", "--password", "long enough pw"])
    assert dup.exit_code == 1
    bad = runner.invoke(cli_app, ["user", "add", "x", "--role", "root", "--password", "long enough pw"])
    assert bad.exit_code != 0
    key = runner.invoke(cli_app, ["user", "apikey", "ops"]).output.strip()
    assert key.startswith("gck_")
    assert runner.invoke(cli_app, ["user", "apikey", "ghost"]).exit_code == 1
    with (
        start_app(api_settings(tmp_path, api={"sample_if_empty": False})) as srv,
        srv.client(headers={"Authorization": f"Bearer {key}"}) as c,
    ):
        assert c.get("/api/auth/me").json() == {"user": "ops", "role": "admin", "csrf_token": ""}
        assert c.get("/api/admin/jobs").status_code == 200
        assert c.post("/api/auth/logout").status_code == 200  # logging out does not revoke a key
        assert c.get("/api/admin/jobs").status_code == 200
    # The key is stored only as a hash.
    import sqlite3

    rows = (
        sqlite3.connect(tmp_path / "govchat.sqlite3")
        .execute("SELECT secret_hash FROM staff_credentials")
        .fetchall()
    )
    assert rows and all(key not in row[0] for row in rows)


PHONE = "13912345678"


def test_a_consented_contact_is_revealed_only_to_the_taker_with_a_reason_and_audited(
    server: LiveServer,
) -> None:
    with server.client() as citizen:
        session = citizen.post("/api/chat", json={"message": "社保卡丢了怎么补办"}).json()["session"]
        r = citizen.post("/api/handoff", json={
            "session": session, "kind": "caseworker", "consent": True,
            "contact": {"name": "王女士", "phone": PHONE},
        })  # fmt: skip
        case_no = r.json()["handoff"]["case_no"]
        bare = citizen.post("/api/handoff", json={"session": session, "kind": "caseworker", "consent": False})
        bare_no = bare.json()["handoff"]["case_no"]
    with bearer(server, "cw", "correct horse battery") as cw:
        detail = cw.get(f"/api/cases/{case_no}").json()
        assert PHONE not in str(detail) and detail["case"]["contact_masked"]
        early = cw.post(f"/api/cases/{case_no}/contact", json={"reason": "电话回访核实"})
        assert early.status_code == 403  # take the case first
        assert cw.post(f"/api/cases/{case_no}/contact", json={"reason": ""}).status_code == 422
        assert cw.post(f"/api/cases/{case_no}/take").status_code == 200
        shown = cw.post(f"/api/cases/{case_no}/contact", json={"reason": "电话回访核实材料"})
        assert shown.status_code == 200 and shown.json()["contact"]["phone"] == PHONE
        trail = shown.json()["reveals"]
        assert trail[-1]["actor"] == "cw" and trail[-1]["reason"] == "电话回访核实材料" and trail[-1]["at"]
        assert PHONE not in str(cw.get(f"/api/cases/{case_no}").json())  # masked again everywhere else
        assert cw.post(f"/api/cases/{bare_no}/take").status_code == 200
        none = cw.post(f"/api/cases/{bare_no}/contact", json={"reason": "电话回访"})
        assert none.status_code == 409 and none.json()["error"]["code"] == "no_contact"
    rows = server.ctx.services.cases.contact_reveals(case_no)
    assert [(r["actor"], r["reason"]) for r in rows] == [("cw", "电话回访核实材料")]


def test_low_ratings_promise_a_call_back_only_with_consent_and_staff_act_on_them(server: LiveServer) -> None:
    with server.client() as citizen:
        first = citizen.post("/api/chat", json={"message": "退休要准备哪些材料"}).json()
        session = first["session"]
        rated = citizen.post(
            "/api/feedback", json={"session": session, "turn_id": first["turn_id"], "stars": 1}
        ).json()
        assert rated["needs_followup"] is True and rated["callback"] is False
        other = citizen.post("/api/chat", json={"session": session, "message": "公积金封存要多久"}).json()
        citizen.post("/api/handoff", json={
            "session": session, "kind": "caseworker", "consent": True, "contact": {"name": "李先生", "phone": PHONE},
        })  # fmt: skip
        again = citizen.post(
            "/api/feedback", json={"session": session, "turn_id": other["turn_id"], "stars": 2}
        ).json()
        assert again.get("callback") is True, again
    with bearer(server, "cw", "correct horse battery") as cw:
        items = {f["turn_id"]: f for f in cw.get("/api/followups").json()}
        item = items[first["turn_id"]]
        assert "session_id" not in item and item["callback_case"]  # the session now has a consented case
        fid = item["id"]
        assert cw.post(f"/api/followups/{fid}/note", json={"text": ""}).status_code == 422
        assert (
            cw.post(f"/api/followups/{fid}/note", json={"text": f"已致电{PHONE}，群众表示理解"}).status_code
            == 200
        )
        r = cw.post(
            f"/api/followups/{fid}/reply", json={"text": "您好，退休材料以单位经办为准，如有疑问请回复。"}
        )
        assert r.status_code == 200
        done = cw.post(f"/api/followups/{fid}/resolve", json={}).json()
        assert done["done"] is True and [e["kind"] for e in done["log"]] == ["note", "reply", "resolve"]
        assert PHONE not in str(done["log"])  # notes are masked like everything stored
        assert fid not in {f["id"] for f in cw.get("/api/followups").json()}
        assert cw.post("/api/followups/nope/resolve", json={}).status_code == 404
        assert cw.post(f"/api/followups/{fid}/delete", json={}).status_code in (404, 422)
    with server.client() as citizen:
        turns = citizen.get("/api/history", params={"session": session}).json()["turns"]
        assert any(t["role"] == "caseworker" and "退休材料" in t["content"] for t in turns)
