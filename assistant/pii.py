"""Detect and mask personal data (身份证号, 手机号, bank cards, e-mail) in free text.

Citizens paste their ID and phone numbers into the chat all the time. The text that reaches the LLM, the
logs and the audit trail must carry a masked form that still gives a human a hint
(``4201**********1234``, ``138****5678``), never the number itself.

Detection runs on a *folded* copy of the text (``assistant.pii_fold``: NFKC, circled/bold/full-width
digits to ASCII, invisible format characters dropped, every whitespace a space) and masking replaces the
matching characters of the *original* text, found through the fold's offset map. ``mask_pii`` is the one
function every text that is stored, logged or sent to an LLM goes through.

Numbers are found as *runs*: digit groups joined by separators (any run of spaces or newlines, or one or
two of ``- . / , 、 。 · _`` with optional spaces around them: ``420102 19900101 123X``,
``138.1234.5678``, ``138，1234，5678``). Only whole groups are combined, never part of one, so a digit
string inside a longer number, date or 事项编码 is never taken for PII; the two halves of a decimal
amount (``13812345678.50``) are never taken apart. Every candidate is validated (GB 11643 checksum and
birth date, Luhn, mobile prefixes: ``connectors.checksums``) so ordinary numbers stay readable.
All functions are pure.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from enum import StrEnum

from assistant.pii_fold import Folded, fold
from connectors import checksums


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

# Major-industry digits of payment cards (3 Amex/JCB, 4 Visa, 5 Mastercard, 6 UnionPay, 9 legacy domestic
# cards such as 9558). Excluding 0-2, 7, 8 keeps timestamps and 办件流水号 like 2024… from being masked.
_CARD_FIRST_DIGITS = frozenset("34569")
_MAX_DIGITS = 19

_GROUP = r"[0-9]+(?:[Xx](?![A-Za-z0-9]))?"
_SEP = r"(?: +|(?: *[-./,、。·・_\\] *){1,2})"
# A run of digit groups joined by separators, not glued to letters or digits on the left.
_RUN = re.compile(rf"(?<![A-Za-z0-9]){_GROUP}(?:{_SEP}{_GROUP})*")
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


def validate_id_number(s: str) -> bool:
    """True for a valid 18-character resident ID number (GB 11643).

    Checks the province code, the birth date and the check character. Spaces, hyphens and full-width
    characters are tolerated, as citizens type them. 15-digit first-generation numbers are not accepted here
    (those cards stopped being valid in 2013) although the masker still hides them.
    """
    return checksums.id18_ok(_compact(s))


def luhn_ok(s: str) -> bool:
    """True when ``s`` (digits, optionally with spaces/hyphens) passes the Luhn check used by bank cards."""
    return checksums.luhn_ok(_compact(s))


def _classify(digits: str) -> PIIKind | None:
    """Kind of a joined digit string (X allowed only as an ID's last character), or None."""
    if checksums.id18_ok(digits) or checksums.id15_ok(digits):
        return PIIKind.ID_NUMBER
    if not digits.isdigit():
        return None
    if 13 <= len(digits) <= 19 and digits[0] in _CARD_FIRST_DIGITS and checksums.luhn_ok(digits):
        return PIIKind.BANK_CARD
    if _national_phone(digits) is not None:
        return PIIKind.PHONE
    return None


def _plausible_lengths(first2: str) -> frozenset[int]:
    """Digit counts a number starting with ``first2`` can have as some kind of PII (cheap pre-filter)."""
    lengths: set[int] = set()
    if first2 in checksums.PROVINCES:
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
        if digits.startswith(prefix) and len(rest) == 11 and checksums.mobile_ok(rest):
            return rest
    return None


@dataclass(frozen=True)
class _Candidate:
    kind: PIIKind
    start: int  # offsets in the folded text
    end: int
    value: str

    @property
    def rank(self) -> tuple[int, int, int]:
        return (-(self.end - self.start), _PRIORITY[self.kind], self.start)


def _decimal_joins(norm: str, groups: list[tuple[int, int]]) -> set[int]:
    """Indexes ``i`` where groups ``i`` and ``i + 1`` are the two halves of one decimal number.

    ``13812345678.50``: a single tight ``.`` followed by one or two digits that no further tight ``.``
    continues (``138.1234.5678`` is a dotted phone number, not a decimal).
    """
    tight = [norm[a_end:b_start] == "." for (_, a_end), (b_start, _) in itertools.pairwise(groups)]
    joins: set[int] = set()
    for i, is_dot in enumerate(tight):
        frac_start, frac_end = groups[i + 1]
        if not is_dot or frac_end - frac_start > 2:
            continue
        if (i > 0 and tight[i - 1]) or (i + 1 < len(tight) and tight[i + 1]):
            continue
        joins.add(i)
    return joins


def _run_candidates(norm: str, run_start: int, run_end: int) -> list[_Candidate]:
    groups = [(m.start(), m.end()) for m in _GROUP_RE.finditer(norm, run_start, run_end)]
    if run_end < len(norm) and norm[run_end].isascii() and norm[run_end].isalpha():
        groups.pop()  # the last group is glued to a code such as 123456ABC
    texts = [norm[a:b] for a, b in groups]
    decimals = _decimal_joins(norm, groups)
    found: list[_Candidate] = []
    for i, (g_start, _) in enumerate(groups):
        if i - 1 in decimals:
            continue  # the fractional part of a decimal is never a number of its own
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
            if j in decimals:
                continue  # the integer part of a decimal is never a number of its own
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


def _candidates(folded: Folded) -> list[_Candidate]:
    norm = folded.text
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


def _findings(text: str) -> list[tuple[_Candidate, int, int]]:
    folded = fold(text)
    return [(c, *folded.span(c.start, c.end)) for c in _candidates(folded)]


def find_pii(text: str) -> tuple[PIIFinding, ...]:
    """Every piece of personal data in ``text``, non-overlapping, in order of appearance."""
    return tuple(PIIFinding(c.kind, start, end) for c, start, end in _findings(text))


def mask_pii(text: str) -> MaskResult:
    """Replace personal data with masked forms that keep a short hint for humans.

    Text outside the findings is returned unchanged (full-width characters included); a finding replaces
    every original character it spans, invisible ones between its digits included.
    """
    found = _findings(text)
    if not found:
        return MaskResult(text, ())
    parts: list[str] = []
    pos = 0
    for c, start, end in found:
        parts.append(text[pos:start])
        parts.append(_masked(c))
        pos = end
    parts.append(text[pos:])
    return MaskResult("".join(parts), tuple(PIIFinding(c.kind, start, end) for c, start, end in found))


def mask_text(text: str) -> str:
    """``mask_pii(text).text``: the masked form of any text before it is stored, logged or sent."""
    return mask_pii(text).text
