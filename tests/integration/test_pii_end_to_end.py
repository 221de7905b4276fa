"""No raw personal data anywhere: 1,000 generated messages through the real API, then every place they
could have landed is searched for the raw values.

Each message carries valid-checksum 身份证号, mobile numbers and Luhn-valid bank cards written with every
trick of issue 9 (zero-width and format characters, double spaces, ``.`` ``/`` ``，`` or newlines between
digit groups, circled / mathematical-bold / full-width digits …). They go in as chat messages (JSON and
SSE), 好差评 comments and caseworker replies; chats are handed off to caseworkers so case summaries
carry them too. An LLM server that obeys whatever it is told answers, condenses and routes, and puts
fresh raw numbers of its own into its answers and rewrites.

Two servers share one data directory: the first keeps its records in SQLite there, the second in
PostgreSQL. Afterwards: every file of the data directory (SQLite, Chroma, indexes, models), a ``pg_dump``
of the PostgreSQL schema, every log record, every request the LLM server received and every API response
must hold 0 raw values.
"""

from __future__ import annotations

import json
import logging
import random
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.integration._api_fixtures import (
    LiveServer,
    add_staff,
    api_settings,
    bearer,
    start_app,
    stream_chat,
)
from tests.integration._llm_server import Behaviour, Reply, Respond, ScriptedLLMServer
from tests.paths import POSTGRES_URL
from tests.pii_messages import TRICKS, PIIMessage, generate, leaks, make_values

pytestmark = pytest.mark.integration

PER_SERVER = 500  # messages per server: 200 chat turns, 200 feedback comments, 100 caseworker replies
WORKERS = 4


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        with self._guard:
            self.lines.append(f"{record.name}: {text}")


@pytest.fixture
def captured_logs() -> Iterator[_Capture]:
    """Every log record (the app's own packages at DEBUG, everything else at INFO)."""
    handler = _Capture()
    root = logging.getLogger()
    own = [logging.getLogger(n) for n in ("assistant", "connectors", "retrieval", "serving")]
    saved = (root.level, [lg.level for lg in own])
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for lg in own:
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for lg, level in zip(own, saved[1], strict=True):
            lg.setLevel(level)


class ObedientLLM:
    """Routes as asked, rewrites and answers — and slips fresh raw numbers of its own into both."""

    def __init__(self) -> None:
        self.raw: list[str] = []
        self._rng = random.Random(11)
        self._guard = threading.Lock()

    def _fresh(self) -> str:
        with self._guard:
            _, phone, card = make_values(self._rng, len(self.raw))
            value = self._rng.choice((phone, card))
            self.raw.append(value)
            trick = TRICKS[self._rng.choice(sorted(TRICKS))]
            return trick(value, self._rng)

    def __call__(self, body: dict[str, Any]) -> Behaviour:
        system = body["messages"][0]["content"]
        if body.get("response_format"):
            return Reply(json.dumps({"intent": "consult", "confidence": 0.9, "workflow_id": None}))
        if "改写成" in system:
            return Reply(f"{body['messages'][-1]['content'][-60:]} 联系电话{self._fresh()}")
        return Reply(f"您提供的号码{self._fresh()}已记录，所需材料请见参考资料 [1]。", chunk_chars=4)


def _chat(server: LiveServer, batch: list[PIIMessage], responses: list[str]) -> list[tuple[str, str]]:
    """Half by JSON, half by SSE; returns (session token, turn id) per message."""
    out: list[tuple[str, str]] = []
    with server.client() as client:
        for i, m in enumerate(batch):
            if i % 2:
                r = client.post("/api/chat", json={"session": None, "message": m.text})
                assert r.status_code == 200, r.text
                responses.append(r.text)
                result = r.json()
            else:
                events = stream_chat(client, m.text)
                responses.append(json.dumps(events, ensure_ascii=False))
                result = events[-1][1]["result"]
            out.append((result["session"], result["turn_id"]))
    return out


def _rate(
    server: LiveServer, turns: list[tuple[str, str]], batch: list[PIIMessage], responses: list[str]
) -> None:
    with server.client() as client:
        for i, ((session, turn_id), m) in enumerate(zip(turns, batch, strict=True)):
            body = {"session": session, "turn_id": turn_id, "stars": 1 + i % 5, "comment": m.text[:1000]}
            r = client.post("/api/feedback", json=body)
            assert r.status_code == 200, r.text
            responses.append(r.text)


def _casework(
    server: LiveServer, sessions: list[str], batch: list[PIIMessage], responses: list[str], worker: str
) -> None:
    """Hand each session off to a caseworker, who takes the case and replies with a message."""
    password = add_staff(server, worker, "caseworker")
    with server.client() as citizen, bearer(server, worker, password) as cw:
        for session, m in zip(sessions, batch, strict=True):
            r = citizen.post(
                "/api/handoff", json={"session": session, "kind": "caseworker", "consent": False}
            )
            assert r.status_code == 200, r.text
            handoff = r.json()["handoff"]
            assert cw.post(f"/api/cases/{handoff['case_no']}/take").status_code == 200
            reply = cw.post(f"/api/cases/{handoff['case_no']}/reply", json={"text": m.text})
            assert reply.status_code == 200, reply.text
            status = citizen.post(
                "/api/cases/status",
                json={"case_no": handoff["case_no"], "verify_code": handoff["verify_code"]},
            )
            history = citizen.get("/api/history", params={"session": session})
            responses += [
                r.text,
                reply.text,
                status.text,
                history.text,
                cw.get(f"/api/cases/{handoff['case_no']}").text,
            ]


def _drive(server: LiveServer, messages: list[PIIMessage], responses: list[str]) -> int:
    chats, comments, replies = messages[:200], messages[200:400], messages[400:500]
    slices = [chats[i::WORKERS] for i in range(WORKERS)]
    with ThreadPoolExecutor(WORKERS) as pool:
        turns_by_worker = list(pool.map(lambda b: _chat(server, b, responses), slices))
    turns = [t for ts in turns_by_worker for t in ts]
    with ThreadPoolExecutor(WORKERS) as pool:
        list(
            pool.map(
                lambda i: _rate(server, turns[i::WORKERS], comments[i::WORKERS], responses), range(WORKERS)
            )
        )
    sessions = [s for s, _ in turns[: len(replies)]]
    with ThreadPoolExecutor(2) as pool:
        jobs = [
            pool.submit(
                _casework, server, sessions[i::2], replies[i::2], responses, f"cw{i}{id(server) % 1000}"
            )
            for i in range(2)
        ]
        for job in jobs:
            job.result()
    return len(chats) + len(comments) + len(replies)


def _pg_dump(url: str) -> str:
    schema = re.search(r"search_path%3D(\w+)", url)
    assert schema is not None
    m = re.match(r"postgresql\+psycopg://(\w+)@([\d.]+):(\d+)/(\w+)", POSTGRES_URL)
    assert m is not None, POSTGRES_URL
    user, host, port, db = m.groups()
    cmd = ["pg_dump", "-h", host, "-p", port, "-U", user, "-d", db, "--data-only", "-n", schema.group(1)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def _files(data_dir: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            yield str(path.relative_to(data_dir)), path.read_bytes().decode("utf-8", "ignore")


def test_a_thousand_tricky_messages_leave_no_raw_value_anywhere(
    tmp_path: Path, pg_url: str, captured_logs: _Capture
) -> None:
    messages = generate(2 * PER_SERVER, seed=2026)
    raw = {v for m in messages for v in m.raw}
    llm = ObedientLLM()
    responses: list[str] = []
    data_dir = tmp_path / "data"
    with ScriptedLLMServer(default=Respond(llm)) as llm_server:
        sent = 0
        started = time.perf_counter()
        for db, batch in (("sqlite", messages[:PER_SERVER]), ("postgresql", messages[PER_SERVER:])):
            overrides: dict[str, Any] = {"llm": {"base_url": llm_server.base_url, "model": llm_server.model}}
            if db == "postgresql":
                overrides["db"] = {"url": pg_url}
            with start_app(api_settings(data_dir, **overrides)) as server:
                if db == "sqlite":
                    started = time.perf_counter()  # the first start ingests the sample KB: not measured
                sent += _drive(server, batch, responses)
        elapsed = time.perf_counter() - started
        requests = [json.dumps(r.body, ensure_ascii=False) for r in llm_server.chat_requests()]
    assert sent == 2 * PER_SERVER >= 1000
    raw |= set(llm.raw)
    assert llm.raw and requests, "the LLM was asked and slipped raw numbers into its answers"

    dump = _pg_dump(pg_url)
    assert "4201**" in dump or "****" in dump, "the dump holds masked values: the records were written"
    found = {
        "LLM requests": leaks(requests, raw),
        "logs": leaks(captured_logs.lines, raw),
        "PostgreSQL dump": leaks(dump.splitlines(), raw),
        "API responses": leaks(responses, raw),
    }
    for name, text in _files(data_dir):
        if hits := leaks([text], raw):
            found[f"data/{name}"] = hits
    assert {k: v for k, v in found.items() if v} == {}
    assert any("****" in r for r in requests)  # the LLM saw masked hints, not nothing
    print(f"PII e2e: {sent} messages, {elapsed:.1f} s")
    assert elapsed < 90, f"{elapsed:.0f} s"
