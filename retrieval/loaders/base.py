"""The ``Loader`` interface and the small helpers every format module shares.

A loader turns one file into a ``LoadedDocument`` whose blocks follow the file's own
structure; it never chunks. All text leaves a loader already normalised, so every later
stage (chunking, the lexical index, the embedder) sees one canonical form.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import yaml

from retrieval.loaders import messages
from retrieval.normalize import normalize_text
from retrieval.types import Block, LoadedDocument, MetaValue

DOC_TYPES = frozenset({"guide", "policy", "article", "notice", "faq"})
STATUSES = frozenset({"有效", "已修订", "废止"})
DEFAULT_DOC_TYPE = "policy"
DEFAULT_STATUS = "有效"
DATE_FIELDS = frozenset({"signed", "published", "valid_until", "effective_from"})
# Keys a document's own metadata may not override: they are set by the pipeline.
RESERVED_KEYS = frozenset({"source", "section", "chunk_id", "doc_id", "version", "ordinal"})

_DOC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")
_CN_DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$")


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as strings, so a bad date is reported with its field name."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@runtime_checkable
class Loader(Protocol):
    """Loads one file format. ``suffixes`` are lower-case and include the dot (``.md``)."""

    suffixes: tuple[str, ...]

    def load(self, path: Path) -> LoadedDocument:
        """Load ``path``; raise ``LoaderError`` naming the file and the reason on any failure."""
        ...


def load_yaml(path: Path, text: str) -> object:
    """Parse YAML safely (no object construction); syntax errors become a ``LoaderError``."""
    try:
        return yaml.load(text, Loader=_YamlLoader)
    except (yaml.YAMLError, ValueError) as exc:
        error = " ".join(str(exc).split())[:200]
        raise messages.loader_error(path, messages.INVALID_YAML.format(error=error)) from exc


def read_bytes(path: Path) -> bytes:
    """Read a file, turning OS errors into a ``LoaderError`` an admin can act on."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise messages.loader_error(path, messages.UNREADABLE.format(error=exc.strerror or exc)) from exc


def read_utf8(path: Path) -> str:
    """Read a UTF-8 text file (a BOM is allowed); binary or other encodings are refused.

    Guessing legacy encodings (GBK) silently corrupts Chinese text, so the admin is asked to
    re-save the file instead.
    """
    data = read_bytes(path)
    if b"\x00" in data:
        raise messages.loader_error(path, messages.BINARY)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise messages.loader_error(path, messages.NOT_UTF8) from exc


def doc_id_from_stem(stem: str) -> str:
    """A stable document id from a file name: an ASCII slug, or ``doc-<sha1[:8]>`` otherwise.

    File names are NFC-normalised first so the same Chinese name uploaded from macOS (NFD)
    and from Windows gets the same id.
    """
    stem = unicodedata.normalize("NFC", stem)
    slug = _SLUG_JUNK.sub("-", stem.lower()).strip("-") if stem.isascii() else ""
    if slug:
        return slug[:100].rstrip("-")
    return "doc-" + hashlib.sha1(stem.encode("utf-8")).hexdigest()[:8]


def check_doc_id(path: Path, value: object) -> str:
    """Validate an explicit ``id``: it becomes part of chunk ids and storage keys."""
    if not isinstance(value, str | int) or isinstance(value, bool) or not _DOC_ID.match(str(value)):
        raise messages.loader_error(
            path,
            messages.BAD_FIELD.format(field="id", error="只允许字母、数字、_ . - / letters, digits, _ . -"),
        )
    return str(value)


def _iso_date(value: object) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        cn = _CN_DATE.match(text)
        if cn:
            return date(int(cn[1]), int(cn[2]), int(cn[3])).isoformat()
        return date.fromisoformat(text).isoformat()
    raise ValueError("not a date")


def _scalar(value: object) -> MetaValue | None:
    if value is None:
        return None
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date):
        return _iso_date(value)
    if isinstance(value, str):
        return normalize_text(value) or None
    if isinstance(value, list | tuple):
        if any(isinstance(v, list | tuple | dict) for v in value):
            raise ValueError("nested lists are not allowed")
        parts = [_scalar(v) for v in value]
        text = "、".join(str(p) for p in parts if p is not None and p != "")
        return text or None
    raise ValueError(f"expected a scalar, got {type(value).__name__}")


def clean_metadata(path: Path, raw: Mapping[str, object]) -> dict[str, MetaValue]:
    """Coerce user-supplied metadata (front matter) into validated scalars.

    Dates become ISO strings, lists of scalars are joined with "、", empty values are omitted,
    ``status`` and ``doc_type`` must be known values. Raises ``LoaderError`` otherwise.
    """
    out: dict[str, MetaValue] = {}
    for key, value in raw.items():
        name = str(key).strip()
        if not name or name in RESERVED_KEYS or name == "id":
            continue
        try:
            scalar = _iso_date(value) if name in DATE_FIELDS and value is not None else _scalar(value)
        except (ValueError, TypeError) as exc:
            raise messages.loader_error(path, messages.BAD_FIELD.format(field=name, error=exc)) from exc
        if scalar is None:
            continue
        out[name] = scalar
    if out.get("status", DEFAULT_STATUS) not in STATUSES:
        raise messages.loader_error(
            path,
            messages.BAD_FIELD.format(field="status", error=f"应为 / expected {'/'.join(sorted(STATUSES))}"),
        )
    if out.get("doc_type", DEFAULT_DOC_TYPE) not in DOC_TYPES:
        raise messages.loader_error(
            path,
            messages.BAD_FIELD.format(
                field="doc_type", error=f"应为 / expected {'/'.join(sorted(DOC_TYPES))}"
            ),
        )
    return out


def finish_metadata(path: Path, metadata: Mapping[str, MetaValue], *, doc_type: str) -> dict[str, MetaValue]:
    """Add the keys every document carries: ``source``, ``doc_type`` and ``status``."""
    out = dict(metadata)
    out["source"] = str(path)
    out["doc_type"] = doc_type
    out.setdefault("status", DEFAULT_STATUS)
    return out


def plain_document(
    path: Path,
    title: str | None,
    blocks: tuple[Block, ...],
    *,
    extra: Mapping[str, MetaValue] | None = None,
    empty_message: str,
) -> LoadedDocument:
    """A document from a file without front matter (txt, html, pdf, docx): id from the file name,
    the default doc type, and a clear error when no text was found."""
    if not blocks:
        raise messages.loader_error(path, empty_message)
    title = title or normalize_text(path.stem)
    metadata = finish_metadata(path, {**(extra or {}), "title": title}, doc_type=DEFAULT_DOC_TYPE)
    return LoadedDocument(
        doc_id=doc_id_from_stem(path.stem),
        title=title,
        doc_type=DEFAULT_DOC_TYPE,
        source=str(path),
        blocks=blocks,
        metadata=metadata,
    )
