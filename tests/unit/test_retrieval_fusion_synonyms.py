"""Fusion, synonym expansion and relevance: the pure logic that decides what a citizen is shown."""

from __future__ import annotations

import pytest

from retrieval.fusion import reciprocal_rank_fusion
from retrieval.lexical.synonyms import SynonymMap, SynonymsError
from retrieval.relevance import combine, term_coverage

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("rankings", "weights", "expected_first"),
    [
        ([["a", "b", "c"], ["b", "c", "a"]], [1, 1], "b"),  # b: 1/62+1/61 beats a: 1/61+1/63
        ([["a", "b"], ["b", "a"]], [2, 1], "a"),  # weight decides a tie in ranks
        ([["a"], []], [1, 1], "a"),  # one side empty
        ([[], ["z"]], [1, 1], "z"),
        ([["a", "a", "b"], ["b"]], [1, 1], "b"),  # duplicate inside a list counts once
    ],
)
def test_rrf_ranks_items_found_by_both_retrievers_first(rankings, weights, expected_first):
    fused = reciprocal_rank_fusion(rankings, weights, k=60)
    assert fused[0][0] == expected_first
    assert len({i for i, _ in fused}) == len(fused)


def test_rrf_is_deterministic_on_ties_and_rejects_bad_input():
    assert [i for i, _ in reciprocal_rank_fusion([["x", "y"], ["y", "x"]], [1, 1])] == ["x", "y"]
    assert reciprocal_rank_fusion([[], []], [1, 1]) == []
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], [1, 1])
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], [1], k=0)


SYN = SynonymMap.parse(
    """
新生儿出生: [生娃, 生孩子]
户口登记: [上户口, 落户口]
开办餐饮店: [开饭馆, 开饭店, 饭馆]
社保卡: [医保卡]
"""
)


@pytest.mark.parametrize(
    ("query", "expected_added"),
    [
        ("生娃了要办什么", ["新生儿出生"]),
        ("生孩子以后怎么上户口", ["新生儿出生", "户口登记"]),
        ("我想开饭馆", ["开办餐饮店"]),  # the longest variant wins, 饭馆 is not matched again
        ("医保卡丢了", ["社保卡"]),
        ("新生儿出生一件事", []),  # already official: nothing added
        ("", []),
        ("今天天气不错", []),
    ],
)
def test_synonyms_expand_colloquial_words_to_official_terms(query, expected_added):
    assert SYN.official_terms_in(query) == expected_added
    expanded = SYN.expand(query)
    assert expanded.startswith(query)
    for term in expected_added:
        assert term in expanded


@pytest.mark.parametrize(
    "bad",
    ["- just a list", "新生儿出生: 生娃", "新生儿出生: [1, 2]", '"": [x]', "新生儿出生: ['']"],
)
def test_malformed_synonyms_file_is_a_clear_error(bad):
    with pytest.raises(SynonymsError):
        SynonymMap.parse(bad)


def test_shipped_synonyms_cover_the_issue_examples():
    shipped = SynonymMap.load()
    for colloquial, official in [
        ("生娃", "新生儿出生"),
        ("上户口", "户口登记"),
        ("医保卡", "社保卡"),
        ("房产证", "不动产权证书"),
        ("退休金", "养老金"),
        ("开饭馆", "开办餐饮店"),
        ("驾照", "驾驶证"),
    ]:
        assert official in shipped.official_terms_in(f"请问{colloquial}怎么办"), colloquial


def _idf(term: str) -> float:
    return {"护照": 5.0, "材料": 1.0, "新生儿": 4.0, "出生": 3.0}.get(term, 2.0)


@pytest.mark.parametrize(
    ("groups", "passage", "low", "high"),
    [
        ([["新生儿"], ["材料"]], "新生儿出生一件事申请材料", 0.99, 1.0),
        ([["护照"], ["材料"]], "新生儿出生一件事申请材料", 0.1, 0.2),  # the rare term is missing
        ([["生娃", "新生儿出生", "新生儿"]], "新生儿出生一件事", 0.99, 1.0),  # covered through a synonym
        ([], "anything", 0.0, 0.0),
        ([["材料"]], "", 0.0, 0.0),
    ],
)
def test_term_coverage_weights_rare_terms(groups, passage, low, high):
    assert low <= term_coverage(groups, passage, _idf) <= high


def test_combine_keeps_relevance_in_unit_interval():
    assert combine(0.5, None) == 0.5
    assert 0 <= combine(0.0, -1.0) <= combine(0.0, 0.8) <= combine(1.0, 1.0) <= 1.0
