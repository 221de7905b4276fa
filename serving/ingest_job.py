"""What an ingestion job does with its files: parse each in the isolated parser, give uploads their own
document ids, and only replace a document when the admin named it.

Document ids of uploads are never the file's stem: a second ``附件1.md`` or an upload named
``birth.md`` is a *new* document (``<stem slug>-<job id prefix>``). Replacing is the explicit
``replace=<doc_id>`` of the upload, which the upload response and the admin page show before the job
runs. An upload whose content is already live under another id is not added twice (the report says
which document holds it). Jobs submitted with bare ``paths`` (the CLI's contract) keep the loader's
id, so re-ingesting the same path stays a no-op by content hash.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from retrieval.knowledge_base import IngestReport, KnowledgeBase, content_hash, expand_paths
from retrieval.loaders import doc_id_from_stem
from retrieval.types import LoadedDocument, LoaderError
from serving import messages
from serving.parsing import IsolatedParser, ParseLimits, ParseRejected
from serving.settings import ApiSettings

ProgressFn = Callable[[int], None]  # files parsed so far


def parse_limits(api: ApiSettings) -> ParseLimits:
    return ParseLimits(
        timeout_s=api.parse_timeout_s,
        memory_mb=api.parse_memory_mb,
        max_uncompressed_bytes=api.parse_max_uncompressed_bytes,
        max_paragraphs=api.parse_max_paragraphs,
        max_pages=api.parse_max_pages,
    )


def upload_doc_id(filename: str, job_id: str) -> str:
    """A new, unique document id for an upload: readable stem slug plus the job's id prefix."""
    return f"{doc_id_from_stem(Path(filename).stem)[:80]}-{job_id[:10]}"


@dataclasses.dataclass(frozen=True)
class IngestEntry:
    path: Path
    doc_id: str | None = None  # None: the loader's own id (CLI-style jobs)
    replace: bool = False  # the admin chose to replace the document with this id


def entries_from_payload(payload: dict[str, Any]) -> list[IngestEntry]:
    """The job payload's files: ``paths`` plus optional ``doc_ids`` {path: id} and ``replace``."""
    ids: dict[str, str] = dict(payload.get("doc_ids") or {})
    replace = bool(payload.get("replace"))
    entries: list[IngestEntry] = []
    for raw in payload.get("paths", []):
        path = Path(raw)
        if raw in ids:
            entries.append(IngestEntry(path, ids[raw], replace))
        else:  # CLI-style: folders expand, ids come from the loader
            entries += [IngestEntry(f) for f in expand_paths([path])]
    return entries


def _parse_all(
    entries: list[IngestEntry], limits: ParseLimits, report: IngestReport, progress: ProgressFn
) -> list[tuple[IngestEntry, LoadedDocument]]:
    parsed: list[tuple[IngestEntry, LoadedDocument]] = []
    with IsolatedParser(limits) as parser:
        for n, entry in enumerate(entries, 1):
            try:
                doc = parser.parse(entry.path)
            except (LoaderError, ParseRejected) as exc:
                report.failed.append((str(entry.path), str(exc)))
            else:
                if entry.doc_id:
                    doc = dataclasses.replace(doc, doc_id=entry.doc_id)
                parsed.append((entry, doc))
            progress(n)
    return parsed


def ingest_entries(
    kb: KnowledgeBase, entries: list[IngestEntry], limits: ParseLimits, progress: ProgressFn
) -> IngestReport:
    """Parse (isolated), apply the id rules, then index everything that passed in one batch."""
    report = IngestReport()
    parsed = _parse_all(entries, limits, report, progress)
    live_by_hash: dict[str, str] | None = None
    docs: list[LoadedDocument] = []
    for entry, doc in parsed:
        new_upload = entry.doc_id is not None and not entry.replace
        if new_upload:
            if live_by_hash is None:
                live_by_hash = {d.content_hash: d.doc_id for d in kb.documents()}
            if kb.registry.get(doc.doc_id) is not None:
                report.failed.append((str(entry.path), messages.DOC_ID_TAKEN.format(doc_id=doc.doc_id)))
                continue
            same = live_by_hash.get(content_hash(doc))
            if same is not None:  # the same content is live already: do not add it twice
                report.unchanged.append(same)
                continue
        elif entry.replace and kb.registry.get(doc.doc_id) is None:
            report.failed.append((str(entry.path), messages.REPLACE_TARGET_GONE.format(doc_id=doc.doc_id)))
            continue
        docs.append(doc)
    if docs:
        indexed = kb.ingest_documents(docs)
        report.added += indexed.added
        report.replaced += indexed.replaced
        report.unchanged += indexed.unchanged
        report.chunks += indexed.chunks
    return report


def reindex_entries(kb: KnowledgeBase) -> list[IngestEntry]:
    """Every document whose source file still exists, under its own id (uploads keep theirs)."""
    return [
        IngestEntry(Path(d.source), d.doc_id, replace=True)
        for d in kb.documents()
        if d.source and Path(d.source).is_file()
    ]
