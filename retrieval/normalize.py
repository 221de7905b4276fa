"""Text normalisation applied to every loaded document before chunking and indexing.

Government documents arrive from Word, PDF, web pages and hand-typed Markdown, so the same
words show up in many byte forms: full-width Latin letters and digits, ASCII punctuation
between Chinese words, Windows newlines, zero-width characters pasted from web pages. Both
the lexical index and the embedder treat those forms as different tokens, so they are folded
into one form here.

Unlike a plain NFKC pass, Chinese punctuation is *kept* full-width (NFKC would turn ``，`` into
``,``), and ASCII punctuation sitting inside Chinese text is turned into its Chinese form,
because that is how the official documents are meant to read and how citizens type queries.

The function is pure and idempotent: ``normalize_text(normalize_text(x)) == normalize_text(x)``.
"""

from __future__ import annotations

import re

__all__ = ["normalize_text"]

# Full-width digits, Latin letters and the ideographic space fold to ASCII.
_WIDTH_MAP: dict[int, str] = {0x3000: " "}
_WIDTH_MAP.update({0xFF10 + i: chr(0x30 + i) for i in range(10)})
_WIDTH_MAP.update({0xFF21 + i: chr(0x41 + i) for i in range(26)})
_WIDTH_MAP.update({0xFF41 + i: chr(0x61 + i) for i in range(26)})
# Other Unicode spaces and the tab become a plain space (runs are collapsed later).
for _cp in (0x09, 0xA0, 0x1680, 0x202F, 0x205F, *range(0x2000, 0x200B)):
    _WIDTH_MAP[_cp] = " "
# Every line-break form becomes "\n" (CR LF is handled before the table is applied).
for _cp in (0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029):
    _WIDTH_MAP[_cp] = "\n"
del _cp

# Invisible characters that only confuse tokenisers: C0/C1 controls (bar tab/newlines), DEL,
# zero-width characters, BOM, soft hyphen, bidi controls and lone surrogates (which cannot be
# encoded to UTF-8 and would break storage).
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f\x80-\x84\x86-\x9f\u00ad\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff]"
)

# CJK ideographs (BMP blocks plus the supplementary planes used for rare characters).
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_OPENING = "“‘（《「『【〔"
_CLOSING = "”’）》」』】〕"

_SPACES = re.compile(r" {2,}")
_BLANK_RUNS = re.compile(r"\n{3,}")

# An ASCII bracket pair with no nested brackets. It becomes full-width when its content holds
# a Han character, when a Han character sits right before it, or when it opens a line and a
# Han character follows it ("(一)推进…", "芯片(HBM)", "(责任单位:省科技厅)").
_PAREN = re.compile(r"\(([^()（）\n]*)\)")
_HAN_RE = re.compile(f"[{_HAN}]")

# ASCII , ; : ? ! inside Chinese text become Chinese: after Chinese text (before Chinese text or
# a line end), or after a Latin word/number when Chinese text follows ("鄂汇办APP,湖北政务服务网").
_PUNCT_TO_CJK = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！"}
_INLINE_PUNCT = re.compile(
    f"(?<=[{_HAN}{_CLOSING}]) *([,;:?!]) *(?=[{_HAN}{_OPENING}{_CLOSING}]|$)"
    f"|(?<=[A-Za-z0-9]) *([,;:?!]) *(?=[{_HAN}{_OPENING}])",
    re.MULTILINE,
)


def _paren_replacement(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    content = match.group(1)
    before = text[start - 1] if start > 0 else "\n"
    after = text[end] if end < len(text) else "\n"
    if _HAN_RE.search(content) or _HAN_RE.fullmatch(before) or (before == "\n" and _HAN_RE.fullmatch(after)):
        return f"（{content}）"
    return match.group(0)


def _normalize_line(line: str) -> str:
    line = _SPACES.sub(" ", line).strip()
    if not line:
        return ""
    if "(" in line:
        line = _PAREN.sub(_paren_replacement, line)
    line = _INLINE_PUNCT.sub(lambda m: _PUNCT_TO_CJK[m.group(1) or m.group(2)], line)
    return line.strip()


def normalize_text(s: str) -> str:
    """Fold a document's text into the one canonical form used for indexing.

    Args:
        s: Raw text as a loader extracted it.

    Returns:
        The text with full-width Latin letters/digits/spaces folded to ASCII, Chinese
        punctuation kept (and ASCII punctuation inside Chinese text made Chinese), invisible
        characters removed, every newline form as ``\\n``, spaces collapsed, lines stripped,
        at most one blank line in a row and no leading/trailing blank lines.
    """
    if not s:
        return ""
    s = s.replace("\r\n", "\n")
    s = _INVISIBLE.sub("", s.translate(_WIDTH_MAP))
    lines = [_normalize_line(line) for line in s.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")
