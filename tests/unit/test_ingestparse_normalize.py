"""Text normalisation: one canonical form for every document, so search matches what users type."""

from __future__ import annotations

import random

import pytest

from retrieval.normalize import normalize_text

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # full-width Latin letters, digits and the ideographic space fold to ASCII
        ("ＡＢＣ１２３　ｘｙｚ", "ABC123 xyz"),
        ("５Ｇ网络覆盖１７个市州", "5G网络覆盖17个市州"),
        # Chinese punctuation is kept as Chinese (a plain NFKC pass would break this)
        ("办理条件：年满１８周岁，持有身份证。", "办理条件：年满18周岁，持有身份证。"),
        ("“高效办成一件事”（试行）？！；", "“高效办成一件事”（试行）？！；"),
        # ASCII punctuation inside Chinese text becomes Chinese, as in the shared policy
        ("各市、州、县人民政府,省政府各部门:", "各市、州、县人民政府，省政府各部门："),
        ("是否需要本人到场?需要!", "是否需要本人到场？需要！"),
        ("材料一;材料二", "材料一；材料二"),
        ("人民政府 , 省政府", "人民政府，省政府"),
        ("他问:“是吗?”", "他问：“是吗？”"),
        # ASCII brackets around or inside Chinese text become Chinese brackets
        ("(一)推进优势领域集聚攻坚", "（一）推进优势领域集聚攻坚"),
        ("三维闪存(3DNAND)等技术", "三维闪存（3DNAND）等技术"),
        ("(责任单位:省科技厅,各市州人民政府)", "（责任单位：省科技厅，各市州人民政府）"),
        ("(1)居民身份证", "（1）居民身份证"),
        # ... but Latin text and formulas keep theirs
        ("f(x) = 1, 2; ok? yes!", "f(x) = 1, 2; ok? yes!"),
        ("Call 12345 (24h): free", "Call 12345 (24h): free"),
        ("比例为1:2,共3,500元", "比例为1:2，共3,500元"),  # ratio and thousands separator stay
        ("鄂汇办APP,湖北政务服务网", "鄂汇办APP，湖北政务服务网"),
        # whitespace: runs collapse, lines strip, at most one blank line
        ("a  \t b", "a b"),
        ("  line  \n\n\n\n  next  ", "line\n\nnext"),
        ("\n\n\ntext\n\n\n", "text"),
        # every newline form
        ("a\r\nb\rc\u2028d\u2029e\x85f\x0bg\x0ch", "a\nb\nc\nd\ne\nf\ng\nh"),
        # zero-width characters, BOM, soft hyphen, bidi controls, C0/C1 controls vanish
        ("\ufeff湖\u200b北\u200c省\u200d\u2060", "湖北省"),
        ("soft\u00adhyphen", "softhyphen"),
        ("\u202e反转\u202c文字", "反转文字"),
        ("a\x00b\x07c\x1bd\x7fe\x9ff", "abcdef"),
        # other Unicode spaces
        ("a\u00a0b\u2003c\u202fd", "a b c d"),
        # emoji survive untouched
        ("点赞👍🏻😀", "点赞👍🏻😀"),
        ("", ""),
        (" \t\n\r\n\u3000\u200b ", ""),
    ],
)
def test_normalize_text_table(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_lone_surrogates_are_removed_so_text_can_be_stored_as_utf8() -> None:
    out = normalize_text("政\ud800策\udfff")
    assert out == "政策"
    out.encode("utf-8")


def test_long_lines_are_handled_quickly_and_intact() -> None:
    line = "人工智能,产业发展(试点)。" * 1000  # ~13k characters on one line
    out = normalize_text(line + "\n" + "x" * 10_000)
    first, second = out.split("\n")
    assert first == "人工智能，产业发展（试点）。" * 1000
    assert second == "x" * 10_000


_HOSTILE = [
    "",
    "   ",
    "\n\n\n",
    "\t\r\n\u3000",
    "中文,;:?!()（）“”  \t\n\r\u3000ＡＢ１a1\u200b\ufeff\x00\x85\u2028😀。，-",
    "((一))(二)(3)",
    "中, ,文",
    "中!!”",
    "中(a)(b)文",
    ":,;开头",
    "x" * 10_000,
    "中" * 10_000,
    "\u202e\u200f\u200e",
    "👨\u200d👩\u200d👧",
]


@pytest.mark.parametrize("raw", _HOSTILE)
def test_normalize_is_idempotent_on_hostile_inputs(raw: str) -> None:
    once = normalize_text(raw)
    assert normalize_text(once) == once
    assert "\r" not in once and "\u200b" not in once and "\ufeff" not in once
    assert once == once.strip()
    assert "\n\n\n" not in once


def test_normalize_is_idempotent_on_random_mixtures() -> None:
    alphabet = list("中文人政府,;:?!()（）“”，。；： \t\n\r\u3000ＡＢ１a1\u200b\ufeff\x00\x85\u2028😀-、")
    rng = random.Random(20250101)
    for _ in range(5000):
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        once = normalize_text(raw)
        assert normalize_text(once) == once, repr(raw)
