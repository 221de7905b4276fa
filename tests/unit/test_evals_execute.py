"""The flow driver's answer choice: colloquial first, plainer on a re-ask, give up when out of answers."""

from __future__ import annotations

import pytest

from evals.cases import FlowCase
from evals.execute import _next_answer

pytestmark = pytest.mark.unit

FLOW = FlowCase(
    id="f", workflow="birth", start="我要办出生一件事",
    answers={"married": ("领了证的", "是"), "settle_city": ("武汉",)},
    handoff=("窗口帮办",), expected_handoff="caseworker",
)  # fmt: skip


def test_answers_go_from_colloquial_to_plain_then_run_out() -> None:
    tries: dict[str, int] = {}
    step = {"kind": "question", "slot": "married"}
    assert _next_answer(FLOW, step, tries) == "领了证的"
    assert _next_answer(FLOW, {**step, "kind": "reask"}, tries) == "是"
    assert _next_answer(FLOW, {**step, "kind": "reask"}, tries) is None
    assert _next_answer(FLOW, {"kind": "question", "slot": "settle_city"}, tries) == "武汉"


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (
            {"kind": "question", "slot": "huji", "choices": ["父母至少一方为湖北户籍", "父母均为省外户籍"]},
            "父母至少一方为湖北户籍",
        ),
        ({"kind": "question", "slot": "maternity_allowance", "choices": []}, "是"),  # unforeseen yes/no slot
        ({"kind": "question"}, None),  # no pending slot: nothing to answer
        ({}, None),
    ],
)
def test_unforeseen_slots_get_a_neutral_answer(step: dict, expected: str | None) -> None:  # type: ignore[type-arg]
    assert _next_answer(FLOW, step, {}) == expected
