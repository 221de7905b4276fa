"""Material rules and the checklist: selection by situation, marks, and verbatim guide text."""

from __future__ import annotations

from datetime import date

import pytest

from connectors.checklist import build_checklist, material_mark
from connectors.conditions import all_hold, holds
from connectors.types import Condition, Scalar
from retrieval.guide import SAMPLE_NOTICE, UNVERIFIED_NOTE, Material
from tests.unit._connectors_fixtures import TODAY, small_guide, small_workflow

pytestmark = pytest.mark.unit

ANSWERS: dict[str, Scalar | None] = {
    "huji": "other",
    "married": True,
    "city": "420111",  # 洪山区, in Wuhan
    "born": "2025-10-01",
    "n": 3,
    "skipped": None,
}


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        ({"slot": "huji", "equals": "other"}, True),
        ({"slot": "huji", "equals": "hubei"}, False),
        ({"slot": "huji", "not_equals": "hubei"}, True),
        ({"slot": "huji", "in": ["hubei", "other"]}, True),
        ({"slot": "huji", "not_in": ["other"]}, False),
        ({"slot": "married", "equals": True}, True),
        ({"slot": "married", "equals": 1}, False),  # True is not 1
        ({"slot": "n", "equals": True}, False),
        ({"slot": "n", "in": [1, 2, 3]}, True),
        ({"slot": "city", "equals": "420100"}, True),  # a district matches its city
        ({"slot": "city", "equals": "420111"}, True),
        ({"slot": "city", "in": ["420600"]}, False),
        ({"slot": "born", "days_ago_gt": 30}, True),
        ({"slot": "born", "days_ago_gt": 60}, False),
        ({"slot": "huji", "days_ago_gt": 1}, False),  # not a date: never holds
        ({"slot": "missing", "equals": "x"}, False),
        ({"slot": "missing", "not_equals": "x"}, False),  # unanswered never holds, even negated
        ({"slot": "skipped", "not_equals": "x"}, False),
    ],
)
def test_condition(cond: dict[str, object], expected: bool) -> None:
    assert holds(Condition.model_validate(cond), ANSWERS, TODAY) is expected


def test_all_hold_is_a_conjunction() -> None:
    conds = [Condition(slot="huji", equals="other"), Condition(slot="married", equals=False)]
    assert not all_hold(conds, ANSWERS, TODAY)
    assert all_hold(conds[:1], ANSWERS, TODAY)
    assert all_hold([], ANSWERS, TODAY)


@pytest.mark.parametrize(
    ("material", "mark"),
    [
        (Material(name="a", exemption="可通过电子证照免提交"), "可免提交"),
        (Material(name="b", source="数据共享", original="无需提交"), "可免提交"),
        (Material(name="c", necessity="容缺"), "容缺"),
        (Material(name="d", necessity="非必要"), "非必要"),
        (Material(name="e", original="无需提交"), "必要"),  # an online form still has to be filled in
        (Material(name="f"), "必要"),
    ],
)
def test_material_mark(material: Material, mark: str) -> None:
    assert material_mark(material) == mark


def test_checklist_selects_by_rules_and_copies_the_guide() -> None:
    guide = small_guide()
    wf = small_workflow()
    cl = build_checklist(wf, guide, {"huji": "other", "married": False, "city": "420100"}, today=TODAY)
    names = [m.name for m in cl.materials]
    assert names == ["居民身份证", "居住证", "清税信息"]  # guide order; unruled ones always
    assert cl.not_needed == ["结婚证", "照片"]
    by_name = {m.name: m for m in guide.materials}
    for item in cl.materials:
        assert item.text == by_name[item.name].render()
        assert item.exemption == by_name[item.name].exemption
    assert [i.mark for i in cl.materials] == ["可免提交", "必要", "可免提交"]
    assert cl.materials_note == UNVERIFIED_NOTE  # the guide marks its materials as inferred
    for field in ("conditions", "steps", "time_limit", "visits", "channels", "fees", "departments"):
        assert getattr(cl, field) == guide.field_text(field)
    assert cl.notice == SAMPLE_NOTICE
    assert ("户籍", "省外户籍") in cl.situation and ("已婚", "否") in cl.situation
    assert ("办理地", "武汉市") in cl.situation


def test_multiple_conditions_in_one_rule_all_apply() -> None:
    guide, wf = small_guide(), small_workflow()
    wuhan_local = build_checklist(wf, guide, {"huji": "hubei", "city": "420102"}, today=TODAY)
    xiangyang_local = build_checklist(wf, guide, {"huji": "hubei", "city": "420600"}, today=TODAY)
    assert "照片" in [m.name for m in wuhan_local.materials]
    assert "照片" in xiangyang_local.not_needed


def test_render_is_headings_plus_verbatim_guide_text() -> None:
    guide = small_guide(confidence={})
    cl = build_checklist(small_workflow(), guide, {"huji": "hubei", "married": True}, today=date(2025, 1, 1))
    text = cl.render()
    assert cl.materials_note == ""
    assert text.splitlines()[0] == "【演示“一件事”·个人办事清单】"
    assert "1. 【可免提交】" + guide.materials[0].render() in text
    assert "【容缺】" + guide.materials[2].render() in text
    for field in ("conditions", "steps", "time_limit", "channels", "fees", "departments"):
        assert guide.field_text(field) in text
    assert "转人工帮办" in text and "提交12345热线工单" in text
    assert text.endswith(SAMPLE_NOTICE)


def test_checklist_round_trips_as_json() -> None:
    cl = build_checklist(small_workflow(), small_guide(), {"huji": "other"}, today=TODAY)
    assert type(cl).model_validate(cl.to_dict()) == cl
