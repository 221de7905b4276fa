"""Citizen API over a real uvicorn server: chat (JSON + SSE), sessions, feedback, handoff, status, sources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.llm.base import ChatMessage
from assistant.llm.fake import ScriptedChatModel
from serving.app import create_app
from serving.services import build_services
from tests.integration._api_fixtures import LiveServer, api_settings, start_app, stream_chat

pytestmark = pytest.mark.integration

RESTAURANT_Q = "开饭店需要准备哪些材料"
PHONE = "13912345678"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with start_app(api_settings(tmp_path_factory.mktemp("api-citizen"))) as srv:
        yield srv
    assert not srv.blocking_reports(), srv.blocking_reports()


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def test_first_start_loads_the_sample_kb_and_reports_ready(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["chunks"] > 100


def test_chat_json_answers_with_citations_and_a_signed_session(client: httpx.Client) -> None:
    r = client.post("/api/chat", json={"session": None, "message": "电子证照怎么用"})
    assert r.status_code == 200
    body = r.json()
    assert body["answer"] and body["mode"] in ("extractive", "fixed")
    assert body["citations"] and {"n", "doc_id", "title", "section", "chunk_id", "snippet"} <= set(
        body["citations"][0]
    )
    assert "." in body["session"]  # signed, not the raw id
    again = client.post("/api/chat", json={"session": body["session"], "message": "谢谢"}).json()
    assert again["session"] == body["session"]
    turns = client.get("/api/history", params={"session": body["session"]}).json()["turns"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]


def test_unknown_or_forged_session_gets_a_fresh_one(client: httpx.Client) -> None:
    r = client.post("/api/chat", json={"session": "forged.token", "message": "你好"})
    assert r.status_code == 200 and r.json()["session"] != "forged.token"
    h = client.get("/api/history", params={"session": "IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwIg.bad"})
    assert h.status_code == 200 and h.json()["turns"] == []


def test_stream_sends_session_first_done_last_and_done_is_the_whole_answer(client: httpx.Client) -> None:
    events = stream_chat(client, "电子证照怎么用")
    names = [e for e, _ in events]
    assert names[0] == "session" and names[-1] == "done"
    assert "token" in names and names.index("token") < names.index("done")
    citations = [d for e, d in events if e == "citation"]
    result = events[-1][1]["result"]
    assert [c["n"] for c in citations] == [c["n"] for c in result["citations"]]
    assert result["session"] == events[0][1]["session"]
    assert "".join(d["text"] for e, d in events if e == "token") == result["answer"]


def test_stream_of_a_guided_flow_emits_the_workflow_event(client: httpx.Client) -> None:
    events = stream_chat(client, "我要办开饭店一件事")
    workflow = [d for e, d in events if e == "workflow"]
    assert workflow and workflow[0]["workflow"]["id"] == "open_restaurant"
    assert events[-1][1]["result"]["workflow"]["id"] == "open_restaurant"


def test_invalid_json_and_missing_fields_are_422_with_a_clear_message(client: httpx.Client) -> None:
    r = client.post("/api/chat", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_json" and "JSON" in r.json()["error"]["message"]
    r = client.post("/api/chat", json={"session": None})
    assert r.status_code == 422 and "message" in r.json()["error"]["message"]
    assert "Traceback" not in r.text


def test_oversized_bodies_are_413_declared_or_chunked(client: httpx.Client) -> None:
    big = "问" * 200_000  # ~600 KB of UTF-8, over the 256 KB default
    r = client.post("/api/chat", json={"message": big})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"

    def chunks() -> Iterator[bytes]:
        yield b'{"message": "'
        for _ in range(100):
            yield ("问" * 1000).encode()
        yield b'"}'

    r = client.post("/api/chat", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_responses_carry_security_headers_and_echo_the_request_id(client: httpx.Client) -> None:
    r = client.get("/api/items", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert (
        len(client.get("/api/items", headers={"X-Request-ID": "bad id <script>"}).headers["x-request-id"])
        == 32
    )


def test_items_catalog_lists_every_workflow_with_its_audience(client: httpx.Client) -> None:
    items = client.get("/api/items").json()
    ids = {i["id"] for i in items}
    assert {"open_restaurant", "birth"} <= ids
    assert all(i["audience"] in ("个人", "企业", "个人和企业") for i in items)


def test_sources_show_a_document_with_its_chunks_and_unknown_is_404(client: httpx.Client) -> None:
    doc = client.get("/api/sources/haochaping").json()
    assert doc["title"] and doc["chunks"] and doc["status"] == "有效"
    assert "/" not in doc["source"]  # never the server's file path
    r = client.get("/api/sources/no-such-doc")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_bad_rating_opens_a_followup_with_a_masked_comment(server: LiveServer, client: httpx.Client) -> None:
    turn = client.post("/api/chat", json={"message": "电子证照怎么用"}).json()
    r = client.post(
        "/api/feedback",
        json={
            "session": turn["session"],
            "turn_id": turn["turn_id"],
            "stars": 1,
            "comment": f"没用，回电{PHONE}",
        },
    )
    assert r.status_code == 200
    assert r.json()["level"] == "非常不满意" and r.json()["needs_followup"] is True
    followups = server.services.audit.followups()
    mine = [f for f in followups if f["turn_id"] == turn["turn_id"]]
    assert len(mine) == 1 and PHONE not in mine[0]["comment"]
    # Rating again changes the one rating of the turn (and with it the follow-up).
    ok = client.post(
        "/api/feedback", json={"session": turn["session"], "turn_id": turn["turn_id"], "level": "满意"}
    )
    assert ok.json()["needs_followup"] is False and ok.json()["changed"] is True
    assert turn["turn_id"] not in [f["turn_id"] for f in server.services.audit.followups()]
    session = turn["session"]
    assert (
        client.post("/api/feedback", json={"session": session, "turn_id": "nope", "stars": 3}).status_code
        == 404
    )
    assert (
        client.post("/api/feedback", json={"session": session, "turn_id": turn["turn_id"]}).status_code == 422
    )
    bad = {"session": session, "turn_id": turn["turn_id"], "stars": 9}
    assert client.post("/api/feedback", json=bad).status_code == 422


def test_handoff_needs_consent_for_contact_data(client: httpx.Client) -> None:
    session = client.post("/api/chat", json={"message": "我要找人工"}).json()["session"]
    contact = {"name": "张三", "phone": PHONE, "id_number": ""}
    r = client.post(
        "/api/handoff", json={"session": session, "kind": "caseworker", "consent": False, "contact": contact}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "consent_required"
    r = client.post("/api/handoff", json={"session": session, "kind": "teleport", "consent": True})
    assert r.status_code == 422


def test_handoff_creates_a_case_whose_status_the_citizen_can_look_up(client: httpx.Client) -> None:
    session = client.post("/api/chat", json={"message": "我要找人工"}).json()["session"]
    contact = {"name": "张三", "phone": PHONE, "id_number": ""}
    r = client.post(
        "/api/handoff", json={"session": session, "kind": "caseworker", "consent": True, "contact": contact}
    )
    assert r.status_code == 200
    handoff = r.json()["handoff"]
    assert handoff["case_no"] and handoff["verify_code"] and r.json()["session"] == session
    status = client.post(
        "/api/cases/status", json={"case_no": handoff["case_no"], "verify_code": handoff["verify_code"]}
    )
    assert status.status_code == 200
    assert status.json()["status"] == "open" and status.json()["status_label"]
    wrong = client.post("/api/cases/status", json={"case_no": handoff["case_no"], "verify_code": "000000"})
    assert wrong.status_code == 404


def test_metrics_count_requests_turns_and_unanswerable_questions(client: httpx.Client) -> None:
    def no_evidence() -> float:
        line = next(
            x for x in client.get("/metrics").text.splitlines() if x.startswith("govchat_no_evidence_total")
        )
        return float(line.split()[-1])

    before = no_evidence()
    answer = client.post("/api/chat", json={"message": "游艇驾驶证年审需要哪些材料"}).json()
    assert answer["citations"] == [] and answer["mode"] == "fixed"
    assert no_evidence() == before + 1
    text = client.get("/metrics").text
    assert 'govchat_http_requests_total{method="POST",route="/api/chat",status="200"}' in text
    assert 'govchat_turns_total{intent="consult",mode="fixed"}' in text
    assert "govchat_http_request_duration_seconds_bucket" in text


def test_pages_are_served_when_present(client: httpx.Client) -> None:
    from serving.routes.pages import PAGES, STATIC_DIR

    for route, filename in PAGES.items():
        r = client.get(route)
        if (STATIC_DIR / filename).is_file():
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        else:
            assert r.status_code == 404


def _uncited_llm(messages: tuple[ChatMessage, ...]) -> str:
    # Routing asks for JSON: "{}" makes the router fall back to its rules. Answers cite nothing.
    return "{}" if "意图分类器" in messages[0].content else "电子证照可以随便用，不需要依据。"


def test_stream_done_replaces_an_uncited_llm_answer(tmp_path: Path) -> None:
    settings = api_settings(tmp_path)
    services = build_services(settings, llm=ScriptedChatModel(_uncited_llm))
    with LiveServer(create_app(settings, services)) as srv, srv.client() as client:
        events = stream_chat(client, "电子证照怎么用")
        streamed = "".join(d["text"] for e, d in events if e == "token")
        result = events[-1][1]["result"]
        assert "随便用" in streamed  # the LLM's words went out as they came …
        assert result["mode"] == "extractive" and "随便用" not in result["answer"]  # … and done replaced them
        assert result["citations"]
        assert not srv.blocking_reports()
    services.close()
