"""Pure rule parsers for slot values in citizens' free text: yes/no, numbers, dates, choices.

These run when no LLM is configured and whenever the LLM's output fails validation, so they must
be predictable: each returns ``None`` rather than guessing when the text is ambiguous.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, timedelta

from connectors.types import Choice

MAX_INPUT = 500
_PUNCT = re.compile(r"[\s,.!?;:~、，。！？；：…~·\"'“”‘’()（）\[\]【】<>《》-]+")

_ZH_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = {"万": 10_000, "亿": 100_000_000}
_ZH_NUM = "[零〇一二两三四五六七八九十百千万亿]"


def normalise(text: str) -> str:
    """NFKC (full-width → half-width), lower case, trimmed and capped; hostile lengths are cut."""
    return unicodedata.normalize("NFKC", text or "")[:MAX_INPUT].strip().lower()


def compact(text: str) -> str:
    """``normalise`` plus all whitespace and punctuation removed."""
    return _PUNCT.sub("", normalise(text))


# ---------------------------------------------------------------- intent-like markers


_QUESTION_WORDS = re.compile(
    r"怎么|怎样|什么|哪里|哪儿|哪个|哪些|哪家|如何|为什么|为啥|多少|多久|多长|几天|几个|能否|能不能|"
    r"可不可以|可否|是否|要不要|需不需要|有没有|是不是|对不对|咋|啥"
)
_CANCEL = re.compile(
    r"^(那|那就|还是|先|我要|我想)?(取消|算了|退出|放弃|不办了|不想办|结束办理|停止办理|先不办)|^我(不办|不想办)"
)
_CORRECTION = re.compile(r"不对|不是|错了|说错|写错|选错|更正|改成|改为|应该是|其实是|搞错|纠正|改一下")
_SKIP = re.compile(r"^(跳过|略过|不知道|不清楚|不确定|没有|无|暂无|不填)$")


def is_question(text: str) -> bool:
    """True when the message reads as a question (ends with ？/吗/呢 or contains an interrogative)."""
    t = normalise(text)
    if not t:
        return False
    if t.endswith("?") or re.search(r"(吗|呢|么)[!.。~\s]*$", t):
        return True
    return bool(_QUESTION_WORDS.search(t))


def is_cancel(text: str) -> bool:
    return bool(_CANCEL.search(compact(text)))


def has_correction_marker(text: str) -> bool:
    return bool(_CORRECTION.search(compact(text)))


def is_skip(text: str) -> bool:
    return bool(_SKIP.match(compact(text)))


# ---------------------------------------------------------------- yes / no

_UNSURE = ("不知道", "不清楚", "不确定", "不记得", "说不准", "不好说", "忘了", "不太清楚")
_YES_DESPITE_NEGATION = ("没错", "没问题", "不错", "无误")
_FILLERS = re.compile(r"^(嗯+|哦+|呃+|啊+|额+|唔+|emm+)(?=.)")
_NEG_TOKENS = re.compile(r"不|没|无|未|否|非|别|\bno\b|\bnope\b|^n$")
_POS_TOKENS = re.compile(
    r"是|对|有|嗯|恩|好|要|可以|行|已|办了|办过|在|同意|确认|确定|当然|肯定|\byes\b|\byep\b|^y$|\bok\b|\bokay\b"
)


def parse_yesno(text: str) -> bool | None:
    """是/对/有/嗯 → True, 不是/没有/否 → False; questions and "不知道" → None. Earliest marker wins."""
    t = normalise(text)
    if not t or is_question(t):
        return None
    t = _PUNCT.sub(" ", t).strip()
    if any(u in t for u in _UNSURE):
        return None
    if any(p in t for p in _YES_DESPITE_NEGATION):
        return True
    t = _FILLERS.sub("", t).strip()
    neg = _NEG_TOKENS.search(t)
    pos = _POS_TOKENS.search(t)
    if neg and (not pos or neg.start() <= pos.start()):
        return False
    if pos:
        return True
    return None


# ---------------------------------------------------------------- numbers


def chinese_to_number(s: str) -> int | None:
    """Chinese numerals to int: 十二, 二十三, 一百零五, 两万五 (colloquial 25000), 二〇二四 (digit by digit)."""
    if not s or any(ch not in _ZH_DIGITS and ch not in _ZH_UNITS and ch not in _ZH_BIG for ch in s):
        return None
    if all(ch in _ZH_DIGITS for ch in s):
        return int("".join(str(_ZH_DIGITS[ch]) for ch in s)) if len(s) > 1 else _ZH_DIGITS[s]
    total = section = number = 0
    last_unit = 0
    after_zero = False
    for ch in s:
        if ch in _ZH_DIGITS:
            number = _ZH_DIGITS[ch]
            after_zero = after_zero or ch in "零〇"
        elif ch in _ZH_UNITS:
            unit = _ZH_UNITS[ch]
            section += (number or (1 if unit == 10 else 0)) * unit
            number, last_unit, after_zero = 0, unit, False
        else:
            big = _ZH_BIG[ch]
            total += (section + number) * big
            section = number = 0
            last_unit, after_zero = big, False
    if number and last_unit >= 100 and not after_zero:
        number *= last_unit // 10  # 一百五 = 150, 两万五 = 25000
    return total + section + number


_NUMBER = re.compile(
    r"(-|负)?(\d{1,15}(?:,\d{3})*(?:\.\d+)?)(万|千)?|(" + _ZH_NUM + r"+(?:点[零〇一二三四五六七八九]+)?)"
)


def parse_number(text: str) -> int | float | None:
    """The first number in the text, Arabic or Chinese (3, 1,200, 1.5万, 三, 二十五, 三点五)."""
    t = normalise(text)
    for m in _NUMBER.finditer(t):
        if m.group(2):
            value: float = float(m.group(2).replace(",", ""))
            value *= {"万": 10_000, "千": 1000}.get(m.group(3) or "", 1)
            if m.group(1):
                value = -value
        else:
            whole, _, frac = m.group(4).partition("点")
            n = chinese_to_number(whole)
            if n is None:
                continue
            value = float(n)
            if frac:
                value += float("0." + "".join(str(_ZH_DIGITS[c]) for c in frac))
        return int(value) if value.is_integer() else value
    return None


# ---------------------------------------------------------------- dates


def add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month + 1, day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def _zh_to_digits(t: str) -> str:
    """Chinese numerals right before 年/月/日/号/天/周/个/年前 become Arabic digits (三月五号 → 3月5号)."""
    return re.sub(
        _ZH_NUM + r"+(?=年|月|日|号|天|周|个|星期)",
        lambda m: (
            str(chinese_to_number(m.group(0))) if chinese_to_number(m.group(0)) is not None else m.group(0)
        ),
        t,
    )


def _mk(y: int, m: int, d: int) -> date | None:
    if not 1900 <= y <= 2100:
        return None
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _year(y: str, today: date) -> int:
    n = int(y)
    if len(y) == 2:
        return 2000 + n if n <= today.year % 100 else 1900 + n
    return n


_REL_YEAR = {"今年": 0, "去年": -1, "前年": -2, "明年": 1}
_REL_DAY = {"今天": 0, "今日": 0, "昨天": -1, "昨日": -1, "前天": -2, "大前天": -3, "明天": 1, "后天": 2}


def parse_date(text: str, today: date, *, prefer_past: bool = True) -> date | None:
    """A calendar date from free text, relative expressions resolved against ``today``.

    Month-precision expressions (2024年3月, 去年三月, 上个月) give the 1st of the month. With
    ``prefer_past``, a bare 月日 later than today means last year's.
    """
    t = _zh_to_digits(normalise(text)).replace(" ", "")
    if not t:
        return None
    if m := re.search(r"(?<!\d)(\d{4}|\d{2})[-/.年](\d{1,2})[-/.月](\d{1,2})(?!\d)", t):
        return _mk(_year(m.group(1), today), int(m.group(2)), int(m.group(3)))
    if m := re.search(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)", t):
        return _mk(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := re.search(r"(?<!\d)(\d{4})年(\d{1,2})月", t):
        return _mk(int(m.group(1)), int(m.group(2)), 1)
    if m := re.search(r"(今年|去年|前年|明年)(\d{1,2})月(?:(\d{1,2})[日号])?", t):
        return _mk(today.year + _REL_YEAR[m.group(1)], int(m.group(2)), int(m.group(3) or 1))
    if m := re.search(r"(上个?月|这个?月|本月|下个?月)(?:(\d{1,2})[日号])?", t):
        shift = -1 if m.group(1).startswith("上") else (1 if m.group(1).startswith("下") else 0)
        base = add_months(today.replace(day=1), shift)
        return _mk(base.year, base.month, int(m.group(2) or 1))
    if m := re.search(r"(?<![\d年])(\d{1,2})月(\d{1,2})[日号]?", t):
        d = _mk(today.year, int(m.group(1)), int(m.group(2)))
        if d and prefer_past and d > today:
            d = _mk(today.year - 1, d.month, d.day)
        return d
    if m := re.search(r"(\d{1,4})(天|日|周|个?星期|个?礼拜|个?月|年)(?:以前|之前|前)", t):
        n, unit = int(m.group(1)), m.group(2)
        if unit in ("天", "日"):
            return today - timedelta(days=n) if n <= 36500 else None
        if unit.endswith(("周", "星期", "礼拜")):
            return today - timedelta(weeks=n) if n <= 5200 else None
        return add_months(today, -n if unit.endswith("月") else -12 * n) if n <= 1200 else None
    if re.search(r"上(个)?(周|星期|礼拜)", t):
        return today - timedelta(days=7)
    for word in sorted(_REL_DAY, key=len, reverse=True):
        if word in t:
            return today + timedelta(days=_REL_DAY[word])
    return None


# ---------------------------------------------------------------- choices

_BY_NUMBER = re.compile(
    r"^(?:我选|选择|选|第|选第)?(\d{1,2}|[一二两三四五六七八九十]{1,2})(?:个|项|种|号|条|项吧)?$"
)
_CHOICE_NEGATIONS = ("不是", "并非", "不属于", "而非", "不")


def parse_choice(text: str, choices: Sequence[Choice]) -> str | None:
    """The chosen option's value: by number (选2 / 第二个), by label or by synonym; None when ambiguous."""
    t = compact(text)
    if not t or not choices:
        return None
    if m := _BY_NUMBER.match(t):
        raw = m.group(1)
        n = int(raw) if raw.isdigit() else chinese_to_number(raw)
        if n is not None and 1 <= n <= len(choices):
            return choices[n - 1].value
        return None
    aliases: dict[str, str] = {}
    for c in choices:
        for alias in (c.label, *c.synonyms):
            key = compact(alias)
            if key:
                aliases.setdefault(key, c.value)
    if t in {c.value for c in choices}:
        return t
    longest = max(len(a) for a in aliases)
    found: list[str] = []
    i = 0
    while i < len(t):
        for length in range(min(longest, len(t) - i), 0, -1):
            value = aliases.get(t[i : i + length])
            if value is not None:
                if not t[max(0, i - 3) : i].endswith(_CHOICE_NEGATIONS):
                    found.append(value)
                i += length
                break
        else:
            i += 1
    distinct = set(found)
    return found[0] if len(distinct) == 1 else None
