"""Plain-text loader: the first short line is the title, Chinese numbering lines are sections."""

from __future__ import annotations

from pathlib import Path

from retrieval.loaders import messages
from retrieval.loaders.base import plain_document, read_utf8
from retrieval.loaders.structure import Line, build_blocks, numbered_heading_level
from retrieval.normalize import normalize_text
from retrieval.types import LoadedDocument

_MAX_TITLE_CHARS = 60
_NOT_TITLE_END = tuple("。；：？！，;:?!,.")


def split_title(text: str) -> tuple[str | None, str]:
    """Take the first line as the title when it reads like one (short, not a sentence).

    Official documents pasted as text almost always open with the title line; a long first
    line is body text and the file name stands in for the title.
    """
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return None, ""
    candidate = normalize_text(lines[first])
    if (
        len(candidate) <= _MAX_TITLE_CHARS
        and not candidate.endswith(_NOT_TITLE_END)
        and not numbered_heading_level(candidate)
        and any(line.strip() for line in lines[first + 1 :])
    ):
        return candidate, "\n".join(lines[first + 1 :])
    return None, text


class TextLoader:
    """UTF-8 ``.txt`` files, as exported from office systems or pasted from web pages."""

    suffixes: tuple[str, ...] = (".txt",)

    def load(self, path: Path) -> LoadedDocument:
        text = normalize_text(read_utf8(path))
        title, body = split_title(text)
        _, blocks = build_blocks([Line(line) for line in body.split("\n")], title=title)
        return plain_document(path, title, blocks, empty_message=messages.EMPTY)
