"""Facts a citizen states in passing, read into a workflow's slots from any message (pure).

A citizen tells their situation in their own order ("我们两个都是宜昌户口 结了婚的"); the flow should not
ask again what it was already told. Each value passes the same validation as a typed answer
(``coerce_value``), and the caller confirms inferred values in one line, so a wrong reading is one
correction away. Only clear statements count:

- region slots: a place in Hubei (not denied);
- choice slots: an option's label or synonym, or a Hubei place for an option marked ``hubei_place``;
- yes/no slots: one of the slot's ``yes_cues`` / ``no_cues`` (data in the catalog);
- number slots: a number directly followed by one of the slot's ``units`` (六十来平, 3个人);
- date slots: a date the text spells out, when the slot's label words are present.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from connectors.parsers import chinese_to_number, compact, parse_choice, parse_date
from connectors.regions import match_region
from connectors.slots import coerce_value
from connectors.types import Scalar, Slot, Workflow

_NEGATED = ("不", "没", "没有", "冇", "未", "无", "非", "不是")
_NUMBER = re.compile(r"(\d+(?:\.\d+)?|[一二两三四五六七八九十百千万]+)(?:来|多|左右|几)?")


def _has_cue(text: str, cues: list[str]) -> bool:
    for cue in cues:
        c = compact(cue)
        start = text.find(c)
        while start >= 0:
            # "没有结婚" must not read as the yes cue 结婚: a negation just before the cue spoils it,
            # unless the cue itself is a negative phrase.
            if not text[max(0, start - 2) : start].endswith(_NEGATED) or c.startswith(_NEGATED):
                return True
            start = text.find(c, start + 1)
    return False


def _yesno(slot: Slot, text: str) -> bool | None:
    yes = _has_cue(text, slot.yes_cues)
    no = _has_cue(text, slot.no_cues)
    if yes == no:
        return None  # neither, or both: not a clear statement
    return yes


def _number(slot: Slot, text: str) -> float | None:
    for unit in slot.units:
        for m in re.finditer(_NUMBER.pattern + re.escape(unit), text):
            raw = m.group(1)
            n = float(raw) if raw[0].isdigit() else chinese_to_number(raw)
            if n is not None:
                return float(n)
    return None


def _choice(slot: Slot, text: str) -> str | None:
    value = parse_choice(text, slot.choices)
    if value is not None:
        return value
    placed = [c for c in slot.choices if c.hubei_place]
    # "宜昌户口" says where the 户籍 is; "在武汉生的" alone does not.
    if len(placed) == 1 and "户" in text and match_region(text) is not None:
        return placed[0].value
    return None


def read_fact(slot: Slot, text: str, today: date) -> Scalar | None:
    """The slot's value if ``text`` states it clearly, else None."""
    t = compact(text)
    raw: object = None
    if slot.kind == "region":
        raw = match_region(text)
    elif slot.kind == "choice":
        raw = _choice(slot, t)
    elif slot.kind == "yesno":
        raw = _yesno(slot, t)
    elif slot.kind == "number" and slot.units:
        raw = _number(slot, t)
    elif slot.kind == "date" and any(w in t for w in slot.yes_cues):
        raw = parse_date(text, today, prefer_past=slot.validation.not_future)
    if raw is None:
        return None
    result = coerce_value(slot, raw, today)
    return result.value if result.ok else None


def read_facts(
    workflow: Workflow, text: str, today: date, *, skip: Mapping[str, object] | None = None
) -> dict[str, Scalar]:
    """Every slot of ``workflow`` that ``text`` states, except those in ``skip``."""
    out: dict[str, Scalar] = {}
    for slot in workflow.slots:
        if skip and slot.id in skip:
            continue
        value = read_fact(slot, text, today)
        if value is not None:
            out[slot.id] = value
    return out
