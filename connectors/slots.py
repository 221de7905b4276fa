"""Slot values: parsing free text, validating any value (rules or LLM), and LLM-based extraction.

Whatever produced a value, ``coerce_value`` is the one gate it passes: the LLM may propose values,
never bypass validation. Canonical forms: choice → value id, yesno → bool, date → ISO string,
region → 6-digit code, number → int/float, text → str.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

import anyio

from connectors import messages as msg
from connectors.parsers import (
    compact,
    has_correction_marker,
    is_question,
    normalise,
    parse_choice,
    parse_date,
    parse_number,
    parse_yesno,
)
from connectors.regions import Region, districts_of, get_region, match_region
from connectors.types import Scalar, Slot

__all__ = [
    "ChatModel",
    "Extraction",
    "LLMSlotExtractor",
    "SlotResult",
    "coerce_value",
    "display_value",
    "is_question",
    "parse_choice",
    "parse_date",
    "parse_number",
    "parse_region",
    "parse_slot",
    "parse_yesno",
    "response_format_for",
]


@dataclass(frozen=True)
class SlotResult:
    value: Scalar | None = None
    error: str = ""  # citizen-facing reason when the value was not accepted

    @property
    def ok(self) -> bool:
        return self.value is not None and not self.error


def parse_region(text: str) -> Region | None:
    return match_region(text)


def options_text(slot: Slot) -> str:
    return "；".join(f"{i}. {c.label}" for i, c in enumerate(slot.choices, 1))


def _check_region(slot: Slot, region: Region) -> SlotResult:
    level = slot.validation.region_level
    if level == "city":
        return SlotResult(region.city_code)
    if level == "district" and region.level == "city":
        districts = districts_of(region.code)
        if districts:  # 省直管市 and 神农架 have no 区县 below them here: the city itself is final
            return SlotResult(error=msg.ERR_REGION_DISTRICT.format(example=region.name + districts[0].name))
    return SlotResult(region.code)


def _check_date(slot: Slot, d: date, today: date) -> SlotResult:
    v = slot.validation
    if v.not_future and d > today:
        return SlotResult(error=v.message or msg.ERR_DATE_FUTURE)
    if v.max_days_ago is not None and (today - d).days > v.max_days_ago:
        return SlotResult(error=v.message or msg.ERR_DATE_TOO_OLD)
    if v.not_before is not None and d < v.not_before:
        return SlotResult(error=v.message or msg.ERR_DATE_TOO_EARLY.format(min=v.not_before.isoformat()))
    return SlotResult(d.isoformat())


def _check_number(slot: Slot, n: float) -> SlotResult:
    v = slot.validation
    if v.integer and not float(n).is_integer():
        return SlotResult(error=v.message or msg.ERR_NUMBER_INTEGER)
    too_low = v.min is not None and n < v.min
    too_high = v.max is not None and n > v.max
    if too_low or too_high:
        if v.message:
            return SlotResult(error=v.message)
        if v.min is not None and v.max is not None:
            return SlotResult(error=msg.ERR_NUMBER_RANGE.format(min=f"{v.min:g}", max=f"{v.max:g}"))
        if too_low:
            return SlotResult(error=msg.ERR_NUMBER_MIN.format(min=f"{v.min:g}"))
        return SlotResult(error=msg.ERR_NUMBER_MAX.format(max=f"{v.max:g}"))
    return SlotResult(int(n) if float(n).is_integer() else n)


def _check_text(slot: Slot, text: str) -> SlotResult:
    v = slot.validation
    t = normalise(text)
    if len(t) < max(v.min_length, 1):
        return SlotResult(error=v.message or msg.ERR_TEXT_EMPTY)
    if len(t) > v.max_length:
        return SlotResult(error=v.message or msg.ERR_TEXT_LONG.format(max=v.max_length))
    if v.pattern and not re.fullmatch(v.pattern, t):
        return SlotResult(error=v.message or msg.ERR_TEXT_FORMAT)
    return SlotResult(t)


def _generic_error(slot: Slot) -> str:
    return {
        "choice": msg.ERR_CHOICE.format(options=options_text(slot)),
        "yesno": msg.ERR_YESNO,
        "date": msg.ERR_DATE,
        "region": msg.ERR_REGION,
        "number": msg.ERR_NUMBER,
        "text": msg.ERR_TEXT_EMPTY,
    }[slot.kind]


def parse_slot(slot: Slot, text: str, today: date) -> SlotResult:
    """Parse the citizen's free text as a value of ``slot`` with the rule parsers, then validate it."""
    if slot.kind == "text":
        return _check_text(slot, text)
    raw: Any
    if slot.kind == "choice":
        raw = parse_choice(text, slot.choices)
    elif slot.kind == "yesno":
        raw = parse_yesno(text)
    elif slot.kind == "date":
        raw = parse_date(text, today, prefer_past=slot.validation.not_future)
    elif slot.kind == "region":
        raw = match_region(text)
    else:
        raw = parse_number(text)
    if raw is None:
        return SlotResult(error=_generic_error(slot))
    return coerce_value(slot, raw, today)


def coerce_value(slot: Slot, raw: Any, today: date) -> SlotResult:
    """Validate a proposed value of any origin and return it in canonical form (or an error)."""
    kind = slot.kind
    if kind == "choice":
        if isinstance(raw, str) and slot.choice(raw) is not None:
            return SlotResult(raw)
        value = parse_choice(raw, slot.choices) if isinstance(raw, str) else None
        return SlotResult(value) if value else SlotResult(error=_generic_error(slot))
    if kind == "yesno":
        if isinstance(raw, bool):
            return SlotResult(raw)
        yn = parse_yesno(raw) if isinstance(raw, str) else None
        return SlotResult(yn) if yn is not None else SlotResult(error=_generic_error(slot))
    if kind == "date":
        if isinstance(raw, date):
            return _check_date(slot, raw, today)
        if isinstance(raw, str):
            try:
                return _check_date(slot, date.fromisoformat(raw.strip()), today)
            except ValueError:
                d = parse_date(raw, today, prefer_past=slot.validation.not_future)
                return _check_date(slot, d, today) if d else SlotResult(error=_generic_error(slot))
        return SlotResult(error=_generic_error(slot))
    if kind == "region":
        region = raw if isinstance(raw, Region) else None
        if isinstance(raw, str):
            region = get_region(raw) if raw.isdigit() else match_region(raw)
        return _check_region(slot, region) if region else SlotResult(error=_generic_error(slot))
    if kind == "number":
        if isinstance(raw, bool):
            return SlotResult(error=_generic_error(slot))
        n = raw if isinstance(raw, int | float) else (parse_number(raw) if isinstance(raw, str) else None)
        return _check_number(slot, n) if n is not None else SlotResult(error=_generic_error(slot))
    return _check_text(slot, raw) if isinstance(raw, str) else SlotResult(error=_generic_error(slot))


def display_value(slot: Slot, value: Scalar | None) -> str:
    """An answer as the citizen should read it back (label, 是/否, 2024年3月5日, region name)."""
    if value is None:
        return msg.SKIPPED
    if slot.kind == "choice":
        c = slot.choice(str(value))
        return c.label if c else str(value)
    if slot.kind == "yesno":
        return msg.YES if value is True else msg.NO
    if slot.kind == "date":
        try:
            d = date.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return f"{d.year}年{d.month}月{d.day}日"
    if slot.kind == "region":
        region = get_region(str(value))
        if region is None:
            return str(value)
        parent = get_region(region.parent_code) if region.parent_code else None
        return f"{parent.name}{region.name}" if parent else region.name
    return str(value)


# ---------------------------------------------------------------- LLM extraction


class ChatModel(Protocol):
    """The one method this package needs from an OpenAI-compatible chat client."""

    async def complete(
        self, messages: list[dict[str, str]], *, response_format: dict[str, Any] | None = None
    ) -> str: ...


def _property(slot: Slot) -> dict[str, Any]:
    if slot.kind == "choice":
        return {"type": ["string", "null"], "enum": [*(c.value for c in slot.choices), None]}
    if slot.kind == "yesno":
        return {"type": ["boolean", "null"]}
    if slot.kind == "number":
        return {"type": ["number", "null"]}
    if slot.kind == "date":
        return {"type": ["string", "null"], "description": "YYYY-MM-DD"}
    if slot.kind == "region":
        return {"type": ["string", "null"], "description": "湖北省内市州或区县名称"}
    return {"type": ["string", "null"], "maxLength": slot.validation.max_length}


def response_format_for(slots: Sequence[Slot]) -> dict[str, Any]:
    """The ``response_format`` (OpenAI/vLLM json_schema) asking for exactly these slots, each nullable."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "slot_values",
            "strict": True,
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "required": [s.id for s in slots],
                "properties": {s.id: _property(s) for s in slots},
            },
        },
    }


@dataclass(frozen=True)
class Extraction:
    values: dict[str, Scalar] = field(default_factory=dict)
    source: Literal["llm", "rules"] = "rules"
    error: str = ""  # why the LLM output was not used (for logs)


def _raw_type_ok(slot: Slot, raw: Any) -> bool:
    if slot.kind == "yesno":
        return isinstance(raw, bool)
    if slot.kind == "number":
        return isinstance(raw, int | float) and not isinstance(raw, bool)
    return isinstance(raw, str)


class LLMSlotExtractor:
    """Ask a chat model for slot values under a JSON schema; fall back to the rule parsers on any error.

    Args:
        model: any object with ``async complete(messages, *, response_format=...) -> str``; None means
            rules only.
        system_prompt: overrides the built-in instruction (``{today}`` is filled in).
        timeout_s: an LLM slower than this is treated as an error.
    """

    def __init__(
        self,
        model: ChatModel | None,
        *,
        system_prompt: str = msg.SLOT_EXTRACTION_SYSTEM,
        timeout_s: float = 10.0,
    ) -> None:
        self._model = model
        self._system = system_prompt
        self._timeout_s = timeout_s

    @property
    def enabled(self) -> bool:
        return self._model is not None

    def messages_for(self, slots: Sequence[Slot], text: str, today: date) -> list[dict[str, str]]:
        fields = "\n".join(
            msg.SLOT_EXTRACTION_FIELD.format(
                id=s.id,
                label=s.label,
                kind=s.kind,
                prompt=s.prompt,
                options=msg.SLOT_EXTRACTION_OPTIONS.format(
                    options="，".join(f"{c.value}={c.label}" for c in s.choices)
                )
                if s.choices
                else "",
            )
            for s in slots
        )
        return [
            {"role": "system", "content": self._system.format(today=today.isoformat())},
            {"role": "user", "content": msg.SLOT_EXTRACTION_USER.format(fields=fields, text=text[:500])},
        ]

    def validate_output(self, slots: Sequence[Slot], content: str, today: date) -> dict[str, Scalar]:
        """Parse and check the model's JSON; raise ``ValueError`` on anything unexpected."""
        data = json.loads(content)
        if not isinstance(data, dict):
            raise ValueError("slot extraction output is not a JSON object")
        by_id = {s.id: s for s in slots}
        unknown = set(data) - set(by_id)
        if unknown:
            raise ValueError(f"unknown slots in output: {sorted(unknown)}")
        out: dict[str, Scalar] = {}
        for sid, raw in data.items():
            if raw is None:
                continue
            slot = by_id[sid]
            if not _raw_type_ok(slot, raw):
                raise ValueError(f"{sid}: wrong type {type(raw).__name__} for a {slot.kind} slot")
            result = coerce_value(slot, raw, today)
            if not result.ok:
                raise ValueError(f"{sid}: {result.error}")
            assert result.value is not None
            out[sid] = result.value
        return out

    def rule_extract(
        self, slots: Sequence[Slot], text: str, today: date, primary: str | None
    ) -> dict[str, Scalar]:
        """The rule parsers' reading: the primary slot, plus any region a message names."""
        out: dict[str, Scalar] = {}
        for slot in slots:
            if slot.id == primary or (slot.kind == "region" and compact(text)):
                result = parse_slot(slot, text, today)
                if result.ok and result.value is not None:
                    out[slot.id] = result.value
        by_id = {s.id: s for s in slots}
        if primary in out and by_id[primary].kind == "yesno" and len(out) > 1 and has_correction_marker(text):
            del out[primary]  # "不对，我是襄阳的" corrects the region; it is not a "no"
        return out

    async def extract(
        self, slots: Sequence[Slot], text: str, *, today: date, primary: str | None = None
    ) -> Extraction:
        if not slots:
            return Extraction()
        if self._model is None:
            return Extraction(self.rule_extract(slots, text, today, primary), "rules")
        try:
            with anyio.fail_after(self._timeout_s):
                content = await self._model.complete(
                    self.messages_for(slots, text, today), response_format=response_format_for(slots)
                )
            return Extraction(self.validate_output(slots, content, today), "llm")
        except Exception as exc:  # any model or output error: the rules still answer
            return Extraction(
                self.rule_extract(slots, text, today, primary), "rules", f"{type(exc).__name__}: {exc}"
            )
