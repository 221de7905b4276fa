"""Word (.docx) loader (python-docx): paragraph styles give headings, tables become rows.

Documents drafted in Word usually mark their structure with the built-in heading styles
(``Heading 1`` / ``标题 1``); documents typed with direct formatting only fall back to the
Chinese numbering lines (``一、``), exactly like plain text.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from retrieval.loaders import messages
from retrieval.loaders.base import plain_document, read_bytes
from retrieval.loaders.structure import Line, build_blocks
from retrieval.normalize import normalize_text
from retrieval.types import LoadedDocument

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_TITLE_STYLES = {"title", "标题"}


def _paragraph_line(paragraph: Paragraph) -> tuple[Line, bool]:
    """The paragraph as a ``Line`` and whether it is styled as the document title."""
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    name = name.strip()
    if name.lower() in _TITLE_STYLES:
        return Line(paragraph.text), True
    heading = _HEADING_STYLE.match(name)
    level = min(int(heading.group(1)), 6) if heading else 0
    return Line(paragraph.text, level), False


def _table_lines(table: Table) -> list[Line]:
    """One line per row, cells joined by " | "; merged cells (repeated by python-docx) once."""
    lines = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            lines.append(Line(" | ".join(cells)))
    return lines


def _read(path: Path) -> tuple[list[Line], str | None]:
    read_bytes(path)  # surfaces missing/unreadable files with the common message
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            document = docx.Document(str(path))
            lines: list[Line] = []
            styled_title: str | None = None
            for item in document.iter_inner_content():
                if isinstance(item, Paragraph):
                    line, is_title = _paragraph_line(item)
                    if is_title and styled_title is None and line.text.strip():
                        styled_title = normalize_text(line.text)
                    elif not is_title:
                        lines.append(line)
                else:
                    lines.extend(_table_lines(item))
            core_title = normalize_text(document.core_properties.title or "")
    except Exception as exc:  # zip, XML and package errors all mean "not a readable .docx"
        error = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise messages.loader_error(path, messages.DOCX_UNREADABLE.format(error=error)) from exc
    return lines, styled_title or core_title or None


class DocxLoader:
    """Word 2007+ documents. Legacy ``.doc`` is not supported (save it as .docx)."""

    suffixes: tuple[str, ...] = (".docx",)

    def load(self, path: Path) -> LoadedDocument:
        lines, title = _read(path)
        title, blocks = build_blocks(lines, title=title, joiner="\n\n")
        return plain_document(path, title, blocks, empty_message=messages.EMPTY)
