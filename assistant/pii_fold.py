"""Folding text for PII detection, keeping a map back to the original characters (pure).

Citizens (and people testing the system) write numbers in many ways that a plain regex misses: full-width
digits, circled ``①②③`` and mathematical-bold ``𝟏𝟐𝟑`` digits, digits of other scripts, zero-width and
other invisible format characters (U+200B, U+200D, U+2060, U+00AD, U+FEFF) between the digits, newlines
and runs of spaces between digit groups. ``fold`` rewrites a text so that all of those become plain
ASCII digits, spaces and ``-``; detection runs on the folded copy and masking replaces the matching
*original* characters, found through the offset map.

Per original character:

- whitespace of any kind (newline, tab, ideographic space, NBSP …) becomes one space;
- format characters (Unicode category Cf), combining marks (Mn, Me: variation selectors, keycaps) and
  control characters are dropped;
- everything else is NFKC-normalised (full width, circled, mathematical and super/subscript forms), and
  then any decimal digit of any script, and any other character with a digit value (dingbat ``❶``),
  becomes its ASCII digit; dash variants become ``-``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d")
_DROP = frozenset({"Cf", "Mn", "Me", "Cc", "Co", "Cs"})
_TABLE_MAX = 100_000
# Characters that fold to nothing or to several characters: only texts holding one need an offset map.
_IRREGULAR: set[str] = set()


def fold_char(ch: str) -> str:
    """The folded form of one character: ``""``, one or several characters (``⑩`` -> ``10``)."""
    if ch.isspace():
        out = " "
    elif unicodedata.category(ch) in _DROP:
        out = ""
    else:
        parts = []
        for c in unicodedata.normalize("NFKC", ch):
            if c.isspace():
                parts.append(" ")
                continue
            value = unicodedata.decimal(c, None)
            if value is None and unicodedata.category(c) == "No":
                digit = unicodedata.digit(c, None)
                value = digit if digit is not None and digit < 10 else None
            if value is not None:
                parts.append(str(value))
            elif c in _DASHES:
                parts.append("-")
            elif unicodedata.category(c) not in _DROP:
                parts.append(c)
        out = "".join(parts)
    return out


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled on first sight of each character (C speed afterwards)."""

    def __missing__(self, codepoint: int) -> str:
        out = fold_char(chr(codepoint))
        if len(out) != 1:
            _IRREGULAR.add(chr(codepoint))
        if len(self) < _TABLE_MAX:
            self[codepoint] = out
        return out


_TABLE = _FoldTable()


@dataclass(frozen=True)
class Folded:
    """A folded text and, for each of its characters, the original characters it came from.

    ``src[i]`` is the index of the original character that folded character ``i`` came from; ``ends[i]``
    is where that character's original text ends, dropped invisible characters right after it included
    (so a masked value takes a trailing keycap mark or zero-width space with it). Both are empty when
    folding kept every offset (every character folded to exactly one).
    """

    text: str
    src: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span covering folded ``[start, end)`` (whole original characters, dropped
        invisible characters inside and right after the span included)."""
        if not self.src:
            return start, end
        return self.src[start], self.ends[end - 1]


def fold_text(text: str) -> str:
    """Only the folded text, without the offset map (fast, for scanning large texts)."""
    return text.translate(_TABLE)


def fold(text: str) -> Folded:
    """Fold ``text`` for detection (see the module docstring); never raises for any string."""
    folded = text.translate(_TABLE)
    if _IRREGULAR.isdisjoint(text):
        return Folded(folded)  # every character folded to exactly one: offsets are unchanged
    parts: list[str] = []
    src: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(text):
        out = _TABLE[ord(ch)]
        if out:
            parts.append(out)
            src.extend([i] * len(out))
            ends.extend([i + 1] * len(out))
        elif ends:
            last = ends[-1]
            j = len(ends) - 1
            while j >= 0 and ends[j] == last:  # every folded character of that original one
                ends[j] = i + 1
                j -= 1
    return Folded("".join(parts), tuple(src), tuple(ends))
