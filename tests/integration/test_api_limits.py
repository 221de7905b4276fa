"""Limits and degraded dependencies: rate limits (in-process and real Redis), Redis down, LLM down."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
import redis

from retrieval.config import RetrievalSettings
from tests.integration._api_fixtures import add_staff, api_settings, free_port, start_app
from tests.paths import REDIS_URL

pytestmark = pytest.mark.integration


def _chat(client: httpx.Client, session: str | None, message: str = "电子证照怎么用") -> httpx.Response:
    return client.post("/api/chat", json={"session": session, "message": message})


def _assert_429(r: httpx.Response, window_s: int) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(r.headers["retry-after"]) <= window_s


def test_session_and_ip_limits_answer_429_with_retry_after(tmp_path: Path) -> None:
    settings = api_settings(tmp_path, api={"rate_per_session": 2, "rate_per_ip": 5, "rate_window_s": 30})
    with start_app(settings) as srv, srv.client() as c:
        first = _chat(c, None)
        session = first.json()["session"]
        assert _chat(c, session).status_code == 200
        _assert_429(_chat(c, session), 30)
        # Another session from the same address still gets through, until the per-IP limit.
        assert _chat(c, None).status_code == 200
        assert c.get("/api/items").status_code == 200
        _assert_429(c.get("/api/items"), 30)  # 6th request from this IP in the window
        assert c.get("/healthz").status_code == 200  # ops endpoints are not limited
        metrics = c.get("/metrics").text
        assert 'govchat_rate_limited_total{scope="session"} 1.0' in metrics
        assert not srv.blocking_reports()


def test_login_attempts_are_limited_per_address(tmp_path: Path) -> None:
    settings = api_settings(tmp_path, api={"rate_login_per_ip": 3, "sample_if_empty": False})
    with start_app(settings) as srv, srv.client() as c:
        add_staff(srv, "cw", "caseworker", "correct horse battery")
        for _ in range(3):
            assert (
                c.post("/api/auth/login", json={"username": "cw", "password": "guess1234"}).status_code == 401
            )
        r = c.post("/api/auth/login", json={"username": "cw", "password": "correct horse battery"})
        _assert_429(r, 60)


def test_limits_are_shared_through_real_redis(tmp_path: Path) -> None:
    prefix = f"test:rl:{uuid.uuid4().hex}:"
    settings = api_settings(
        tmp_path,
        redis={"url": REDIS_URL},
        api={"rate_per_session": 2, "rate_window_s": 20, "rate_key_prefix": prefix},
    )
    r = redis.Redis.from_url(REDIS_URL)
    try:
        with start_app(settings) as srv, srv.client() as c:
            session = _chat(c, None).json()["session"]
            assert _chat(c, session).status_code == 200
            _assert_429(_chat(c, session), 20)
            keys = r.keys(prefix + "session:*")
            assert len(keys) == 1 and int(r.get(keys[0]) or 0) == 3
            assert 0 < r.pttl(keys[0]) <= 20_000
            assert c.get("/readyz").json()["checks"]["redis"] == "ok"
            assert not srv.blocking_reports()
    finally:
        for key in r.scan_iter(prefix + "*"):
            r.delete(key)
        r.close()


def test_dead_redis_does_not_take_the_api_down(tmp_path: Path) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = api_settings(tmp_path, redis={"url": dead}, api={"rate_per_session": 3, "rate_window_s": 30})
    with start_app(settings) as srv, srv.client() as c:
        first = _chat(c, None)
        assert first.status_code == 200 and first.json()["citations"]
        session = first.json()["session"]
        second = _chat(c, session, "谢谢")
        assert second.status_code == 200
        ready = c.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded" and ready.json()["checks"]["redis"] == "down"
        # Limits still hold, counted in-process.
        assert _chat(c, session).status_code == 200
        _assert_429(_chat(c, session), 30)


def test_llm_down_answers_extractively_with_the_notice(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"
    settings = api_settings(
        tmp_path,
        llm={"base_url": closed, "max_retries": 0, "connect_timeout_s": 0.5, "timeout_s": 2},
        retrieval=RetrievalSettings(embedder="hashing"),
    )
    with start_app(settings) as srv, srv.client() as c:
        notice = srv.services.assistant.prompts.reply("llm_unavailable")
        body = _chat(c, None).json()
        assert body["mode"] == "extractive" and body["citations"]
        assert notice in body["answer"] and notice in body["notices"]
        assert not srv.blocking_reports()


def test_cors_allows_only_the_configured_origins(tmp_path: Path) -> None:
    settings = api_settings(
        tmp_path,
        auth={"secret_key": "x" * 32, "cors_origins": ["https://h5.ehb.example"]},
        api={"sample_if_empty": False},
    )
    with start_app(settings) as srv, srv.client() as c:
        preflight = {"Origin": "https://h5.ehb.example", "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type"}  # fmt: skip
        ok = c.options("/api/chat", headers=preflight)
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://h5.ehb.example"
        evil = c.options("/api/chat", headers=preflight | {"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in evil.headers
        simple = c.get("/api/items", headers={"Origin": "https://h5.ehb.example"})
        assert simple.headers["access-control-allow-origin"] == "https://h5.ehb.example"
        assert "access-control-allow-credentials" not in simple.headers
