"""Turn a loader's lines (body text and headings) into ``Block``s with heading-path sections.

Shared by the Markdown, HTML, Word, text and PDF loaders so that every format gets the same
sections: real headings when the document has them, otherwise the Chinese official-document
numbering (``第一章``, ``第一节``, ``一、``) that plays the role of headings in policies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.normalize import normalize_text
from retrieval.types import Block

SECTION_JOINER = " > "
_CN_NUM = "一二三四五六七八九十百千零〇两"
# Numbering lines that act as headings, with their level (chapter > section > 一、 item).
_NUMBERED_HEADINGS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(rf"^第[{_CN_NUM}\d]+章(\s|$)"), 1),
    (re.compile(rf"^第[{_CN_NUM}\d]+节(\s|$)"), 2),
    (re.compile(rf"^[{_CN_NUM}]+、\S"), 3),
)
# A heading is a short line that does not end like a sentence or a list introduction.
_MAX_HEADING_CHARS = 40
_SENTENCE_END = tuple("。；：？！，;:?!,")


@dataclass(frozen=True)
class Line:
    """One line of a document as a loader sees it. ``level`` 0 is body text, 1..6 a heading."""

    text: str
    level: int = 0


def numbered_heading_level(text: str) -> int:
    """The heading level of a Chinese numbering line (``一、总体要求``), or 0 if it is body text."""
    text = text.strip()
    if not text or len(text) > _MAX_HEADING_CHARS or text.endswith(_SENTENCE_END):
        return 0
    for pattern, level in _NUMBERED_HEADINGS:
        if pattern.match(text):
            return level
    return 0


def _heading_text(text: str) -> str:
    return " ".join(normalize_text(text).split())


def _split_off_title(lines: list[Line], title: str | None) -> tuple[str | None, list[Line]]:
    """Drop the heading that is the document title, so it is not repeated as a section.

    The first heading is the title when it is level 1 and either equals the known title or is
    the only level-1 heading in the document (a known title, e.g. from front matter, wins).
    """
    first = next((i for i, line in enumerate(lines) if line.level and _heading_text(line.text)), None)
    if first is None or lines[first].level != 1:
        return title, lines
    text = _heading_text(lines[first].text)
    only_h1 = sum(1 for line in lines if line.level == 1) == 1
    if text == title or only_h1:
        return title or text, lines[:first] + lines[first + 1 :]
    return title, lines


def build_blocks(
    lines: Sequence[Line], *, title: str | None = None, joiner: str = "\n"
) -> tuple[str | None, tuple[Block, ...]]:
    """Group lines into blocks, one per heading path.

    Args:
        lines: Body lines and headings in document order.
        title: The title if the loader already knows it (front matter, file metadata).
        joiner: How consecutive body lines are joined: ``"\\n"`` when a blank ``Line`` marks
            paragraph breaks (Markdown, text), ``"\\n\\n"`` when every line is a paragraph.

    Returns:
        The title (possibly taken from the leading heading) and the non-empty blocks.
    """
    title, rest = _split_off_title(list(lines), title)
    if not any(line.level for line in rest):
        rest = [Line(line.text, numbered_heading_level(line.text)) for line in rest]

    blocks: list[Block] = []
    stack: list[tuple[int, str]] = []
    body: list[str] = []

    def flush() -> None:
        text = normalize_text(joiner.join(body))
        body.clear()
        if text:
            blocks.append(Block(section=SECTION_JOINER.join(t for _, t in stack), text=text))

    for line in rest:
        if not line.level:
            body.append(line.text)
            continue
        heading = _heading_text(line.text)
        if not heading:
            continue
        flush()
        while stack and stack[-1][0] >= line.level:
            stack.pop()
        stack.append((line.level, heading))
    flush()
    return title, tuple(blocks)
