"""Every 一件事 driven end to end through the assistant by scripted citizen turns: start, answer each
question card, get the personal checklist (verbatim from the guide), pick a channel, get handed off."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.catalog_loader import load_guides
from retrieval.factory import SAMPLE_KB_DIR
from serving.services import Services
from tests.assistant_fixtures import make_services

pytestmark = pytest.mark.integration
GUIDES = load_guides(SAMPLE_KB_DIR / "guides")
# Answers that differ from the driver's defaults, where the default would (correctly) end the flow as
# ineligible or pick a branch with no conditional material to check.
OVERRIDES: dict[str, dict[str, str]] = {
    "house_transfer_utilities": {"restricted": "否"},
    "company_deregistration": {"outstanding_debts": "没有欠债，都清了"},
}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    return make_services(tmp_path_factory.mktemp("flows"))


def default_answer(services: Services, workflow_id: str, step: dict[str, Any]) -> str:
    slot_id = step["slot"]
    override = OVERRIDES.get(workflow_id, {}).get(slot_id)
    if override:
        return override
    if step.get("choices"):
        return step["choices"][0]
    assert services.assistant.flows is not None
    slot = services.assistant.flows.workflow(workflow_id).slot(slot_id)
    assert slot is not None
    level = (slot.validation.region_level if slot.validation else None) or "city"
    return {
        "yesno": "是",
        "region": "武汉市武昌区" if level == "district" else "武汉市",
        "number": "3",
        "date": "昨天",
        "text": "无",
    }[slot.kind]


async def drive_to_checklist(services: Services, workflow_id: str, session: str) -> Any:
    name = GUIDES[workflow_id].name
    r = await services.assistant.turn(session, f"我要办{name}")
    assert r.intent == "transact" and r.workflow and r.workflow["id"] == workflow_id, (r.intent, r.answer)
    for _ in range(12):
        assert r.flow is not None, r.answer
        if r.flow["kind"] == "checklist":
            return r
        assert r.flow["kind"] in ("question", "reask"), (r.flow["kind"], r.answer)
        r = await services.assistant.turn(session, default_answer(services, workflow_id, r.flow))
    raise AssertionError(f"{workflow_id}: no checklist after 12 answers")


@pytest.mark.anyio
@pytest.mark.parametrize("workflow_id", sorted(GUIDES))
async def test_every_flow_reaches_a_checklist_and_a_caseworker_handoff(services, workflow_id):
    session = f"flow-{workflow_id}"
    r = await drive_to_checklist(services, workflow_id, session)
    checklist = r.flow["checklist"]
    guide = GUIDES[workflow_id]
    rendered = {m.name: m.render() for m in guide.materials}
    assert checklist["materials"], "the citizen gets a materials list"
    for item in checklist["materials"]:
        assert item["text"] == rendered[item["name"]]  # verbatim from the guide
        assert item["mark"] in ("必要", "容缺", "可免提交", "非必要")
    assert checklist["time_limit"] == guide.field_text("time_limit")
    assert r.flow["handoff_options"], "the checklist offers channels"
    kinds = [o["kind"] for o in r.flow["handoff_options"]]
    assert "caseworker" in kinds or "ticket_12345" in kinds
    pick = "窗口帮办" if "caseworker" in kinds else "12345"
    done = await services.assistant.turn(session, pick)
    assert done.handoff is not None, done.answer
    case = services.cases.get(done.handoff["case_no"])
    assert case is not None and case.workflow_id == workflow_id
    assert case.checklist and case.checklist["materials"]  # the caseworker sees what the citizen was told
    assert done.handoff["verify_code"] and done.handoff["verify_code"] in done.answer


@pytest.mark.anyio
async def test_an_ineligible_situation_ends_the_flow_with_a_human_offer(services):
    s = "flow-ineligible"
    r = await services.assistant.turn(s, "我要办二手房转移登记一件事")
    while r.flow and r.flow["kind"] in ("question", "reask") and r.flow["slot"] != "restricted":
        r = await services.assistant.turn(s, default_answer(services, "house_transfer_utilities", r.flow))
    r = await services.assistant.turn(s, "是，房子被查封了")
    assert r.flow and r.flow["kind"] == "ineligible"
    assert "查封" in r.answer


@pytest.mark.anyio
async def test_online_link_handoff_carries_a_signed_prefill_token(services):
    r = await drive_to_checklist(services, "birth", "flow-online")
    kinds = [o["kind"] for o in r.flow["handoff_options"]]
    assert "online_link" in kinds
    done = await services.assistant.turn("flow-online", "线上办理")
    assert done.handoff and done.handoff["kind"] == "online_link"
    assert done.handoff["url"].startswith("https://") and "token=" in done.handoff["url"]
    assert done.handoff["qr_text"] == done.handoff["url"] or done.handoff["qr_text"]


@pytest.mark.anyio
async def test_flow_handles_reask_correction_digression_and_cancel(services):
    s = "flow-edges"
    r = await services.assistant.turn(s, "我要办新生儿出生一件事")
    first_question = r.flow["prompt"]
    slot = services.assistant.flows.workflow("birth").slot(r.flow["slot"])
    if slot.kind == "yesno":  # quick-reply buttons for yes/no questions too
        assert r.flow["choices"] == ["是", "否"]
    bad = await services.assistant.turn(s, "嗯……这个我也说不好呢呢呢")
    assert bad.flow["kind"] in ("reask", "digression", "question")
    side = await services.assistant.turn(s, "出生一件事收费吗？")
    assert side.citations and side.citations[0].doc_id == "birth"  # the side question is answered…
    assert side.flow and side.flow["kind"] in ("question", "reask")  # …and the flow resumes
    assert side.workflow and side.workflow["id"] == "birth"
    cancel = await services.assistant.turn(s, "算了不办了")
    assert cancel.flow and cancel.flow["kind"] == "cancelled"
    after = await services.assistant.turn(s, "开饭馆要办哪些证")
    assert after.intent == "consult" and after.flow is None  # no longer inside the flow
    assert first_question
