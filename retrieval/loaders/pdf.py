"""PDF loader (pypdf): text-layer extraction with hard line wraps undone.

PDFs of official documents are typeset with fixed-width lines, so a Chinese sentence comes out
broken across several lines; those wraps are joined back (a line that fills the page width and
runs on into more Chinese text) so sentences and numbered items survive for the chunker.
Scanned (image-only), encrypted and damaged files are refused with a message saying so: OCR is
a separate, deliberate step, not something to guess at during ingestion.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from pypdf import PasswordType, PdfReader
from pypdf.errors import FileNotDecryptedError

from retrieval.loaders import messages
from retrieval.loaders.base import plain_document, read_bytes
from retrieval.loaders.structure import Line, build_blocks, numbered_heading_level
from retrieval.loaders.text import split_title
from retrieval.normalize import normalize_text
from retrieval.types import LoadedDocument, LoaderError

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WRAP_END = re.compile(f"[{_HAN}，、“（《A-Za-z0-9]$")
_WRAP_START = re.compile(f"^[{_HAN}“《A-Za-z0-9]")
_ITEM_START = re.compile(
    r"^(第[一二三四五六七八九十百千零〇两\d]+[章节条]|[（(][一二三四五六七八九十\d]+[）)]|\d+[.、．]|[-•●])"
)
# A line this close to the widest line on its page is a full line, i.e. probably a wrap.
_FULL_LINE_RATIO = 0.8
# Fewer extractable characters than this per page means a scanned document.
_MIN_CHARS_PER_PAGE = 5
_TITLE_PREFIXES = ("Microsoft Word - ", "Microsoft Word-")


def unwrap_lines(lines: list[str]) -> list[str]:
    """Join hard-wrapped lines of one page back into paragraphs.

    A line is joined to the next when it is nearly as wide as the page's widest line, ends in
    text (not in 。；：), and the next line neither opens a numbered item nor a heading.
    Chinese joins without a space; Latin text joins with one, and only onto a lower-case word
    (a capital usually opens a new line of its own, e.g. after a title).
    """
    lines = [line.strip() for line in lines]
    width = max((len(line) for line in lines), default=0)
    out: list[str] = []
    joinable = False
    for line in lines:
        if not line:
            out.append("")
            joinable = False
            continue
        latin = bool(out and out[-1]) and out[-1][-1].isascii() and line[0].isascii()
        # Latin text only continues on a lower-case word; Chinese on any text character.
        continues = line[0].islower() if latin else bool(_WRAP_START.match(line))
        if joinable and out and continues and not _ITEM_START.match(line):
            out[-1] = out[-1] + (" " if latin else "") + line
        else:
            out.append(line)
        joinable = (
            len(line) >= _FULL_LINE_RATIO * width
            and bool(_WRAP_END.search(out[-1]))
            and not numbered_heading_level(line)
        )
    return out


def _extract(path: Path) -> tuple[list[str], str | None]:
    """Page texts and the document-info title; every pypdf failure becomes a ``LoaderError``."""
    read_bytes(path)  # surfaces missing/unreadable files with the common message
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(path)
            if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
                raise messages.loader_error(path, messages.PDF_ENCRYPTED)
            pages = [page.extract_text() or "" for page in reader.pages]
            info = reader.metadata
            title = info.title if info is not None else None
    except LoaderError:
        raise
    except FileNotDecryptedError as exc:
        raise messages.loader_error(path, messages.PDF_ENCRYPTED) from exc
    except Exception as exc:  # pypdf raises many types on damaged files; any of them means "damaged"
        error = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise messages.loader_error(path, messages.PDF_UNREADABLE.format(error=error)) from exc
    return pages, title if isinstance(title, str) else None


class PdfLoader:
    """PDF files with a text layer (exported from Word/WPS, not scanned)."""

    suffixes: tuple[str, ...] = (".pdf",)

    def load(self, path: Path) -> LoadedDocument:
        pages, info_title = _extract(path)
        chars = sum(len("".join(page.split())) for page in pages)
        if not pages or chars < _MIN_CHARS_PER_PAGE * len(pages):
            raise messages.loader_error(path, messages.PDF_NO_TEXT)
        text = "\n\n".join("\n".join(unwrap_lines(normalize_text(page).split("\n"))) for page in pages)
        title = normalize_text(info_title or "")
        for prefix in _TITLE_PREFIXES:
            title = title.removeprefix(prefix)
        body = text
        if not title:
            found, body = split_title(normalize_text(text))
            title = found or ""
        _, blocks = build_blocks([Line(line) for line in body.split("\n")], title=title or None)
        return plain_document(
            path, title or None, blocks, extra={"pages": len(pages)}, empty_message=messages.PDF_NO_TEXT
        )
