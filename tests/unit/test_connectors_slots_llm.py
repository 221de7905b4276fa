"""LLM slot extraction: JSON-schema output when a model is configured, rule parsers on any error."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import anyio
import pytest

from connectors import messages as msg
from connectors.slots import LLMSlotExtractor, coerce_value, display_value, parse_slot, response_format_for
from connectors.types import Slot
from tests.unit._connectors_fixtures import TODAY, small_engine, small_workflow

pytestmark = pytest.mark.unit

SLOTS = small_workflow().slots


class FakeChat:
    """Returns canned completions and records what it was asked."""

    def __init__(self, *replies: str | Exception, delay_s: float = 0.0) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[list[dict[str, str]], dict[str, Any] | None]] = []
        self.delay_s = delay_s

    async def complete(
        self, messages: list[dict[str, str]], *, response_format: dict[str, Any] | None = None
    ) -> str:
        self.calls.append((messages, response_format))
        if self.delay_s:
            await anyio.sleep(self.delay_s)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def _extract(model: FakeChat | None, text: str, primary: str = "huji", timeout_s: float = 5.0) -> Any:
    extractor = LLMSlotExtractor(model, timeout_s=timeout_s)
    return anyio.run(lambda: extractor.extract(SLOTS, text, today=TODAY, primary=primary))


def test_response_format_is_a_strict_json_schema_for_the_slots() -> None:
    rf = response_format_for(SLOTS)
    assert rf["type"] == "json_schema"
    schema = rf["json_schema"]["schema"]
    assert rf["json_schema"]["strict"] is True
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["huji", "married", "city", "born", "kids"]
    assert schema["properties"]["huji"]["enum"] == ["hubei", "other", None]
    assert schema["properties"]["married"]["type"] == ["boolean", "null"]
    assert schema["properties"]["kids"]["type"] == ["number", "null"]


def test_good_json_is_validated_and_canonicalised() -> None:
    reply = json.dumps({"huji": "other", "married": True, "city": "襄阳", "born": "2025-03-05", "kids": 2})
    model = FakeChat(reply)
    result = _extract(model, "我是外省的，已婚，在襄阳，孩子2025年3月5日出生，有两个孩子")
    assert result.source == "llm"
    assert result.values == {
        "huji": "other",
        "married": True,
        "city": "420600",
        "born": "2025-03-05",
        "kids": 2,
    }
    messages, rf = model.calls[0]
    assert rf == response_format_for(SLOTS)
    assert TODAY.isoformat() in messages[0]["content"]
    assert "hubei=本省户籍" in messages[1]["content"] and "我是外省的" in messages[1]["content"]


def test_nulls_mean_not_mentioned() -> None:
    reply = json.dumps({"huji": None, "married": None, "city": None, "born": None, "kids": None})
    assert _extract(FakeChat(reply), "你好").values == {}


@pytest.mark.parametrize(
    "reply",
    [
        "not json at all",
        "[1, 2]",
        json.dumps({"huji": "mars"}),  # not a choice value
        json.dumps({"married": "true"}),  # a string, not a boolean
        json.dumps({"kids": "两个"}),  # a string, not a number
        json.dumps({"kids": True}),  # a boolean is not a number
        json.dumps({"city": "北京"}),  # not in Hubei
        json.dumps({"born": "2099-01-01"}),  # fails validation (future)
        json.dumps({"huji": "other", "password": "x"}),  # a field that was not asked for
    ],
)
def test_bad_output_falls_back_to_rules(reply: str) -> None:
    result = _extract(FakeChat(reply), "省外", primary="huji")
    assert result.source == "rules"
    assert result.error
    assert result.values == {"huji": "other"}  # what the rule parser reads


def test_model_errors_and_timeouts_fall_back() -> None:
    assert _extract(FakeChat(RuntimeError("connection refused")), "选1").values == {"huji": "hubei"}
    slow = _extract(FakeChat("{}", delay_s=1.0), "选1", timeout_s=0.05)
    assert slow.source == "rules" and "TimeoutError" in slow.error and slow.values == {"huji": "hubei"}


def test_no_model_means_rules_only() -> None:
    result = _extract(None, "不对，我是襄阳的", primary="married")
    assert result.source == "rules" and result.values == {"city": "420600"}


def test_engine_uses_llm_values_through_the_same_validation() -> None:
    engine = small_engine()
    state, _ = engine.start("demo")
    reply = json.dumps({"huji": "other", "married": None, "city": "宜昌", "born": None, "kids": None})
    extractor = LLMSlotExtractor(FakeChat(reply))
    state, step = anyio.run(engine.advance_async, state, "我户口在外省，现在住宜昌", extractor)
    assert state.answers == {"huji": "other", "city": "420500"}
    assert step.slot == "married"


def test_engine_falls_back_to_rules_when_llm_output_is_bad() -> None:
    engine = small_engine()
    state, _ = engine.start("demo")
    extractor = LLMSlotExtractor(FakeChat("oops"))
    state, step = anyio.run(engine.advance_async, state, "2", extractor)
    assert state.answers == {"huji": "other"} and step.slot == "married"


def test_engine_does_not_call_llm_for_cancel() -> None:
    engine = small_engine()
    state, _ = engine.start("demo")
    model = FakeChat()
    state, step = anyio.run(engine.advance_async, state, "取消", LLMSlotExtractor(model))
    assert step.kind == "cancelled" and model.calls == []


TEXT_SLOT = Slot(
    id="name",
    kind="text",
    label="姓名",
    prompt="请输入新生儿姓名",
    validation={"pattern": r"[\u4e00-\u9fa5]{2,4}", "max_length": 4},  # type: ignore[arg-type]
)


@pytest.mark.parametrize(
    ("text", "value", "error"),
    [
        ("张三", "张三", ""),
        ("  李小明 ", "李小明", ""),
        ("Bob", None, msg.ERR_TEXT_FORMAT),
        ("欧阳一二三四", None, msg.ERR_TEXT_LONG.format(max=4)),
        ("", None, msg.ERR_TEXT_EMPTY),
    ],
)
def test_text_slot_validation(text: str, value: str | None, error: str) -> None:
    result = parse_slot(TEXT_SLOT, text, TODAY)
    assert (result.value, result.error) == (value, error)


def test_coerce_and_display() -> None:
    huji, married, city, born, _ = SLOTS
    assert coerce_value(huji, "省外户籍", TODAY).value == "other"
    assert coerce_value(married, "没有", TODAY).value is False
    assert coerce_value(city, "420606", TODAY).value == "420600"  # city-level slot keeps the city
    assert coerce_value(born, date(2025, 1, 2), TODAY).value == "2025-01-02"
    assert coerce_value(born, 20250102, TODAY).error
    assert display_value(city, "420600") == "襄阳市"
    assert display_value(born, "2025-01-02") == "2025年1月2日"
    assert display_value(married, False) == "否"
    district = Slot(id="d", kind="region", label="区县", prompt="?", validation={"region_level": "district"})  # type: ignore[arg-type]
    assert display_value(district, "420606") == "襄阳市樊城区"
    assert coerce_value(district, "襄阳", TODAY).error.startswith("请具体到区县")
    assert coerce_value(district, "仙桃", TODAY).value == "429004"  # no 区县 below a 省直管市
