"""Markdown loader: YAML front matter for metadata, headings (or Chinese numbering) for blocks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from retrieval.loaders import messages
from retrieval.loaders.base import (
    DEFAULT_DOC_TYPE,
    check_doc_id,
    clean_metadata,
    doc_id_from_stem,
    finish_metadata,
    load_yaml,
    read_utf8,
)
from retrieval.loaders.structure import Line, build_blocks
from retrieval.normalize import normalize_text
from retrieval.types import LoadedDocument

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_ATX = re.compile(r"^\s{0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_BULLET = re.compile(r"^(\s*)[*+]\s+")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_STRONG = re.compile(r"(\*\*|__)(.+?)\1")
_CODE = re.compile(r"`([^`]+)`")


def split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    """Separate a leading ``---`` YAML block from the body; no front matter gives ``{}``."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            raw = "\n".join(lines[1:i])
            body = "\n".join(lines[i + 1 :])
            break
    else:
        raise messages.loader_error(path, messages.FRONT_MATTER_UNCLOSED)
    data = load_yaml(path, raw)
    if data is None:
        return {}, body
    if not isinstance(data, dict):
        raise messages.loader_error(path, messages.NOT_A_MAPPING)
    return data, body


def _inline(text: str) -> str:
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    return _CODE.sub(r"\1", text)


def markdown_lines(body: str) -> list[Line]:
    """Markdown to plain lines: headings keep their level, markup is reduced to its text."""
    out: list[Line] = []
    in_fence = False
    for raw in _COMMENT.sub("", body).replace("\r\n", "\n").split("\n"):
        if _FENCE.match(raw):
            in_fence = not in_fence
            continue
        if in_fence:
            out.append(Line(raw))
            continue
        heading = _ATX.match(raw)
        if heading:
            out.append(Line(_inline(heading.group(2) or ""), len(heading.group(1))))
            continue
        if _RULE.match(raw) or _TABLE_SEP.match(raw):
            out.append(Line(""))
            continue
        line = _BULLET.sub(r"\1- ", _QUOTE.sub("", raw))
        if line.lstrip().startswith("|"):
            line = " | ".join(cell.strip() for cell in line.strip().strip("|").split("|"))
        out.append(Line(_inline(line)))
    return out


class MarkdownLoader:
    """Policies and articles written as Markdown, optionally with YAML front matter.

    Front matter keys (``id``, ``title``, ``issuer``, ``doc_number``, ``region``, ``doc_type``,
    ``audience``, ``signed``, ``published``, ``valid_until``, ``status``) become metadata.
    """

    suffixes: tuple[str, ...] = (".md", ".markdown")

    def load(self, path: Path) -> LoadedDocument:
        front, body = split_front_matter(path, read_utf8(path))
        doc_id = (
            check_doc_id(path, front["id"]) if front.get("id") is not None else doc_id_from_stem(path.stem)
        )
        metadata = clean_metadata(path, front)
        known_title = metadata.get("title")
        title, blocks = build_blocks(
            markdown_lines(body), title=str(known_title) if known_title is not None else None
        )
        if not blocks:
            raise messages.loader_error(path, messages.EMPTY)
        title = title or normalize_text(path.stem)
        metadata["title"] = title
        doc_type = str(metadata.get("doc_type", DEFAULT_DOC_TYPE))
        return LoadedDocument(
            doc_id=doc_id,
            title=title,
            doc_type=doc_type,
            source=str(path),
            blocks=blocks,
            metadata=finish_metadata(path, metadata, doc_type=doc_type),
        )
