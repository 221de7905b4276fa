"""The direct answer: what is asked, the sentence that says it, document facts, honest gaps."""

from __future__ import annotations

import pytest

from assistant.answerers.direct import (
    asked_metadata,
    best_sentences,
    metadata_sentence,
    missing_figure,
    provision_label,
    question_kind,
)
from assistant.answerers.extractive import guide_answer, sentence_answer
from assistant.answerers.provenance import OTHER_REGION_NOTE, clean
from retrieval.relevance import term_coverage
from retrieval.types import Chunk, Hit

pytestmark = pytest.mark.unit


def _chunk(doc: str, section: str, text: str, i: int = 0, **meta: object) -> Chunk:
    return Chunk(
        chunk_id=f"{doc}::v1::{i:04d}", doc_id=doc, version=1, ordinal=i, title=str(meta.pop("title", doc)),
        section=section, text=text, metadata={"doc_type": "policy", **meta},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("办下来要几个工作日", "duration"),
        ("补贴能拿多少钱", "amount"),
        ("一共有几条措施", "number"),
        ("这个事哪个部门牵头", "who"),
        ("外地户口能不能办", "yesno"),
        ("要准备哪些材料", "list"),
        ("介绍一下", ""),
    ],
)
def test_question_kind(question, kind):
    assert question_kind(question) == kind


def test_a_figure_question_picks_the_sentence_with_the_figure():
    text = "推动产业集聚发展，支持各地建设特色园区。到2027年，培育100亿级产业园5个。加强统筹协调。"
    groups = [["产业园"], ["培育"]]
    picks = best_sentences(
        text, "产业园打算培育几个", groups, lambda g, t: term_coverage(g, t, lambda _: 1.0), n=1
    )
    assert picks[0].sentence == "到2027年，培育100亿级产业园5个。"


def test_a_who_question_picks_the_department():
    text = "加强组织实施。省经信厅加强统筹协调，推动形成工作合力。各地要抓好落实。"
    picks = best_sentences(
        text, "哪个部门统筹", [["统筹"]], lambda g, t: term_coverage(g, t, lambda _: 1.0), n=1
    )
    assert "省经信厅" in picks[0].sentence


def test_a_figure_the_sources_do_not_give_is_said_plainly():
    assert "没有查到" in (missing_figure("生育津贴能拿多少钱", "联办本身不收取费用。") or "")
    assert missing_figure("办理要几天", "承诺5个工作日办结。") is None
    assert missing_figure("办这个收费吗 要交多少钱", "联办本身不收取费用。") is None  # free answers a fee


def test_a_guide_figure_question_does_not_quote_an_unrelated_fee():
    fees = _chunk("birth", "收费标准", "【新生儿·收费标准】\n联办本身不收取费用；医保费按当地标准另行缴纳。")
    answer = guide_answer("新生儿出生“一件事”", [fees], "生育津贴大概能拿多少钱", "新生儿出生", ["fees"])
    assert "没有查到" in answer.text and "以当地" in answer.text
    assert "不收取费用" not in answer.text and not answer.citations


def test_document_facts_are_asked_and_stated_from_metadata():
    assert asked_metadata("那个实施意见是哪天印发的") == ["signed"]
    assert asked_metadata("哪天对外公布的") == ["published"]
    assert asked_metadata("是哪个单位发的") == ["issuer"]
    assert "status" in asked_metadata("这个文件现在还有效不")
    assert asked_metadata("文件里农业咋写的") == []
    assert metadata_sentence("某意见", "signed", "2025-10-13") == "《某意见》的成文日期是2025年10月13日。"


def test_provision_level_citations():
    assert provision_label("（六）推动产业集聚发展。") == "（六）"
    assert provision_label("第十二条 申请人应当…") == "第十二条"
    hit = Hit(
        _chunk("p", "二、培育壮大产业能级", "（六）推动产业集聚发展。到2027年，培育100亿级产业园5个。"),
        1.0,
        0.9,
    )
    answer = sentence_answer([hit], [["产业园"]], lambda _: 1.0, question="产业园培育几个")
    assert answer.citations[0].section == "二、培育壮大产业能级 （六）"
    assert answer.text.startswith("到2027年，培育100亿级产业园5个。 [1]")


def test_a_faq_passage_is_never_quoted_by_its_question_alone():
    faq = _chunk(
        "open_restaurant", "常见问题",
        "【开办餐饮店·常见问题】\n问：开个小饭馆，除了营业执照还要办什么？\n答：一般还需要食品经营许可。",
        doc_type="guide",
    )  # fmt: skip
    answer = sentence_answer(
        [Hit(faq, 1.0, 0.9)], [["小饭馆"], ["营业执照"]], lambda _: 1.0, question="开小饭馆要办什么证"
    )
    assert "答：" not in answer.text and "问：" not in answer.text
    assert "食品经营许可" in answer.text


def test_provenance_notes_leave_the_answer_for_the_citation():
    cleaned = clean(
        "产妇本人名下银行卡；说明：用于发放生育津贴（外省厦门做法）\n（样例信息，未经核实，以湖北政务服务网现行办事指南为准）"
    )
    assert cleaned.text == "产妇本人名下银行卡；说明：用于发放生育津贴"
    assert cleaned.note == OTHER_REGION_NOTE
    assert clean("营业执照；说明：出自旧版餐饮服务许可材料，需按现行办法核对").text == "营业执照"
    kept = clean("湖北未找到公开来源。外省参考：中山最短5个工作日。")
    assert "5个工作日" in kept.text and "外省参考" not in kept.text
