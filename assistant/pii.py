"""Detect and mask personal data (身份证号, 手机号, bank cards, e-mail) in free text.

Citizens paste their ID and phone numbers into the chat all the time. The text that reaches the LLM, the
logs and the audit trail must carry a masked form that still gives a human a hint
(``4201**********1234``, ``138****5678``), never the number itself.

Numbers are found as *runs*: groups of digits joined by single spaces or hyphens
(``420102 19900101 123X``, ``138-1234-5678``). Only whole groups are combined, never part of one, so a
digit string inside a longer number, date or 事项编码 is never taken for PII. Every candidate is
validated (GB 11643 checksum and birth date, Luhn, mobile prefixes) so ordinary numbers stay readable.
All functions are pure.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum


class PIIKind(StrEnum):
    """The kinds of personal data the masker knows; values are stable strings for logs and JSON."""

    ID_NUMBER = "id_number"
    PHONE = "phone"
    BANK_CARD = "bank_card"
    EMAIL = "email"


@dataclass(frozen=True)
class PIIFinding:
    """One piece of personal data; ``start``/``end`` index the *original* text."""

    kind: PIIKind
    start: int
    end: int


@dataclass(frozen=True)
class MaskResult:
    """The masked text and what was masked (in order of appearance)."""

    text: str
    findings: tuple[PIIFinding, ...]

    @property
    def kinds(self) -> tuple[PIIKind, ...]:
        """Distinct kinds found, in order of first appearance."""
        return tuple(dict.fromkeys(f.kind for f in self.findings))


# Full-width ASCII, ideographic/no-break spaces and dash variants map one-to-one onto ASCII, so offsets in
# the normalised text are offsets in the original.
_WIDTH_TABLE: dict[int, int] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_WIDTH_TABLE.update({0x3000: 0x20, 0x00A0: 0x20, 0x2212: 0x2D, 0xFE63: 0x2D})
_WIDTH_TABLE.update({cp: 0x2D for cp in range(0x2010, 0x2016)})

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# First two digits of a resident ID: province-level division codes (81-83: HK, Macao, Taiwan residents).
_PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42"}
    | {"43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"}
    | {"83"}
)
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# Major-industry digits of payment cards (3 Amex/JCB, 4 Visa, 5 Mastercard, 6 UnionPay, 9 legacy domestic
# cards such as 9558). Excluding 0-2, 7, 8 keeps timestamps and 办件流水号 like 2024… from being masked.
_CARD_FIRST_DIGITS = frozenset("34569")
_MAX_DIGITS = 19
_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")

_GROUP = r"[0-9]+(?:[Xx](?![A-Za-z0-9]))?"
# A run of digit groups joined by single spaces/hyphens, not glued to letters, digits or decimals.
_RUN = re.compile(rf"(?<![A-Za-z0-9])(?<![0-9][ .,\-]){_GROUP}(?:[ \-]{_GROUP})*")
_GROUP_RE = re.compile(_GROUP)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@"
    r"[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
)

_PRIORITY = {PIIKind.EMAIL: 0, PIIKind.ID_NUMBER: 1, PIIKind.BANK_CARD: 2, PIIKind.PHONE: 3}


def normalize_width(text: str) -> str:
    """Map full-width ASCII, special spaces and dashes to ASCII, keeping every offset unchanged."""
    return text.translate(_WIDTH_TABLE)


def _compact(s: str) -> str:
    return normalize_width(s).replace(" ", "").replace("-", "")


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return 1900 <= year <= 2100


def _id18_ok(d: str) -> bool:
    if len(d) != 18 or not d[:17].isascii() or not d[:17].isdigit():
        return False
    last = d[17].upper()
    if not (last.isdigit() or last == "X") or d[:2] not in _PROVINCES:
        return False
    if not _valid_date(int(d[6:10]), int(d[10:12]), int(d[12:14])):
        return False
    total = sum(int(c) * w for c, w in zip(d[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == last


def _id15_ok(d: str) -> bool:
    """First-generation 15-digit IDs (no checksum): province code plus a real 19YYMMDD birth date."""
    if len(d) != 15 or not d.isascii() or not d.isdigit() or d[:2] not in _PROVINCES:
        return False
    return _valid_date(1900 + int(d[6:8]), int(d[8:10]), int(d[10:12]))


def validate_id_number(s: str) -> bool:
    """True for a valid 18-character resident ID number (GB 11643).

    Checks the province code, the birth date and the check character. Spaces, hyphens and full-width
    characters are tolerated, as citizens type them. 15-digit first-generation numbers are not accepted here
    (those cards stopped being valid in 2013) although the masker still hides them.
    """
    return _id18_ok(_compact(s))


def luhn_ok(s: str) -> bool:
    """True when ``s`` (digits, optionally with spaces/hyphens) passes the Luhn check used by bank cards."""
    return _luhn_digits(_compact(s))


def _luhn_digits(d: str) -> bool:
    if len(d) < 2 or not d.isascii() or not d.isdigit():
        return False
    rev = d[::-1]
    # Every second digit from the right is doubled, minus 9 when above 9: 0-9 -> 0 2 4 6 8 1 3 5 7 9.
    return (sum(map(int, rev[0::2])) + sum(map(int, rev[1::2].translate(_LUHN_DOUBLED)))) % 10 == 0


def _classify(digits: str) -> PIIKind | None:
    """Kind of a joined digit string (X allowed only as an ID's last character), or None."""
    if _id18_ok(digits) or _id15_ok(digits):
        return PIIKind.ID_NUMBER
    if not digits.isdigit():
        return None
    if 13 <= len(digits) <= 19 and digits[0] in _CARD_FIRST_DIGITS and _luhn_digits(digits):
        return PIIKind.BANK_CARD
    if _national_phone(digits) is not None:
        return PIIKind.PHONE
    return None


def _plausible_lengths(first2: str) -> frozenset[int]:
    """Digit counts a number starting with ``first2`` can have as some kind of PII (cheap pre-filter)."""
    lengths: set[int] = set()
    if first2 in _PROVINCES:
        lengths.update((15, 18))
    if first2[0] in _CARD_FIRST_DIGITS:
        lengths.update(range(13, _MAX_DIGITS + 1))
    if first2[0] == "1" and first2[1] in "3456789":
        lengths.add(11)
    elif first2 == "86":
        lengths.add(13)
    elif first2 == "00":
        lengths.add(15)
    return frozenset(lengths)


def _national_phone(digits: str) -> str | None:
    """The 11-digit mobile number in ``digits`` (bare, ``86…`` or ``0086…``), else None."""
    for prefix in ("", "86", "0086"):
        rest = digits[len(prefix) :]
        if digits.startswith(prefix) and len(rest) == 11 and _MOBILE.fullmatch(rest):
            return rest
    return None


@dataclass(frozen=True)
class _Candidate:
    kind: PIIKind
    start: int
    end: int
    value: str

    @property
    def rank(self) -> tuple[int, int, int]:
        return (-(self.end - self.start), _PRIORITY[self.kind], self.start)


def _run_candidates(norm: str, run_start: int, run_end: int) -> list[_Candidate]:
    if run_end < len(norm) and (norm[run_end].isascii() and norm[run_end].isalpha()):
        return []  # glued to a code such as 123456ABC
    if run_end + 1 < len(norm) and norm[run_end] in ".," and norm[run_end + 1].isdigit():
        return []  # the integer part of a decimal or a thousands-separated amount
    groups = [(m.start(), m.end()) for m in _GROUP_RE.finditer(norm, run_start, run_end)]
    texts = [norm[a:b] for a, b in groups]
    found: list[_Candidate] = []
    for i, (g_start, _) in enumerate(groups):
        digits = ""
        lengths: frozenset[int] | None = None
        for j in range(i, len(groups)):
            if digits and not digits[-1].isdigit():
                break  # an X may only close a number
            digits += texts[j]
            if len(digits) > _MAX_DIGITS:
                break
            if lengths is None and len(digits) >= 2:
                lengths = _plausible_lengths(digits[:2])
                if not lengths:
                    break  # no kind starts like this: skip the start (keeps long digit lists linear)
            kind = _classify(digits) if lengths is not None and len(digits) in lengths else None
            if kind is not None:
                start = g_start
                if kind is PIIKind.PHONE and len(digits) > 11 and start > 0 and norm[start - 1] == "+":
                    start -= 1
                found.append(_Candidate(kind, start, groups[j][1], digits))
    return found


def _select(cands: list[_Candidate]) -> list[_Candidate]:
    """Longest first, then by kind priority; drop anything overlapping an already chosen span."""
    starts: list[int] = []  # chosen spans never overlap, so sorted starts also sort their ends
    chosen: list[_Candidate] = []
    for c in sorted(cands, key=lambda c: c.rank):
        i = bisect.bisect_right(starts, c.start)
        if (i > 0 and chosen[i - 1].end > c.start) or (i < len(chosen) and chosen[i].start < c.end):
            continue
        starts.insert(i, c.start)
        chosen.insert(i, c)
    return chosen


def _candidates(text: str) -> list[_Candidate]:
    norm = normalize_width(text)
    cands = [_Candidate(PIIKind.EMAIL, m.start(), m.end(), m.group()) for m in _EMAIL.finditer(norm)]
    for m in _RUN.finditer(norm):
        cands.extend(_run_candidates(norm, m.start(), m.end()))
    return _select(cands)


def _masked(c: _Candidate) -> str:
    d = c.value
    if c.kind is PIIKind.ID_NUMBER:
        return d[:4] + "*" * (len(d) - 8) + d[-4:].upper()
    if c.kind is PIIKind.BANK_CARD:
        return "*" * (len(d) - 4) + d[-4:]
    if c.kind is PIIKind.PHONE:
        national = _national_phone(d) or d
        prefix = "+86 " if len(d) > 11 else ""
        return f"{prefix}{national[:3]}****{national[-4:]}"
    local, _, domain = d.partition("@")
    return f"{local[0]}***@{domain}"


def find_pii(text: str) -> tuple[PIIFinding, ...]:
    """Every piece of personal data in ``text``, non-overlapping, in order of appearance."""
    return tuple(PIIFinding(c.kind, c.start, c.end) for c in _candidates(text))


def mask_pii(text: str) -> MaskResult:
    """Replace personal data with masked forms that keep a short hint for humans.

    Text outside the findings is returned unchanged (full-width characters included).
    """
    cands = _candidates(text)
    if not cands:
        return MaskResult(text, ())
    parts: list[str] = []
    pos = 0
    for c in cands:
        parts.append(text[pos : c.start])
        parts.append(_masked(c))
        pos = c.end
    parts.append(text[pos:])
    return MaskResult("".join(parts), tuple(PIIFinding(c.kind, c.start, c.end) for c in cands))
