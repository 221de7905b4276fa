"""The optional LLM faithfulness judge: what it sends, and how it reads (or refuses) the verdict."""

from __future__ import annotations

import json

import anyio
import pytest

from assistant.llm.base import LLMUnavailable
from assistant.llm.fake import ScriptedChatModel
from evals.judge import JUDGE_SCHEMA, judge_faithfulness, judge_messages, parse_judgement

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "score"),
    [
        ('{"score": 0.75, "unsupported": []}', 0.75),
        ('{"score": 1.7, "unsupported": []}', 1.0),  # clamped
        ('{"score": -2, "unsupported": []}', 0.0),
        ('{"score": "0.5"}', 0.5),
        ('{"score": NaN}', None),
        ('{"verdict": "ok"}', None),
        ("I think it is faithful", None),
        ("[]", None),
        ("", None),
    ],
)
def test_parse_judgement(raw: str, score: float | None) -> None:
    assert parse_judgement(raw) == score


def test_judge_sends_numbered_passages_with_a_json_schema() -> None:
    model = ScriptedChatModel([json.dumps({"score": 0.5, "unsupported": ["收费300元"]})])
    score = anyio.run(
        judge_faithfulness, model, "生娃带啥", "要带结婚证[1]，收费300元", ["1. 结婚证", "2. 户口簿"]
    )
    assert score == 0.5
    (call,) = model.calls
    assert call.response_format is not None
    assert call.response_format["json_schema"]["schema"] == JUDGE_SCHEMA
    assert "[1] 1. 结婚证" in call.messages[1].content and "[2] 2. 户口簿" in call.messages[1].content
    assert call.temperature == 0.0


def test_unavailable_judge_gives_no_score() -> None:
    model = ScriptedChatModel([LLMUnavailable("down")])
    assert anyio.run(judge_faithfulness, model, "q", "a", []) is None


def test_judge_messages_without_passages_say_so() -> None:
    msgs = judge_messages("q", "a", [], "system")
    assert msgs[0].content == "system" and "（无资料）" in msgs[1].content
