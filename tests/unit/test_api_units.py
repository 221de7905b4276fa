"""Pure parts of the HTTP layer, table-driven with hostile inputs: upload names and types, session
tokens, rate-limit windows and the Redis fallback, error summaries, log masking, draft questions."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

from assistant.copilot import case_question
from connectors.types import CaseMessage
from retrieval.config import RetrievalSettings
from serving.admin_ops import check_upload, safe_filename, save_upload
from serving.errors import ApiError, _describe
from serving.limits import InProcessRateLimiter, RateDecision, ResilientRateLimiter, decide
from serving.obs import JsonFormatter, mask_for_log, request_id_var
from serving.services import synonyms_override
from serving.settings import Settings
from serving.tokens import SessionTokens

pytestmark = pytest.mark.unit

ALLOWED = [".md", ".txt", ".html", ".pdf", ".docx", ".yaml"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("guide.md", "guide.md"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\evil.PDF", "evil.pdf"),
        ("关于开展试点的通知.docx", "关于开展试点的通知.docx"),
        ("a b;rm -rf $HOME.txt", "a_b_rm_-rf_HOME.txt"),
        ("", "upload"),
        ("....", "upload"),
        (".hidden.md", "hidden.md"),
        ("x" * 300 + ".md", "x" * 100 + ".md"),
        ("新文件\u0000.md", "新文件_.md"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


@pytest.mark.parametrize(
    ("name", "head", "ok"),
    [
        ("a.md", "# 标题".encode(), True),
        ("a.pdf", b"%PDF-1.7\n", True),
        ("a.docx", b"PK\x03\x04rest", True),
        ("a.YAML", b"id: x", True),
        ("a.exe", b"MZ", False),
        ("a", b"text", False),
        ("a.pdf", b"<html>", False),
        ("a.docx", b"%PDF-", False),
        ("a.txt", b"abc\x00def", False),
        ("a.md.exe", b"# x", False),
        ("../a.sh", b"#!/bin/sh", False),
    ],
)
def test_check_upload(name: str, head: bytes, ok: bool) -> None:
    if ok:
        assert check_upload(name, head, ALLOWED) == Path(name).suffix.lower()
    else:
        with pytest.raises(ApiError) as err:
            check_upload(name, head, ALLOWED)
        assert err.value.status == 415


def test_save_upload_refuses_oversized_and_empty_files(tmp_path: Path) -> None:
    dest = tmp_path / "j" / "a.md"
    assert save_upload(io.BytesIO(b"x" * 100), dest, limit=100) == 100 and dest.read_bytes() == b"x" * 100
    with pytest.raises(ApiError) as err:
        save_upload(io.BytesIO(b"x" * 101), tmp_path / "k" / "a.md", limit=100)
    assert err.value.status == 413 and not (tmp_path / "k" / "a.md").exists()
    with pytest.raises(ApiError) as err:
        save_upload(io.BytesIO(b""), tmp_path / "e" / "a.md", limit=100)
    assert err.value.status == 400


def test_session_tokens_verify_only_their_own_signatures() -> None:
    tokens = SessionTokens("secret-a")
    sid, token = tokens.resolve(None)
    assert len(sid) == 32 and tokens.verify(token) == sid
    assert tokens.resolve(token) == (sid, token)
    forged = [
        None, "", "garbage", token + "x", token[:-2], SessionTokens("secret-b").sign(sid),
        tokens.sign("not-a-hex-session-id"), "a" * 500, token.replace(".", "!"),
    ]  # fmt: skip
    for bad in forged:
        assert tokens.verify(bad) is None
        fresh, fresh_token = tokens.resolve(bad)
        assert fresh != sid and tokens.verify(fresh_token) == fresh
    assert tokens.for_client_user("k1", "u1") == tokens.for_client_user("k1", "u1")
    assert tokens.for_client_user("k1", "u1") != tokens.for_client_user("k1", "u2")
    assert tokens.for_client_user("k1", "u1") != tokens.for_client_user("k2", "u1")  # scoped to the caller
    assert SessionTokens("secret-b").for_client_user("k1", "u1") != tokens.for_client_user("k1", "u1")


@pytest.mark.parametrize(
    ("count", "limit", "ttl_ms", "expected"),
    [
        (1, 2, 60_000, RateDecision(True, 1, 60)),
        (2, 2, 1, RateDecision(True, 2, 1)),
        (3, 2, 1500, RateDecision(False, 3, 2)),
        (3, 2, 0, RateDecision(False, 3, 1)),  # never "retry after 0 s"
        (3, 2, -5, RateDecision(False, 3, 1)),
    ],
)
def test_decide(count: int, limit: int, ttl_ms: float, expected: RateDecision) -> None:
    assert decide(count, limit, ttl_ms) == expected


def test_in_process_window_resets_after_its_length() -> None:
    now = [100.0]
    limiter = InProcessRateLimiter(clock=lambda: now[0])

    async def run() -> list[RateDecision]:
        out = [await limiter.hit("k", 2, 10) for _ in range(3)]
        now[0] += 4
        out.append(await limiter.hit("k", 2, 10))
        out.append(await limiter.hit("other", 2, 10))
        now[0] += 6.1
        out.append(await limiter.hit("k", 2, 10))
        return out

    d = anyio.run(run)
    assert [x.allowed for x in d] == [True, True, False, False, True, True]
    assert d[2].retry_after_s == 10 and d[3].retry_after_s == 6


class _Broken:
    def __init__(self) -> None:
        self.calls = 0

    async def hit(self, key: str, limit: int, window_s: int) -> RateDecision:
        self.calls += 1
        raise ConnectionError("redis is down")

    async def health(self) -> str:
        return "down"

    async def aclose(self) -> None:
        return None


def test_resilient_limiter_falls_back_logs_once_and_retries_later(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    broken = _Broken()
    limiter = ResilientRateLimiter(
        broken, InProcessRateLimiter(clock=lambda: now[0]), retry_s=30, clock=lambda: now[0]
    )

    async def run() -> list[bool]:
        return [(await limiter.hit("k", 2, 60)).allowed for _ in range(3)]

    with caplog.at_level(logging.WARNING, logger="serving.limits"):
        assert anyio.run(run) == [True, True, False]  # limits still hold in-process
    assert broken.calls == 1 and limiter.degraded
    assert len([r for r in caplog.records if "Redis unavailable" in r.getMessage()]) == 1
    now[0] = 31
    anyio.run(run)
    assert broken.calls == 2  # tried Redis again after the pause


def test_validation_errors_are_summarised_readably() -> None:
    code, message = _describe([{"type": "json_invalid", "loc": ("body", 3), "msg": "JSON decode error"}])
    assert code == "invalid_json" and "JSON" in message
    code, message = _describe(
        [{"type": "missing", "loc": ("body", "message"), "msg": "Field required"},
         {"type": "int", "loc": ("query", "days"), "msg": "Input should be a valid integer"}]
    )  # fmt: skip
    assert code == "invalid_input" and "message: Field required" in message and "days:" in message


def test_json_logs_carry_the_request_id_and_masked_text_only() -> None:
    formatter = JsonFormatter()
    token = request_id_var.set("rid-1")
    try:
        record = logging.LogRecord(
            "x", logging.INFO, __file__, 1, "question: %s", (mask_for_log("我的手机13912345678"),), None
        )
        record.status = 200
        line = json.loads(formatter.format(record))
    finally:
        request_id_var.reset(token)
    assert line["request_id"] == "rid-1" and line["status"] == 200 and line["level"] == "INFO"
    assert "13912345678" not in line["msg"] and "139" in line["msg"]


def _msg(role: str, text: str) -> CaseMessage:
    return CaseMessage(case_no="HB1", role=role, text=text, created_at=datetime.now(UTC))  # type: ignore[arg-type]


def _turn(role: str, content: str, intent: str = "") -> dict[str, Any]:
    return {"role": role, "content": content, "meta": {"intent": intent} if intent else {}}


FLOW_ONLY = [
    _turn("user", "我要办新生儿出生一件事"),
    _turn("assistant", "宝宝是在湖北省内……出生的吗？", "transact"),
    _turn("user", "否"),
    _turn("assistant", "……材料清单……", "transact"),
    _turn("user", "[选择办理方式:caseworker]"),
    _turn("assistant", "已为您创建窗口帮办工单", "human"),
]


@pytest.mark.parametrize(
    ("messages", "transcript", "summary", "workflow", "expected"),
    [
        (
            [_msg("citizen", "补充：我在武汉")],
            [_turn("user", "社保卡")],
            "群众：社保卡",
            "",
            "补充：我在武汉",
        ),
        ([_msg("caseworker", "已收到")], [], "群众：社保卡怎么补\n助手：……", "", "社保卡怎么补"),
        (  # a real question before the flow wins over the flow's answers ("否") and button presses
            [],
            [_turn("user", "生孩子上户口要带什么"), _turn("assistant", "根据……", "consult"), *FLOW_ONLY],
            "群众：否",
            "新生儿出生“一件事”",
            "生孩子上户口要带什么",
        ),
        ([], FLOW_ONLY, "群众：否", "新生儿出生“一件事”", "新生儿出生“一件事”怎么办理，需要哪些材料"),
        ([], [], "群众反映窗口排队太久", "", "群众反映窗口排队太久"),
        ([], [], "", "", ""),
    ],
)
def test_case_question(
    messages: list[CaseMessage], transcript: list[dict[str, Any]], summary: str, workflow: str, expected: str
) -> None:
    assert case_question(messages, transcript, summary, workflow) == expected


def test_edited_synonyms_in_the_data_dir_win_unless_a_path_is_configured(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert synonyms_override(settings).retrieval.synonyms_path == ""
    (tmp_path / "synonyms.yaml").write_text("社会保障卡: [社保卡]\n", encoding="utf-8")
    assert synonyms_override(settings).retrieval.synonyms_path == str(tmp_path / "synonyms.yaml")
    explicit = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        retrieval=RetrievalSettings(synonyms_path="/etc/x.yaml"),
    )
    assert synonyms_override(explicit).retrieval.synonyms_path == "/etc/x.yaml"


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(_env_file=None, env="production")  # type: ignore[call-arg]
