"""Evaluation of catalog conditions over slot answers. Pure; no ``eval``, no attribute access."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from connectors.regions import get_region
from connectors.types import Condition, Scalar


def _candidates(value: Scalar) -> set[Scalar]:
    """A region answer also matches its 市州, so ``in: ["420100"]`` covers every Wuhan district."""
    out: set[Scalar] = {value}
    if isinstance(value, str) and len(value) == 6 and value.isdigit():
        region = get_region(value)
        if region is not None:
            out.add(region.city_code)
    return out


def _same(a: Scalar, b: Scalar) -> bool:
    # bool is an int in Python: never let True equal 1 or "1".
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    return a == b


def holds(cond: Condition, answers: Mapping[str, Scalar | None], today: date) -> bool:
    """Whether ``cond`` holds; a condition on an unanswered (or skipped) slot never holds."""
    value = answers.get(cond.slot)
    if value is None:
        return False
    op, expected = cond.operator
    if op == "days_ago_gt":
        try:
            return (today - date.fromisoformat(str(value))).days > int(expected)
        except ValueError:
            return False
    cands = _candidates(value)
    if op in ("equals", "not_equals"):
        hit = any(_same(c, expected) for c in cands)
        return hit if op == "equals" else not hit
    hit = any(_same(c, e) for c in cands for e in expected)
    return hit if op == "in" else not hit


def all_hold(conds: Iterable[Condition], answers: Mapping[str, Scalar | None], today: date) -> bool:
    return all(holds(c, answers, today) for c in conds)
