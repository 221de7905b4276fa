"""Rule parsers for slot values: what a citizen types and what the flow should understand."""

from __future__ import annotations

from datetime import date

import pytest

from connectors.parsers import (
    chinese_to_number,
    has_correction_marker,
    is_cancel,
    is_question,
    parse_choice,
    parse_date,
    parse_number,
    parse_yesno,
)
from connectors.regions import all_regions, cities, districts_of, get_region, match_region
from connectors.types import Choice

pytestmark = pytest.mark.unit

TODAY = date(2025, 11, 25)
HOSTILE = [
    "",
    "   ",
    "\x00\x01\x02",
    "'; DROP TABLE cases; --",
    "<script>alert(1)</script>",
    "😀" * 50,
    "是" * 100_000,
    "{{7*7}} ${jndi:ldap://x}",
    "１２３４５６７８９０" * 1000,
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("是", True),
        ("是的", True),
        ("对", True),
        ("有", True),
        ("嗯", True),
        ("好的", True),
        ("已经办了", True),
        ("没错", True),
        ("YES", True),
        ("对，在协和医院生的", True),
        ("有，不过还没领", True),
        ("没有", False),
        ("不是", False),
        ("否", False),
        ("还没办", False),
        ("嗯，没有", False),
        ("不对", False),
        ("no", False),
        ("不知道", None),
        ("不太清楚", None),
        ("有结婚证吗", None),
        ("是不是要原件？", None),
        ("随便", None),
        ("", None),
    ],
)
def test_yesno(text: str, expected: bool | None) -> None:
    assert parse_yesno(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        ("三", 3),
        ("十", 10),
        ("二十三", 23),
        ("一百零五", 105),
        ("一千零一十", 1010),
        ("两万五", 25000),
        ("三千五", 3500),
        ("1.5万", 15000),
        ("1,200平米", 1200),
        ("三点五", 3.5),
        ("我有2个孩子", 2),
        ("-5", -5),
        ("１２０", 120),
        ("abc", None),
        ("", None),
    ],
)
def test_number(text: str, expected: float | None) -> None:
    assert parse_number(text) == expected


def test_chinese_digit_strings_read_digit_by_digit() -> None:
    assert chinese_to_number("二〇二四") == 2024
    assert chinese_to_number("abc") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024年3月5日", date(2024, 3, 5)),
        ("2024-03-05", date(2024, 3, 5)),
        ("2024/3/5", date(2024, 3, 5)),
        ("20240305", date(2024, 3, 5)),
        ("二〇二四年三月五日", date(2024, 3, 5)),
        ("24年3月5日", date(2024, 3, 5)),
        ("3月5号", date(2025, 3, 5)),
        ("12月1号", date(2024, 12, 1)),  # later than today this year: last year's
        ("2024年2月", date(2024, 2, 1)),
        ("去年三月", date(2024, 3, 1)),
        ("去年三月十五号", date(2024, 3, 15)),
        ("上个月", date(2025, 10, 1)),
        ("上个月5号", date(2025, 10, 5)),
        ("三天前", date(2025, 11, 22)),
        ("两个月前", date(2025, 9, 25)),
        ("1年前", date(2024, 11, 25)),
        ("上周", date(2025, 11, 18)),
        ("今天", TODAY),
        ("昨天", date(2025, 11, 24)),
        ("前天", date(2025, 11, 23)),
        ("2024年13月45日", None),
        ("2023年2月29日", None),
        ("9999年1月1日", None),
        ("很久以前", None),
        ("", None),
    ],
)
def test_date(text: str, expected: date | None) -> None:
    assert parse_date(text, TODAY) == expected


def test_date_without_prefer_past_keeps_this_year() -> None:
    assert parse_date("12月1号", TODAY, prefer_past=False) == date(2025, 12, 1)


HUJI = [
    Choice(value="hubei", label="本省户籍", synonyms=["本省", "湖北", "省内"]),
    Choice(value="other", label="省外户籍", synonyms=["省外", "外省", "非本省"]),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "hubei"),
        ("选2", "other"),
        ("第二个", "other"),
        ("第1项", "hubei"),
        ("本省户籍", "hubei"),
        ("我是外省的", "other"),
        ("非本省户籍", "other"),
        ("不是本省的，是省外的", "other"),
        ("湖北", "hubei"),
        ("hubei", "hubei"),
        ("本省还是省外", None),  # both named: ambiguous, ask again
        ("3", None),
        ("0", None),
        ("我2024年来的", None),  # a number inside a sentence is not a choice index
        ("随便", None),
    ],
)
def test_choice(text: str, expected: str | None) -> None:
    assert parse_choice(text, HUJI) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("不对，我是襄阳的", "420600"),
        ("襄樊", "420600"),
        ("襄阳市樊城区", "420606"),  # the district, not the city
        ("我在洪山区", "420111"),
        ("恩施州", "422800"),
        ("恩施市", "422801"),
        ("不是武汉，是襄阳", "420600"),
        ("原来在武汉，现在在宜昌", "420500"),
        ("长阳", "420528"),
        ("神农架", "429021"),
        ("仙桃人", "429004"),
        ("我在公安县", "421022"),
        ("荆州区", "421003"),
        ("湖北", None),
        ("公安局", None),  # 公安县's short form is an ordinary word
        ("非武汉户籍", None),
        ("北京", None),
    ],
)
def test_region(text: str, code: str | None) -> None:
    region = match_region(text)
    assert (region.code if region else None) == code


def test_region_table_is_complete() -> None:
    assert len(cities()) == 17
    assert len(districts_of("420100")) == 13
    assert {r.name for r in cities()} >= {"仙桃市", "潜江市", "天门市", "神农架林区", "恩施土家族苗族自治州"}
    codes = [r.code for r in all_regions()]
    assert len(codes) == len(set(codes))
    assert all(len(c) == 6 and c.startswith("42") for c in codes)
    hongshan = get_region("420111")
    assert hongshan is not None and hongshan.city_code == "420100"


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("需要带什么材料？", True),
        ("我该去哪里办", True),
        ("结婚证要原件吗", True),
        ("多久能办好", True),
        ("是", False),
        ("武汉", False),
        ("2024年3月5日", False),
    ],
)
def test_is_question(text: str, question: bool) -> None:
    assert is_question(text) is question


@pytest.mark.parametrize(
    ("text", "cancel"),
    [
        ("取消", True),
        ("算了", True),
        ("算了，不办了", True),
        ("我不办了", True),
        ("不想办了", True),
        ("那就取消吧", True),
        ("不用了", False),  # a plain "no" to a yes/no question
        ("我算了一下", False),
        ("是", False),
    ],
)
def test_is_cancel(text: str, cancel: bool) -> None:
    assert is_cancel(text) is cancel


def test_correction_marker() -> None:
    assert has_correction_marker("不对，我是襄阳的")
    assert has_correction_marker("刚才说错了")
    assert not has_correction_marker("襄阳")


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_never_raises(text: str) -> None:
    parse_yesno(text)
    parse_number(text)
    parse_date(text, TODAY)
    parse_choice(text, HUJI)
    match_region(text)
    is_question(text)
    is_cancel(text)
