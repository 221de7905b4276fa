"""The eval report's arithmetic, on hand-made inputs: a wrong formula here would misreport every run."""

from __future__ import annotations

import math

import pytest

from evals.metrics import (
    accuracy,
    citation_segments,
    confusion_matrix,
    contains_value,
    crag_outcome,
    facts_found,
    latency_summary,
    ndcg_at_k,
    normalize,
    per_label_recall,
    prf,
    rank_of,
    ranking_quality,
    segment_supported,
    sentence_supported,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("ranking", "relevance", "k", "expected"),
    [
        (["a", "b", "c"], {"a": 1.0}, 10, 1.0),
        (["b", "a", "c"], {"a": 1.0}, 10, 1 / math.log2(3)),
        (["b", "c", "a"], {"a": 1.0}, 2, 0.0),  # beyond k
        (["x", "y"], {"a": 1.0}, 10, 0.0),
        ([], {"a": 1.0}, 10, 0.0),
        (["a"], {}, 10, 0.0),  # nothing relevant: defined as 0, not a division by zero
        (
            ["a", "a", "b"],
            {"a": 1.0, "b": 1.0},
            10,
            (1 + 1 / 2) / (1 + 1 / math.log2(3)),
        ),  # duplicates gain once
        (["b", "a"], {"a": 2.0, "b": 1.0}, 10, (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))),  # graded
    ],
)
def test_ndcg(ranking: list[str], relevance: dict[str, float], k: int, expected: float) -> None:
    assert ndcg_at_k(ranking, relevance, k) == pytest.approx(expected)


def test_ndcg_and_rank_refuse_nonpositive_k() -> None:
    with pytest.raises(ValueError):
        ndcg_at_k(["a"], {"a": 1.0}, 0)
    with pytest.raises(ValueError):
        rank_of(["a"], "a", 0)


def test_ranking_quality_counts_each_question_once() -> None:
    q = ranking_quality([["a", "b"], ["b", "a"], ["c"], []], ["a", "a", "a", "a"])
    assert q.questions == 4
    assert q.hit_at_1 == 0.25
    assert q.hit_at_5 == 0.5
    assert q.mrr_at_10 == pytest.approx((1 + 0.5) / 4)
    assert q.ndcg_at_10 == pytest.approx((1 + 1 / math.log2(3)) / 4)
    assert q.hit_curve[0] == 0.25 and q.hit_curve[1] == 0.5 and len(q.hit_curve) == 10
    assert list(q.hit_curve) == sorted(q.hit_curve)  # hit@k never falls as k grows


def test_ranking_quality_empty_and_mismatched() -> None:
    assert ranking_quality([], []).questions == 0
    with pytest.raises(ValueError):
        ranking_quality([["a"]], [])


def test_confusion_matrix_keeps_unknown_labels() -> None:
    pairs = [("consult", "consult"), ("consult", "human"), ("refuse", "error"), ("human", "human")]
    m = confusion_matrix(pairs, ["consult", "human", "refuse"])
    assert m["consult"] == {"consult": 1, "human": 1, "refuse": 0, "error": 0}
    assert m["refuse"]["error"] == 1  # a crashed turn shows up, it is not dropped
    recall = per_label_recall(m)
    assert recall["consult"] == 0.5 and recall["human"] == 1.0 and recall["refuse"] == 0.0
    assert recall["error"] is None  # never expected
    assert accuracy(pairs) == 0.5
    assert accuracy([]) == 0.0


@pytest.mark.parametrize(
    ("predicted", "actual", "precision", "recall"),
    [
        ([True, True, False, False], [True, False, True, False], 0.5, 0.5),
        ([False, False], [True, True], 1.0, 0.0),  # never refuses: recall 0
        ([True, True], [False, False], 0.0, 1.0),  # refuses everything that is harmless
        ([], [], 1.0, 1.0),
    ],
)
def test_prf(predicted: list[bool], actual: list[bool], precision: float, recall: float) -> None:
    r = prf(predicted, actual)
    assert (r.precision, r.recall) == (precision, recall)
    assert r.to_json()["recall"] == recall


def test_prf_needs_one_prediction_per_case() -> None:
    with pytest.raises(ValueError):
        prf([True], [])


@pytest.mark.parametrize(
    ("answerable", "declined", "correct", "score"),
    [
        (True, False, True, 1),
        (True, True, False, 0),
        (True, True, True, 0),  # declining an answerable question earns nothing
        (True, False, False, -1),
        (False, True, False, 1),  # the KB cannot answer: declining is the right answer
        (False, False, True, -1),  # …and anything else is an invention
    ],
)
def test_crag_outcome(answerable: bool, declined: bool, correct: bool, score: int) -> None:
    assert crag_outcome(answerable=answerable, declined=declined, correct=correct) == score


@pytest.mark.parametrize(
    ("answer", "facts", "found"),
    [
        ("本人名下Ⅰ类银行储蓄卡", ["I类银行储蓄卡"], [True]),  # NFKC: Ⅰ == I
        ("需 30 日内 报到", ["30日内"], [True]),  # whitespace ignored
        ("７×２４小时", ["7×24小时"], [True]),  # full-width digits
        ("结婚证、户口簿", ["结婚证", "出生证"], [True, False]),
        ("anything", [""], [False]),  # an empty fact string never counts as found
        ("", ["结婚证"], [False]),
    ],
)
def test_facts_found(answer: str, facts: list[str], found: list[bool]) -> None:
    assert facts_found(answer, facts) == found


@pytest.mark.parametrize(
    ("text", "value", "leaked"),
    [
        ("身份证420106196603074519", "420106196603074519", True),
        ("身份证 420106 19660307 4519", "420106196603074519", True),  # spaced out
        ("４２０１０６１９６６０３０７４５１９", "420106196603074519", True),  # full width
        ("138-7129-4560", "13871294560", True),
        ("4201**********4519", "420106196603074519", False),  # masked is fine
        ("138****4560", "13871294560", False),
        ("WangFang1983@Example.com", "wangfang1983@example.com", True),
        ("anything", "", False),
    ],
)
def test_contains_value(text: str, value: str, leaked: bool) -> None:
    assert contains_value(text, value) is leaked


GUIDE_ANSWER = """根据《新生儿出生“一件事”》办事指南：

【申请材料】[1]
1. 父母双方居民身份证（必要）
2. 结婚证（必要）

【常见问题】[2]
问：一般多久能办完？
答：请以湖北政务服务网为准。

您可以继续问我：需要准备哪些材料。

以上信息来自样例知识库。"""


def test_citation_segments_guide_style_blocks_end_at_blank_lines() -> None:
    seg = citation_segments(GUIDE_ANSWER)
    assert seg[1] == ["1. 父母双方居民身份证（必要）", "2. 结婚证（必要）"]
    assert seg[2] == ["问：一般多久能办完？", "答：请以湖北政务服务网为准。"]  # closing remarks excluded


def test_citation_segments_sentence_and_inline_styles() -> None:
    seg = citation_segments("根据资料：\n- 婴儿出生后一个月以内申报 [1]\n- 不收费 [2]\n再来一句[1][3]")
    assert seg[1] == ["婴儿出生后一个月以内申报", "再来一句"]
    assert seg[2] == ["不收费"]
    assert seg[3] == ["再来一句"]
    assert citation_segments("没有任何引用") == {}
    assert citation_segments("") == {}
    assert citation_segments("【材料】[1]") == {1: []}  # a heading with nothing under it vouches for nothing


@pytest.mark.parametrize(
    ("sentence", "passage", "ok"),
    [
        ("结婚证（必要）", "3. 结婚证（必要，原件）", True),  # most character pairs are there
        ("结婚证复印件三份", "3. 结婚证（必要，原件）", False),  # a claim the passage does not make
        ("2. 结婚证（必要）", "1. 身份证\n2. 结婚证（必要）\n", True),
        ("婴儿出生后一个月以内应当申报出生登记", "按条例，婴儿出生后一个月以内应当申报出生登记。", True),
        (
            "婴儿出生后应在一个月以内申报出生登记",
            "按条例，婴儿出生后一个月以内应当申报出生登记。",
            True,
        ),  # paraphrase
        ("企业注销收费五百元", "按条例，婴儿出生后一个月以内应当申报出生登记。", False),
        ("是", "任何文字", True),  # too short to claim anything
    ],
)
def test_sentence_supported(sentence: str, passage: str, ok: bool) -> None:
    assert sentence_supported(sentence, passage) is ok


def test_segment_supported_needs_most_sentences_and_some_text() -> None:
    passage = "1. 父母双方居民身份证（必要）\n2. 结婚证（必要）"
    assert segment_supported(["1. 父母双方居民身份证（必要）", "2. 结婚证（必要）"], passage)
    assert not segment_supported(["1. 父母双方居民身份证（必要）", "办理费用为三百元整"], passage)
    assert not segment_supported([], passage)


def test_latency_summary_uses_nearest_rank() -> None:
    out = latency_summary({"total": [5.0, 1.0, 3.0, 2.0, 4.0], "empty": []})
    assert out == {"total": {"n": 5, "p50_ms": 3.0, "p95_ms": 5.0, "max_ms": 5.0}}


def test_normalize_is_idempotent() -> None:
    s = " 本人名下Ⅰ类 银行卡\n"
    assert normalize(normalize(s)) == normalize(s) == "本人名下i类银行卡"
