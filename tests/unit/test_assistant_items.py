"""Which 一件事 a message names: the one identifier the router, condense and flows rely on."""

from __future__ import annotations

import pytest

from assistant.items import ItemMatcher, core_name
from connectors.catalog_loader import load_catalog, load_guides
from retrieval.factory import SAMPLE_KB_DIR
from retrieval.lexical.synonyms import SynonymMap

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def matcher() -> ItemMatcher:
    guides = load_guides(SAMPLE_KB_DIR / "guides")
    return ItemMatcher.from_catalog(guides, load_catalog(None, guides).values(), SynonymMap.load().variants)


@pytest.mark.parametrize(
    ("text", "item"),
    [
        ("我想给宝宝上户口", "birth"),
        ("开饭店要办什么手续", "open_restaurant"),
        ("公司不开了怎么注销", "company_deregistration"),
        ("个体户转公司怎么办", "individual_to_company"),
        ("补办社保卡", "social_security_card"),
        ("退伍回来要办哪些手续", "veteran_services"),
        ("我要办二手房转移登记一件事", "house_transfer_utilities"),  # a catalog keyword
        ("开办餐饮店需要什么", "open_restaurant"),  # longest match: not 企业开办
        ("你好", None),
        ("", None),
    ],
)
def test_items_are_identified_from_names_aliases_synonyms_and_keywords(matcher, text, item):
    assert matcher.match(text) == item


@pytest.mark.parametrize(
    ("name", "core"),
    [
        ("新生儿出生“一件事”", "新生儿出生"),
        ("教育入学“一件事”(义务教育入学)", "教育入学"),
        ("个体工商户转型为企业“一件事”（个转企）", "个体工商户转型为企业"),
    ],
)
def test_core_name_strips_the_label(name, core):
    assert core_name(name) == core
