"""Document registry and chunk table in SQL (SQLite embedded, PostgreSQL in production).

SQL is the source of truth for *which version of a document is live*: a document's chunks are
written under a new version first, and only then does one transaction flip ``documents.version``.
Search hydrates hits from here and drops chunks whose version is not the live one, so a crash in
the middle of a replace leaves the old version searchable and the half-written one invisible.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    String,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from retrieval.types import Chunk


class RetrievalBase(DeclarativeBase):
    pass


class DocumentRow(RetrievalBase):
    __tablename__ = "kb_documents"

    doc_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(String(512))
    doc_type: Mapped[str] = mapped_column(String(32), index=True)
    source: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)  # 有效 / 已修订 / 废止
    chunk_count: Mapped[int] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ChunkRow(RetrievalBase):
    __tablename__ = "kb_chunks"

    chunk_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    doc_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    ordinal: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(512))
    section: Mapped[str] = mapped_column(String(512))
    text: Mapped[str] = mapped_column(Text)
    # Space-joined BM25 tokens, stored so the lexical index rebuilds without re-running jieba.
    tokens: Mapped[str] = mapped_column(Text, default="")
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)


class KBMetaRow(RetrievalBase):
    __tablename__ = "kb_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    title: str
    doc_type: str
    source: str
    version: int
    content_hash: str
    status: str
    chunk_count: int
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "doc_type": self.doc_type,
            "source": self.source,
            "version": self.version,
            "content_hash": self.content_hash,
            "status": self.status,
            "chunk_count": self.chunk_count,
            "metadata": self.metadata,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _record(row: DocumentRow) -> DocumentRecord:
    return DocumentRecord(
        row.doc_id,
        row.title,
        row.doc_type,
        row.source,
        row.version,
        row.content_hash,
        row.status,
        row.chunk_count,
        dict(row.meta or {}),
        row.created_at,
        row.updated_at,
    )


def _rowcount(result: Any) -> int:
    """Rows affected by an UPDATE/DELETE (typed loosely: only CursorResult carries it)."""
    return int(getattr(result, "rowcount", 0) or 0)


def _now() -> datetime:
    return datetime.now(UTC)


class DocumentRegistry:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create_tables(self) -> None:
        RetrievalBase.metadata.create_all(self._engine)

    # --- documents -------------------------------------------------------------------------
    def get(self, doc_id: str) -> DocumentRecord | None:
        with Session(self._engine) as s:
            row = s.get(DocumentRow, doc_id)
            return _record(row) if row else None

    def all_documents(self) -> list[DocumentRecord]:
        with Session(self._engine) as s:
            return [_record(r) for r in s.scalars(select(DocumentRow).order_by(DocumentRow.doc_id))]

    # --- chunks ----------------------------------------------------------------------------
    def write_chunks(self, chunks: Sequence[Chunk], tokens: Sequence[list[str]]) -> None:
        """Stages a version's chunks; invisible to search until ``publish`` makes the version live."""
        if not chunks:
            return
        with Session(self._engine) as s, s.begin():
            s.execute(
                insert(ChunkRow),
                [
                    {
                        "chunk_id": c.chunk_id,
                        "doc_id": c.doc_id,
                        "version": c.version,
                        "ordinal": c.ordinal,
                        "title": c.title[:512],
                        "section": c.section[:512],
                        "text": c.text,
                        "tokens": " ".join(t),
                        "meta": c.metadata,
                    }
                    for c, t in zip(chunks, tokens, strict=True)
                ],
            )

    def publish(self, records: Sequence[DocumentRecord]) -> list[str]:
        """Makes each record's version live, all in one transaction; returns superseded chunk ids."""
        if not records:
            return []
        with Session(self._engine) as s, s.begin():
            # Two queries per 500 documents instead of two per document (a per-row merge() and a
            # per-row chunk lookup were 13% of bulk-ingest time): load the existing rows and the
            # documents' chunk versions once, then update or add the rows in the session.
            doc_ids = list(dict.fromkeys(r.doc_id for r in records))
            rows: dict[str, DocumentRow] = {}
            chunk_versions: dict[str, list[tuple[str, int]]] = {}
            for start in range(0, len(doc_ids), 500):
                part = doc_ids[start : start + 500]
                rows.update(
                    (r.doc_id, r) for r in s.scalars(select(DocumentRow).where(DocumentRow.doc_id.in_(part)))
                )
                found = s.execute(
                    select(ChunkRow.chunk_id, ChunkRow.doc_id, ChunkRow.version).where(
                        ChunkRow.doc_id.in_(part)
                    )
                )
                for chunk_id, doc_id, version in found:
                    chunk_versions.setdefault(doc_id, []).append((chunk_id, version))
            old_ids: list[str] = []
            for record in records:
                old_ids += [c for c, v in chunk_versions.get(record.doc_id, []) if v != record.version]
                values = {
                    "title": record.title[:512],
                    "doc_type": record.doc_type,
                    "source": record.source,
                    "version": record.version,
                    "content_hash": record.content_hash,
                    "status": record.status,
                    "chunk_count": record.chunk_count,
                    "meta": record.metadata,
                    "created_at": record.created_at,
                    "updated_at": record.updated_at,
                }
                row = rows.get(record.doc_id)
                if row is None:
                    rows[record.doc_id] = row = DocumentRow(doc_id=record.doc_id, **values)
                    s.add(row)
                else:
                    for key, value in values.items():
                        setattr(row, key, value)
            self._bump_version(s)
        return old_ids

    def current(self, doc_ids: Sequence[str]) -> dict[str, DocumentRecord]:
        """Registry records for the given ids that exist (one query for a whole batch)."""
        with Session(self._engine) as s:
            rows = s.scalars(select(DocumentRow).where(DocumentRow.doc_id.in_(list(doc_ids))))
            return {r.doc_id: _record(r) for r in rows}

    def drop_chunks(self, chunk_ids: Sequence[str]) -> None:
        ids = list(chunk_ids)
        with Session(self._engine) as s, s.begin():
            for start in range(0, len(ids), 500):
                s.execute(delete(ChunkRow).where(ChunkRow.chunk_id.in_(ids[start : start + 500])))

    def delete_document(self, doc_id: str) -> list[str]:
        """Removes the document and all its chunks; returns the chunk ids for the other indexes."""
        with Session(self._engine) as s, s.begin():
            ids = list(s.scalars(select(ChunkRow.chunk_id).where(ChunkRow.doc_id == doc_id)))
            s.execute(delete(ChunkRow).where(ChunkRow.doc_id == doc_id))
            found = _rowcount(s.execute(delete(DocumentRow).where(DocumentRow.doc_id == doc_id)))
            if found:
                self._bump_version(s)
        return ids if found else []

    def set_status(self, doc_id: str, status: str) -> bool:
        with Session(self._engine) as s, s.begin():
            n = _rowcount(
                s.execute(
                    update(DocumentRow)
                    .where(DocumentRow.doc_id == doc_id)
                    .values(status=status, updated_at=_now())
                )
            )
            if n:
                self._bump_version(s)
            return bool(n)

    def stale_chunk_ids(self) -> list[str]:
        """Chunks of versions that never went live (a crash mid-ingest) or were superseded."""
        with Session(self._engine) as s:
            live = select(DocumentRow.doc_id, DocumentRow.version).subquery()
            q = (
                select(ChunkRow.chunk_id)
                .outerjoin(live, live.c.doc_id == ChunkRow.doc_id)
                .where((live.c.version.is_(None)) | (live.c.version != ChunkRow.version))
            )
            return list(s.scalars(q))

    def live_tokens(self) -> Iterable[tuple[str, str]]:
        """(chunk id, space-joined tokens) of every live chunk, in chunk-id order, for rebuilding BM25."""
        with Session(self._engine) as s:
            q = (
                select(ChunkRow.chunk_id, ChunkRow.tokens)
                .join(
                    DocumentRow,
                    (DocumentRow.doc_id == ChunkRow.doc_id) & (DocumentRow.version == ChunkRow.version),
                )
                .order_by(ChunkRow.chunk_id)
                .execution_options(yield_per=5000)
            )
            yield from s.execute(q)

    def fetch_live_chunks(self, chunk_ids: Sequence[str]) -> dict[str, tuple[Chunk, str]]:
        """chunk id -> (chunk, document status) for the ids that belong to a live version."""
        if not chunk_ids:
            return {}
        with Session(self._engine) as s:
            q = (
                select(ChunkRow, DocumentRow.status)
                .join(
                    DocumentRow,
                    (DocumentRow.doc_id == ChunkRow.doc_id) & (DocumentRow.version == ChunkRow.version),
                )
                .where(ChunkRow.chunk_id.in_(list(chunk_ids)))
            )
            out: dict[str, tuple[Chunk, str]] = {}
            for r, status in s.execute(q):
                chunk = Chunk(
                    r.chunk_id, r.doc_id, r.version, r.ordinal, r.title, r.section, r.text, dict(r.meta or {})
                )
                out[r.chunk_id] = (chunk, status)
            return out

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """The live chunks of one document in order (for showing a source with its passages)."""
        with Session(self._engine) as s:
            q = (
                select(ChunkRow)
                .join(
                    DocumentRow,
                    (DocumentRow.doc_id == ChunkRow.doc_id) & (DocumentRow.version == ChunkRow.version),
                )
                .where(ChunkRow.doc_id == doc_id)
                .order_by(ChunkRow.ordinal)
            )
            return [
                Chunk(
                    r.chunk_id, r.doc_id, r.version, r.ordinal, r.title, r.section, r.text, dict(r.meta or {})
                )
                for r in s.scalars(q)
            ]

    def chunk_count(self) -> int:
        with Session(self._engine) as s:
            return int(s.scalar(select(func.count()).select_from(ChunkRow)) or 0)

    # --- KB version ------------------------------------------------------------------------
    def kb_version(self) -> int:
        with Session(self._engine) as s:
            row = s.get(KBMetaRow, "kb_version")
            return int(row.value) if row else 0

    @staticmethod
    def _bump_version(s: Session) -> None:
        row = s.get(KBMetaRow, "kb_version", with_for_update=True)
        if row is None:
            s.add(KBMetaRow(key="kb_version", value="1"))
        else:
            row.value = str(int(row.value) + 1)


def new_record(
    doc_id: str,
    title: str,
    doc_type: str,
    source: str,
    version: int,
    content_hash: str,
    status: str,
    chunk_count: int,
    metadata: dict[str, Any],
    created_at: datetime | None = None,
) -> DocumentRecord:
    now = _now()
    return DocumentRecord(
        doc_id,
        title,
        doc_type,
        source,
        version,
        content_hash,
        status,
        chunk_count,
        metadata,
        created_at or now,
        now,
    )
