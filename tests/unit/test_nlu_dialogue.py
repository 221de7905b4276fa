"""Trained understanding and dialogue state: the models build from the shipped corpus, the decision rules
carry the focus, take facts from free text, submit early and cancel. Sentences here are our own."""

from __future__ import annotations

import pytest

from assistant.dialogue import Action, Dialogue, Thresholds, decide, resolve_item
from assistant.memory.base import SessionState
from assistant.nlu.corpus import held_out, load_corpus
from assistant.nlu.understand import Understanding
from assistant.types import Intent
from connectors.facts import read_facts
from tests.unit._connectors_fixtures import TODAY, shipped, shipped_engine

pytestmark = pytest.mark.unit


def u(intent: str, act: str = "ask", item: str | None = None, *, source: str = "named", question: bool = True,
      probs: dict[str, float] | None = None, item_probs: dict[str, float] | None = None, p: float = 0.9) -> Understanding:  # fmt: skip
    probs = probs or {intent: p}
    return Understanding(
        Intent(intent), p, act, 0.9, item, 0.9 if item else 0.0, source if item else "", None,
        tuple(probs.items()), item_probs or ({item: 0.9} if item else {}), question,
    )  # fmt: skip


def has_flow(item: str) -> bool:
    return item in shipped()[1]


def test_held_out_split_is_stable_and_about_fifteen_percent() -> None:
    texts = [f"第{i}条训练语句" for i in range(2000)]
    share = sum(held_out(t) for t in texts) / len(texts)
    assert 0.1 < share < 0.2
    assert [held_out(t) for t in texts[:50]] == [held_out(t) for t in texts[:50]]


def test_corpus_has_every_label_and_no_text_on_both_sides() -> None:
    train = load_corpus({"birth": ["新生儿出生"]})
    test = load_corpus({"birth": ["新生儿出生"]}, split="held_out")
    assert {e.label for e in train.intent} >= {"consult", "transact", "human", "complaint", "refuse"}
    assert {e.label for e in train.act} >= {"inform", "affirm", "deny", "cancel", "submit", "ask"}
    assert not {e.text for e in train.intent} & {e.text for e in test.intent}
    assert ("新生儿出生", "birth") in {(e.text, e.label) for e in train.item}


def test_a_request_to_start_names_its_item_and_starts_the_flow() -> None:
    d = Dialogue(SessionState())
    action = decide(u("transact", "start", "birth"), d, in_flow=None, has_flow=has_flow)
    assert action == Action("start_flow", "birth", Intent.TRANSACT, 0.9, "transact")


def test_a_bare_request_resolves_against_the_focus() -> None:
    d = Dialogue(SessionState(topic="retirement"))
    action = decide(u("transact", "start"), d, in_flow=None, has_flow=has_flow)
    assert (action.kind, action.item) == ("start_flow", "retirement")


def test_submit_outside_a_flow_goes_straight_to_the_checklist_of_the_focus() -> None:
    d = Dialogue(SessionState(topic="birth"))
    assert decide(u("transact", "submit"), d, in_flow=None, has_flow=has_flow).kind == "submit"
    assert (
        decide(u("transact", "submit"), Dialogue(SessionState()), in_flow=None, has_flow=has_flow).kind
        == "which_item"
    )


def test_inside_a_flow_cancel_and_submit_do_what_they_say() -> None:
    d = Dialogue(SessionState(topic="birth"))
    assert decide(u("consult", "cancel"), d, in_flow="birth", has_flow=has_flow).kind == "cancel_flow"
    assert decide(u("transact", "submit"), d, in_flow="birth", has_flow=has_flow).kind == "submit_flow"
    assert (
        decide(u("consult", "inform", question=False), d, in_flow="birth", has_flow=has_flow).kind
        == "advance"
    )


def test_switching_item_inside_a_flow_needs_a_named_item_and_a_request() -> None:
    d = Dialogue(SessionState(topic="birth"))
    switch = decide(u("transact", "start", "retirement"), d, in_flow="birth", has_flow=has_flow)
    assert (switch.kind, switch.item) == ("start_flow", "retirement")
    stay = decide(u("consult", "ask", "retirement"), d, in_flow="birth", has_flow=has_flow)
    assert stay.kind == "advance"


def test_a_bundled_service_named_while_a_birth_is_discussed_keeps_the_focus() -> None:
    th = Thresholds()
    mentions_card = u(
        "consult", "ask", "social_security_card", item_probs={"birth": 0.45, "social_security_card": 0.3}
    )
    assert resolve_item(mentions_card, "birth", th) == "birth"
    new_topic = u("consult", "ask", "retirement", item_probs={"retirement": 0.9, "birth": 0.01})
    assert resolve_item(new_topic, "birth", th) == "retirement"


def test_a_statement_of_the_situation_is_not_a_complaint_or_a_refusal() -> None:
    d = Dialogue(SessionState(topic="open_restaurant"))
    told = u("complaint", "inform", "open_restaurant", question=False, p=0.7)
    assert decide(told, d, in_flow=None, has_flow=has_flow).kind == "offer_flow"
    refuse = u("refuse", "inform", question=False, probs={"refuse": 0.7, "consult": 0.2}, p=0.7)
    assert decide(refuse, d, in_flow=None, has_flow=has_flow).kind != "refuse"
    asked = u("refuse", "ask", probs={"refuse": 0.7, "consult": 0.2}, p=0.7)
    assert decide(asked, d, in_flow=None, has_flow=has_flow).kind == "refuse"


def test_a_likely_out_of_scope_message_still_goes_through_retrieval() -> None:
    action = decide(
        u("out_of_scope", "ask", p=0.8), Dialogue(SessionState()), in_flow=None, has_flow=has_flow
    )
    assert action.kind == "out_of_scope"  # the pipeline answers it when the knowledge base has evidence


def test_facts_remembered_per_item_and_changed_only_by_a_correction() -> None:
    d = Dialogue(SessionState())
    d.remember("birth", {"married": True, "settle_city": "420500"}, "t1")
    d.remember("birth", {"settle_city": "420100", "huji": "hubei"}, "t2")  # an aside: fills only the new
    assert d.facts("birth") == {"married": True, "settle_city": "420500", "huji": "hubei"}
    d.remember("birth", {"settle_city": "420100"}, "t3", correcting=True)  # "不对 是落武汉"
    assert d.facts("birth")["settle_city"] == "420100"
    assert d.facts("retirement") == {}


def test_facts_read_from_free_text() -> None:
    wf = shipped()[1]["birth"]
    facts = read_facts(wf, "我们俩都是襄阳户口 早就领了证", TODAY)
    assert facts["huji"] == "hubei" and facts["married"] is True and facts["settle_city"] == "420600"
    assert (
        "married" not in read_facts(wf, "我们还没有结婚", TODAY)
        or read_facts(wf, "我们还没有结婚", TODAY)["married"] is False
    )


def test_a_house_number_is_not_an_area() -> None:
    wf = shipped()[1]["open_restaurant"]
    assert "area" not in read_facts(wf, "店在珞喻路100号", TODAY)
    assert read_facts(wf, "门面大概八十来平", TODAY)["area"] == 80


def test_early_submit_marks_undecided_materials_and_offers_handoffs() -> None:
    engine = shipped_engine()
    state, step = engine.start("birth", prefill={"born_in_province": True, "huji": "hubei", "married": True})
    assert step.kind == "question"
    state, step = engine.submit(state)
    assert step.kind == "checklist" and step.handoff
    marks = {m.name: m.mark for m in step.checklist.materials}
    assert marks["产妇本人名下银行卡（卡号及开户行）"] == "视情况"
    assert "视情况" in step.prompt and "尚未确认" in step.prompt


def test_prefilled_facts_are_confirmed_in_one_line() -> None:
    _state, step = shipped_engine().start("birth", prefill={"married": True})
    assert "根据您前面提到的情况" in step.prompt and "父母已办理结婚登记：是" in step.prompt


def test_a_fresh_checkout_builds_the_model_and_it_classifies(tmp_path, monkeypatch) -> None:
    from assistant.nlu.model import NLUModel, load_or_train

    monkeypatch.setenv("GOVCHAT_NLU_CACHE", str(tmp_path / "cache"))
    terms = {"retirement": ["退休", "退休一件事"], "birth": ["新生儿出生", "宝宝上户口"]}
    model = load_or_train(tmp_path / "data" / "model.joblib", terms)
    assert (tmp_path / "data" / "model.joblib").exists() and list((tmp_path / "cache").glob("*.joblib"))
    assert model.intent.predict("我下个月满六十了 麻烦现在就帮我把退休申请办了").label == "transact"
    assert model.intent.predict("小区楼下的垃圾堆了一个礼拜没人清运 我要反映").label == "complaint"
    assert model.item.predict("我下个月满六十了 退休要准备什么").label == "retirement"
    again = NLUModel.load(tmp_path / "data" / "model.joblib", model.fingerprint)
    assert again is not None and again.fingerprint == model.fingerprint
    assert NLUModel.load(tmp_path / "data" / "model.joblib", "another-corpus") is None


def test_a_statement_moves_the_focus_only_when_it_names_another_item() -> None:
    th = Thresholds()
    told = u("consult", "inform", "birth", source="model", question=False, item_probs={"birth": 0.95})
    assert resolve_item(told, "school_entry", th) == "school_entry"  # "孩子是2019年5月生的", about school
    named = u("consult", "inform", "retirement", question=False, item_probs={"retirement": 0.9})
    assert resolve_item(named, "birth", th) == "retirement"  # a catalog name does move it
    asked = u("consult", "ask", "birth", source="model", item_probs={"birth": 0.95})
    assert resolve_item(asked, "school_entry", th) == "birth"  # a question may change the subject


def test_an_item_the_focus_bundle_lists_keeps_the_focus_when_told_about() -> None:
    th = Thresholds()
    nested = {"after_death": frozenset({"social_security_card"})}
    told = u("consult", "inform", "social_security_card", question=False)
    assert resolve_item(told, "after_death", th, nested) == "after_death"
    assert resolve_item(told, "retirement", th, nested) == "social_security_card"


def test_the_shipped_bundles_name_the_items_they_contain() -> None:
    from assistant.items import ItemMatcher

    guides, catalog = shipped()
    items = ItemMatcher.from_catalog(guides, catalog.values(), {})
    bundles = {g: "\n".join([*gd.bundled_items, *(m.name for m in gd.materials)]) for g, gd in guides.items()}
    nested = items.covered_by(bundles)
    assert "social_security_card" in nested["after_death"] and "social_security_card" in nested["birth"]
    assert not nested["retirement"] or "retirement" not in nested["retirement"]


def test_facts_told_about_the_focus_item_offer_its_flow() -> None:
    d = Dialogue(SessionState(topic="after_death"))
    statement = u("consult", "inform", question=False)
    assert decide(statement, d, in_flow=None, has_flow=has_flow).kind == "consult"
    action = decide(statement, d, in_flow=None, has_flow=has_flow, gave_facts=True)
    assert (action.kind, action.item) == ("offer_flow", "after_death")


def test_places_outside_hubei_are_recognised_unless_denied() -> None:
    from connectors.regions import other_province

    assert other_province("孩子是在广东深圳出生的") == "广东"
    assert other_province("我们在成都打工 社保怎么转回来") == "四川"
    assert other_province("不是在深圳 是在宜昌") is None
    assert other_province("我们家在荆州沙市区") is None
