"""The direct answer: which kind of thing is asked, and the source sentences that say it (pure).

An answer starts with one or two sentences quoted verbatim from the best passage, chosen by what the
question asks: 几/多少/多久 wants a sentence with a figure, 哪些/什么 a list item, 谁/哪个部门 a
department, 能不能/是否 a condition or exception. A question that asks for a figure the chosen text
does not give is told so plainly instead of being answered with an unrelated field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# What the question asks for, in order: the first kind whose cue is present wins.
KIND_CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("amount", ("多少钱", "好多钱", "几多钱", "金额", "能拿多少", "能领多少", "补多少", "发多少", "贷多少",
                "交多少", "多少元", "利率", "税率", "标准是多少")),
    ("duration", ("多久", "多长时间", "几天", "几个工作日", "多少天", "几个月", "几个钟头", "几小时", "时限",
                  "多少个工作日")),
    ("number", ("多少", "几个", "几项", "几条", "几次", "几批", "几趟", "几年", "好多", "多大", "第几")),
    ("who", ("哪个部门", "哪些部门", "哪个单位", "哪些单位", "谁负责", "谁管", "哪个局", "牵头", "归哪", "谁发",
             "哪家", "部门")),
    ("yesno", ("能不能", "可不可以", "可以吗", "能吗", "是否", "行不行", "能否", "会不会", "要不要", "是不是",
               "还能", "有没有")),
    ("list", ("哪些", "什么", "啥", "哪几")),
    ("yesno", ("吗", "不")),
)  # fmt: skip

_FIGURE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:个)?(?:工作日|日|天|小时|个月|月|年|周岁|岁|次|份|元|万元|亿元|%|项|个|家|条|批)"
    r"|[一二三四五六七八九十百千万两]+(?:个)?(?:工作日|日|天|小时|个月|年|周岁|次|份|元|项|条|批)"
)
_MONEY = re.compile(r"\d[\d.,]*\s*(?:元|万元|亿元|%)|[一二三四五六七八九十百千万两]+(?:元|万元)")
_FREE = re.compile(r"免费|不收费|不收取|不另收|无需缴费")
_FEE_CUES = ("收费", "费用", "要钱", "交钱", "花钱", "交多少", "缴费")
_DURATION = re.compile(
    r"\d+(?:\.\d+)?\s*(?:个)?(?:工作日|日|天|小时|个月|年)|[一二三四五六七八九十两]+(?:个)?(?:工作日|日|天|小时|个月|年)|即办|当场|当天"
)
_DEPARTMENT = re.compile(r"部门|局|厅|委|办公厅|中心|机关|机构|残联|银行|政府|派出所|法院|公司")
_CONDITION = re.compile(r"可以|可|不能|不得|不予|须|应当|需|除外|但|如|符合|满足|前提|只要|视为")
_SENTENCE = re.compile(r"[^。！？；\n]+[。！？；]?")
_BULLET = re.compile(r"^\s*(?:\d{1,2}[.、)）]|-)\s*")
_LIST_ITEM = re.compile(r"^\s*(?:\d{1,2}[.、)）]|-|（[一二三四五六七八九十]+）)\s*")

# Figures the sources may simply not hold: said plainly, never guessed.
NOT_IN_SOURCES = "知识库中没有查到{what}，请以当地{where}公布的为准。"


def question_kind(question: str) -> str:
    """``amount`` / ``duration`` / ``number`` / ``who`` / ``yesno`` / ``list``, or ``""`` (an overview)."""
    q = question.lower()
    for kind, cues in KIND_CUES:
        if any(c in q for c in cues):
            return kind
    return ""


def has_figure(text: str, kind: str) -> bool:
    """Whether ``text`` holds the kind of figure asked for (an amount, a duration, any count)."""
    if kind == "amount":
        return bool(_MONEY.search(text))
    if kind == "duration":
        return bool(_DURATION.search(text))
    return bool(_FIGURE.search(text))


def kind_bonus(sentence: str, kind: str) -> float:
    """How well a sentence's form fits what is asked (added to its topic-term coverage)."""
    if kind in ("amount", "duration", "number"):
        return 0.5 if has_figure(sentence, kind) else 0.0
    if kind == "who":
        return 0.4 if _DEPARTMENT.search(sentence) else 0.0
    if kind == "yesno":
        return 0.25 if _CONDITION.search(sentence) else 0.0
    if kind == "list":
        return 0.15 if _LIST_ITEM.match(sentence) or "、" in sentence else 0.0
    return 0.0


def sentences(text: str) -> list[str]:
    """Sentences and list items of a passage, verbatim (list markers kept)."""
    out: list[str] = []
    for line in text.splitlines():
        if _BULLET.match(line) and len(line) < 120:
            out.append(line.strip())
            continue
        out += [m.group(0).strip() for m in _SENTENCE.finditer(line) if m.group(0).strip()]
    return [s for s in out if len(s) >= 4]


@dataclass(frozen=True)
class Pick:
    score: float
    sentence: str


def best_sentences(
    text: str,
    question: str,
    term_groups: Sequence[Sequence[str]],
    coverage: Callable[[Sequence[Sequence[str]], str], float],
    n: int = 2,
) -> list[Pick]:
    """The ``n`` sentences of ``text`` that best answer ``question``, in reading order."""
    kind = question_kind(question)
    scored = [
        (coverage(term_groups, s) + kind_bonus(s, kind), i, s)
        for i, s in enumerate(sentences(text))
        if not s.startswith("问：")
    ]
    top = sorted(scored, key=lambda t: -t[0])[:n]
    if kind == "list" and top and _LIST_ITEM.match(top[0][2]):
        # A list is answered by the items, not by the one item that shares a word with the question.
        items = [(sc, i, s) for sc, i, s in scored if _LIST_ITEM.match(s)]
        top = items[: max(n, 4)]
    top.sort(key=lambda t: t[1])
    return [Pick(sc, s.removeprefix("答：")) for sc, _, s in top]


def missing_figure(question: str, quoted: str) -> str | None:
    """The honest sentence when the question asks for an amount or a time limit that ``quoted`` lacks."""
    kind = question_kind(question)
    if kind not in ("amount", "duration") or has_figure(quoted, kind):
        return None
    if kind == "amount" and any(c in question for c in _FEE_CUES) and _FREE.search(quoted):
        return None  # "what does it cost" is answered by "free"; "how much can I get" is not
    what = "具体数额" if kind == "amount" else "具体时限"
    where = "主管部门" if kind == "amount" else "办事指南"
    return NOT_IN_SOURCES.format(what=what, where=where)


# --- document facts from the registry ------------------------------------------------------------
META_CUES: dict[str, tuple[str, ...]] = {
    "signed": ("印发", "成文", "签发", "哪天发", "什么时候发", "哪年发", "出台", "制定"),
    "published": ("发布", "公布", "公开", "对外"),
    "doc_number": ("文号", "发文字号", "几号文"),
    "issuer": ("发文机关", "哪个单位发", "哪个部门发", "谁发", "谁印发", "谁出台", "发的单位", "哪里发"),
    "status": ("有效", "废止", "失效", "过期", "还管用", "作废", "修订"),
}
META_LABELS = {"signed": "成文日期", "published": "发布日期", "doc_number": "文号", "issuer": "发文机关",
               "status": "状态"}  # fmt: skip
_WHEN = ("哪天", "哪一天", "什么时候", "日期", "时间", "哪年", "几号", "几月")


def asked_metadata(question: str) -> list[str]:
    """Document facts the question asks for (成文日期, 发布日期, 文号, 发文机关, status)."""
    q = question.lower()
    asked = [k for k, cues in META_CUES.items() if any(c in q for c in cues)]
    if "issuer" in asked:
        asked = [k for k in asked if k != "published" or any(w in q for w in _WHEN)]
    if any(k in asked for k in ("signed", "published")) and not any(w in q for w in _WHEN):
        asked = [k for k in asked if k not in ("signed", "published")]
    if "signed" in asked and "published" in asked:
        asked.remove("signed" if "发布" in q or "公布" in q else "published")
    return asked


def format_date(value: str) -> str:
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", value.strip())
    return f"{m.group(1)}年{int(m.group(2))}月{int(m.group(3))}日" if m else value


def metadata_sentence(title: str, field: str, value: str) -> str:
    """One plain sentence stating a document fact, e.g. 《…》的成文日期是2025年10月13日。"""
    if field in ("signed", "published"):
        value = format_date(value)
    if field == "status":
        return f"《{title}》目前的状态是：{value}。"
    return f"《{title}》的{META_LABELS[field]}是{value}。"


_PROVISION = re.compile(r"^\s*(第[一二三四五六七八九十百零〇]+条|（[一二三四五六七八九十]+）)")


def provision_label(text: str) -> str:
    """The article number a passage starts with (第三条, （六）), or ``""``."""
    m = _PROVISION.match(text)
    return m.group(1) if m else ""
