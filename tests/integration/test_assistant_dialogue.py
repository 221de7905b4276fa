"""Dialogue state through the whole assistant, with free-text turns only (our own sentences): the focus
carries over, facts told in passing are not asked again, early submit, cancel, switching item, and a
side question in the middle of a flow."""

from __future__ import annotations

import pytest

from serving.services import Services
from tests.assistant_fixtures import make_services

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    return make_services(tmp_path_factory.mktemp("dialogue"))


def shown(r) -> str:  # type: ignore[no-untyped-def]
    return r.answer + str(r.flow or "")


@pytest.mark.anyio
async def test_situation_told_over_turns_then_go_ahead_gives_the_checklist(services: Services) -> None:
    a = services.assistant
    r = await a.turn("dlg-1", "我们家宝宝上周在襄阳的医院出生了 想给他上户口")
    r = await a.turn("dlg-1", "我和他爸都是襄阳户口 早就领了结婚证")
    r = await a.turn("dlg-1", "好的 麻烦直接帮我提交")
    assert r.intent == "transact" and r.workflow and r.workflow["id"] == "birth", r.answer
    assert r.flow and r.flow["kind"] == "checklist" and r.flow["handoff"], r.answer
    assert "视情况" in r.answer and "结婚证" in r.answer
    assert "父母已办理结婚登记：是" in r.answer or "父母已办理结婚登记" in str(r.flow["checklist"])


@pytest.mark.anyio
async def test_facts_in_the_opening_message_are_not_asked_again(services: Services) -> None:
    r = await services.assistant.turn("dlg-2", "我们俩都是宜昌户口 领了证的 孩子刚出生 帮我把出生一件事办了")
    assert r.workflow and r.workflow["id"] == "birth"
    assert "根据您前面提到的情况" in r.answer
    assert r.flow and r.flow["slot"] not in ("huji", "married"), r.answer


@pytest.mark.anyio
async def test_an_elliptical_request_uses_the_item_in_focus(services: Services) -> None:
    a = services.assistant
    await a.turn("dlg-3", "办退休的话要准备哪些材料")
    r = await a.turn("dlg-3", "那帮我办吧")
    assert r.intent == "transact" and r.workflow and r.workflow["id"] == "retirement", r.answer


@pytest.mark.anyio
async def test_cancel_inside_a_flow_and_nothing_is_handed_off(services: Services) -> None:
    a = services.assistant
    r = await a.turn("dlg-4", "帮我申请开公司的一件事")
    assert r.flow and r.flow["kind"] == "question"
    r = await a.turn("dlg-4", "算了 我先不弄了 过两天再说")
    assert r.flow and r.flow["kind"] == "cancelled" and r.handoff is None, r.answer


@pytest.mark.anyio
async def test_a_side_question_is_answered_and_the_flow_resumes(services: Services) -> None:
    a = services.assistant
    r = await a.turn("dlg-5", "我要办残疾人证")
    pending = r.flow and r.flow["slot"]
    r = await a.turn("dlg-5", "办这个证要不要交钱？")
    assert r.citations, r.answer
    assert r.flow and r.flow["slot"] == pending


@pytest.mark.anyio
async def test_a_reply_with_other_facts_is_noted_not_rejected(services: Services) -> None:
    a = services.assistant
    r = await a.turn("dlg-6", "我想办个转企 把个体户变成公司")
    assert r.workflow and r.workflow["id"] == "individual_to_company" and r.flow
    r = await a.turn("dlg-6", "店在恩施州恩施市 开了好些年了")
    assert "没能识别" not in r.answer and "已记下" in r.answer, r.answer


@pytest.mark.anyio
async def test_switching_to_another_item_mid_flow(services: Services) -> None:
    a = services.assistant
    await a.turn("dlg-7", "帮我办社保卡")
    r = await a.turn("dlg-7", "先不说这个了 我爸下个月退休 帮我把退休手续申请了")
    assert r.workflow and r.workflow["id"] == "retirement", r.answer


@pytest.mark.anyio
async def test_fraud_is_refused_with_the_lawful_route_and_a_statement_is_not(services: Services) -> None:
    a = services.assistant
    r = await a.turn("dlg-8", "我妈走了半年了 户口先不销 她的养老金让我接着领着 有什么办法不被发现")
    assert r.intent == "refuse" and "合法的办法" in r.answer
    r = await a.turn("dlg-9", "店面是我自己买的房子 房产证在我手上")
    assert r.intent != "refuse" and r.intent != "complaint", r.answer


@pytest.mark.anyio
async def test_a_guide_question_in_everyday_words_is_answered_from_the_understood_item(
    services: Services,
) -> None:
    r = await services.assistant.turn("dlg-scope-1", "屋里老人上个月走了 去销户口那些要准备么子材料")
    assert r.intent == "consult" and r.citations, r.answer
    assert r.citations[0].doc_id == "after_death" and "火化证明" in r.answer, r.answer


@pytest.mark.anyio
async def test_the_same_question_about_another_province_is_not_answered_from_hubei_guides(
    services: Services,
) -> None:
    r = await services.assistant.turn("dlg-scope-2", "老人是在广东深圳走的 深圳那边销户口要准备么子材料")
    # Hubei's guide may still be shown, but only after saying plainly that it is Hubei's, not Guangdong's.
    assert r.answer.startswith("您问的是广东的办理") and "未收录" in r.answer, r.answer


@pytest.mark.anyio
async def test_telling_facts_over_turns_keeps_the_item_and_the_first_answers(services: Services) -> None:
    a = services.assistant
    await a.turn("dlg-focus-1", "我家伢今年满六岁 九月要上小学了 房子和户口都在宜昌西陵区")
    await a.turn("dlg-focus-1", "伢是2020年3月生的")  # a birth date, not a new birth
    r = await a.turn("dlg-focus-1", "好 帮我提交吧")
    assert r.workflow and r.workflow["id"] == "school_entry", r.answer
