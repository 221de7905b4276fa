"""Admin operations that are more than one service call: upload checks, synonyms editing, eval reports.

Pure checks (file names, content sniffing) are plain functions so they can be tested table-driven with
hostile inputs; file I/O is synchronous and called through ``anyio.to_thread``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any, BinaryIO

from retrieval.knowledge_base import KnowledgeBase
from retrieval.lexical.synonyms import DEFAULT_SYNONYMS, SynonymMap
from retrieval.loaders import doc_id_from_stem
from retrieval.registry import DocumentRecord
from serving import messages
from serving.errors import ApiError

_UNSAFE = re.compile(r"[^\w.\-()（）\u3400-\u9fff]+")
_TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".yaml", ".yml"}


def safe_filename(name: str) -> str:
    """The upload's base name, NFC, without path parts, control or shell characters; never empty.

    The suffix is kept (it picks the loader) and the stem (the readable part of the document id).
    """
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = _UNSAFE.sub("_", base).strip("._ ")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[:100] or "upload"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def check_upload(filename: str, head: bytes, allowed: list[str]) -> str:
    """The file's suffix when it is allowed and the first bytes fit it; ``ApiError(415)`` otherwise."""
    suffix = Path(safe_filename(filename)).suffix.lower()
    if suffix not in {s.lower() for s in allowed}:
        shown = suffix or "(无扩展名)"
        raise ApiError(
            415, "unsupported_type", messages.UNSUPPORTED_TYPE.format(suffix=shown, allowed=" ".join(allowed))
        )
    ok = True
    if suffix == ".pdf":
        ok = head.startswith(b"%PDF-")
    elif suffix == ".docx":
        ok = head.startswith(b"PK\x03\x04")
    elif suffix in _TEXT_SUFFIXES:
        ok = b"\x00" not in head
    if not ok:
        raise ApiError(415, "unsupported_type", messages.CONTENT_MISMATCH.format(suffix=suffix))
    return suffix


def save_upload(src: BinaryIO, dest: Path, limit: int) -> int:
    """Copy the upload to ``dest`` in chunks; ``ApiError(413)`` (and no file) past ``limit`` bytes."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with dest.open("wb") as out:
        while chunk := src.read(1 << 20):
            written += len(chunk)
            if written > limit:
                out.close()
                dest.unlink(missing_ok=True)
                raise ApiError(
                    413, "too_large", messages.BODY_TOO_LARGE.format(limit=f"{limit // 1024 // 1024} MB")
                )
            out.write(chunk)
    if written == 0:
        dest.unlink(missing_ok=True)
        raise ApiError(400, "empty_upload", messages.EMPTY_UPLOAD)
    return written


def document_json(record: DocumentRecord) -> dict[str, Any]:
    data = record.to_json()
    data["metadata"] = {k: v for k, v in record.metadata.items() if k != "dict_words"}
    return data


def replaced_json(record: DocumentRecord) -> dict[str, Any]:
    """What a ``replace=`` upload will replace, as the admin must see it before confirming."""
    keys = ("doc_id", "title", "doc_type", "version", "chunk_count", "status", "updated_at")
    data = record.to_json()
    return {k: data[k] for k in keys}


def same_name_json(records: list[DocumentRecord], filename: str, *, exclude: str) -> list[dict[str, Any]]:
    """Live documents whose source had this file name: an upload does not replace them unless asked."""
    stem_id = doc_id_from_stem(Path(filename).stem)
    return [
        {"doc_id": r.doc_id, "title": r.title}
        for r in records
        if r.doc_id != exclude and (Path(r.source).name == filename or r.doc_id == stem_id)
    ]


class SynonymsEditor:
    """Edits ``data_dir/synonyms.yaml`` (used by the KB from the next start) and reloads the live KB."""

    def __init__(self, data_dir: Path, kb: KnowledgeBase) -> None:
        self.path = data_dir / "synonyms.yaml"
        self._kb = kb

    def text(self) -> str:
        source = self.path if self.path.is_file() else Path(self._kb.cfg.synonyms_path or DEFAULT_SYNONYMS)
        return source.read_text(encoding="utf-8") if source.is_file() else ""

    def replace(self, text: str) -> int:
        """Validate, write atomically, reload; returns the number of variants. Invalid → ``ValueError``
        (the file is untouched)."""
        parsed = SynonymMap.parse(text, "synonyms.yaml")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".synonyms-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._kb.synonyms = parsed
        self._kb.tokenizer.add_words(sorted(parsed.words()))
        return len(parsed.variants)


class EvalReports:
    """The newest evaluation report in the eval folder: its Markdown, its JSON and its plots."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def latest(self) -> dict[str, Any] | None:
        if not self.folder.is_dir():
            return None
        reports = [p for p in self.folder.iterdir() if p.suffix in (".md", ".json") and p.is_file()]
        if not reports:
            return None
        stem = max(reports, key=lambda p: p.stat().st_mtime).stem
        md, js = self.folder / f"{stem}.md", self.folder / f"{stem}.json"
        data: Any = None
        if js.is_file():
            try:
                data = json.loads(js.read_text(encoding="utf-8"))
            except ValueError:
                data = None
        plots = sorted(
            p.relative_to(self.folder).as_posix()
            for p in self.folder.rglob("*.png")
            if p.is_file() and (p.name.startswith(stem) or p.parent.name in (stem, "plots"))
        )
        return {
            "name": stem,
            "markdown": md.read_text(encoding="utf-8") if md.is_file() else "",
            "json": data,
            "plots": [f"/api/admin/eval/files/{p}" for p in plots],
        }

    def file(self, relative: str) -> Path | None:
        """A PNG inside the eval folder; None for anything else (no path traversal)."""
        root = self.folder.resolve()
        path = (root / relative).resolve()
        if path.suffix != ".png" or not path.is_file() or not path.is_relative_to(root):
            return None
        return path
