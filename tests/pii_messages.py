"""Generated citizen messages carrying personal data written every way the masker must still see.

Each message carries one to three values (valid-checksum 身份证号, mobile numbers, Luhn-valid bank cards)
rendered with one of the tricks below, inside ordinary Chinese sentences. ``leaks`` finds any raw value in
any text (a database dump, a log, an LLM request), whatever form it was stored in: the text is folded and
squeezed to letters and digits first, so ``①③⑧…`` or ``138\u200b1234…`` count as the raw value too.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from assistant.pii_fold import fold_text
from evals.fake_pii import make_card_number, make_id_number

_ZERO_WIDTH = ("\u200b", "\u200d", "\u2060", "\u00ad", "\ufeff")
_CIRCLED = "⓪①②③④⑤⑥⑦⑧⑨"
_FULL = "０１２３４５６７８９"
_REGIONS = ("420102", "420106", "420111", "110105", "310101", "440305", "510107", "421002")
_CARD_PREFIXES = ("622202", "622848", "621700", "436742", "955880", "625965")


def _groups(value: str, sizes: tuple[int, ...]) -> list[str]:
    out, i = [], 0
    for size in sizes:
        if i < len(value):
            out.append(value[i : i + size])
            i += size
    if i < len(value):
        out.append(value[i:])
    return out


def _sizes(value: str) -> tuple[int, ...]:
    return {11: (3, 4, 4), 18: (6, 8, 4)}.get(len(value), (4, 4, 4, 4, 4))


def _joined(sep: str) -> Callable[[str, random.Random], str]:
    return lambda v, _r: sep.join(_groups(v, _sizes(v)))


def _every_digit(sep: str) -> Callable[[str, random.Random], str]:
    return lambda v, _r: sep.join(v)


def _digits(table: str | Callable[[int], str]) -> Callable[[str, random.Random], str]:
    def render(v: str, _r: random.Random) -> str:
        out = []
        for c in v:
            d = int(c) if c.isdigit() else None
            out.append(c if d is None else (table[d] if isinstance(table, str) else table(d)))
        return "".join(out)

    return render


def _mixed(v: str, r: random.Random) -> str:
    """Circled, bold and full-width digits, zero-width characters and separators all in one value."""
    forms = (lambda d: _CIRCLED[d], lambda d: chr(0x1D7CE + d), lambda d: _FULL[d], str)
    out = []
    for c in v:
        out.append(r.choice(forms)(int(c)) if c.isdigit() else c)
        if r.random() < 0.3:
            out.append(r.choice((*_ZERO_WIDTH, " ", "  ")))
    return "".join(out).strip()


TRICKS: dict[str, Callable[[str, random.Random], str]] = {
    "plain": lambda v, _r: v,
    "spaces": _joined(" "),
    "double_spaces": _joined("  "),
    "hyphens": _joined("-"),
    "dots": _joined("."),
    "slashes": _joined("/"),
    "fullwidth_commas": _joined("，"),
    "ideographic_commas": _joined("、"),
    "newlines": _joined("\n"),
    "crlf": _joined("\r\n"),
    "tabs": _joined("\t"),
    "spaced_hyphens": _joined(" - "),
    "ideographic_space": _joined("\u3000"),
    **{f"zero_width_{ord(z):04x}": _every_digit(z) for z in _ZERO_WIDTH},
    "circled": _digits(_CIRCLED),
    "math_bold": _digits(lambda d: chr(0x1D7CE + d)),
    "math_double_struck": _digits(lambda d: chr(0x1D7D8 + d)),
    "fullwidth": _digits(_FULL),
    "dingbat": _digits(lambda d: "⓪❶❷❸❹❺❻❼❽❾"[d]),
    "keycap": _digits(lambda d: f"{d}\ufe0f\u20e3"),
    "mixed": _mixed,
}

_TEMPLATES = (
    "我的身份证号是{id}，帮我查一下退休手续怎么办",
    "生孩子上户口要带什么材料？我电话{phone}",
    "社保卡{card}怎么激活，联系电话{phone}",
    "帮我办退休，身份证 {id} 手机 {phone}",
    "开饭馆要办哪些证？有事打{phone}找我",
    "我的银行卡号{card}，补贴能打到这张卡上吗",
    "身份证：{id}\n电话：{phone}\n卡号：{card}\n请问企业注销要多久",
    "{phone}",
    "请回电{phone}，我想问二手房过户",
    "老人身份证{id}办残疾证需要什么",
)


@dataclass(frozen=True)
class PIIMessage:
    text: str
    raw: tuple[str, ...]  # the values as compact ASCII: none may ever be stored, logged or sent
    trick: str


def make_values(r: random.Random, n: int) -> tuple[str, str, str]:
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=r.randrange(365 * 55))
    id_number = make_id_number(r.choice(_REGIONS), birth, r.randrange(1000))
    phone = f"1{r.choice('3456789')}{r.randrange(10**9):09d}"
    card = make_card_number(r.choice(_CARD_PREFIXES), r.choice((16, 19)), n * 7919 + r.randrange(10**6))
    return id_number, phone, card


def generate(n: int, seed: int = 9) -> list[PIIMessage]:
    """``n`` messages cycling through every trick (each trick used about equally often)."""
    r = random.Random(seed)
    names = list(TRICKS)
    out = []
    for i in range(n):
        trick = names[i % len(names)]
        id_number, phone, card = make_values(r, i)
        template = _TEMPLATES[(i // len(names)) % len(_TEMPLATES)]
        values = {"id": id_number, "phone": phone, "card": card}
        used = tuple(v for k, v in values.items() if "{" + k + "}" in template)
        text = template.format(**{k: TRICKS[trick](v, r) for k, v in values.items()})
        out.append(PIIMessage(text, used, trick))
    return out


_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


_NOT_WORD = re.compile(r"[\W_]+")


def squeeze(text: str) -> str:
    """Letters (of any script) and digits only, folded and upper-cased (JSON ``\\uXXXX`` escapes decoded
    first): separators and invisible characters between digits vanish, words still keep numbers apart."""
    text = _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return _NOT_WORD.sub("", fold_text(text).upper())


def leaks(texts: Iterable[str], raw_values: Iterable[str]) -> list[str]:
    """The raw values found in any of ``texts`` (each text checked on its own)."""
    wanted = {v.upper() for v in raw_values}
    found: set[str] = set()
    for text in texts:
        squeezed = squeeze(text)
        found |= {v for v in wanted if v in squeezed}
    return sorted(found)


def dump_values(value: object) -> Iterable[str]:
    """Every string inside a row value (JSON columns included), for ``leaks``."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("utf-8", "ignore")
    elif isinstance(value, dict | list | tuple):
        yield json.dumps(value, ensure_ascii=False)
