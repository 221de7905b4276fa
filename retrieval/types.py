"""Domain types owned by the retrieval package: pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Metadata values must be scalars so they can be stored in Chroma and SQL as they are.
MetaValue = str | int | float | bool


@dataclass(frozen=True)
class Block:
    """A structural piece of a loaded document: a heading path and the text under it.

    Loaders split documents into blocks along their own structure (Markdown headings,
    guide field groups); the chunker only ever splits *inside* a block.
    """

    section: str
    text: str
    # A block the chunker must keep whole when it fits (a guide's materials list).
    keep_whole: bool = False


@dataclass(frozen=True)
class LoadedDocument:
    """A document as a loader returns it, before normalisation and chunking."""

    doc_id: str
    title: str
    doc_type: str  # guide | policy | article | notice | faq
    source: str  # file path or URL the document came from
    blocks: tuple[Block, ...]
    metadata: dict[str, MetaValue] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(b.text for b in self.blocks)


@dataclass(frozen=True)
class Chunk:
    """An indexed passage. ``chunk_id`` is stable: doc id + version + ordinal."""

    chunk_id: str
    doc_id: str
    version: int
    ordinal: int
    title: str
    section: str
    text: str
    metadata: dict[str, MetaValue] = field(default_factory=dict)

    @staticmethod
    def make_id(doc_id: str, version: int, ordinal: int) -> str:
        return f"{doc_id}::v{version}::{ordinal:04d}"


@dataclass(frozen=True)
class Hit:
    """A search result: a chunk, its fused score and a calibrated relevance in [0, 1]."""

    chunk: Chunk
    score: float
    relevance: float
    lexical_rank: int | None = None
    dense_rank: int | None = None

    def to_json(self, snippet_chars: int = 160) -> dict[str, Any]:
        text = self.chunk.text
        return {
            "doc_id": self.chunk.doc_id,
            "chunk_id": self.chunk.chunk_id,
            "title": self.chunk.title,
            "section": self.chunk.section,
            "snippet": text if len(text) <= snippet_chars else text[:snippet_chars] + "…",
            "score": round(self.score, 6),
            "relevance": round(self.relevance, 4),
            "source": self.chunk.metadata.get("source", ""),
            "doc_type": self.chunk.metadata.get("doc_type", ""),
        }


@dataclass(frozen=True)
class SearchFilters:
    """Metadata filters for search. Retired or expired documents are excluded unless asked for."""

    region: str | None = None
    doc_type: str | None = None
    audience: str | None = None
    doc_ids: tuple[str, ...] | None = None
    include_retired: bool = False


@dataclass(frozen=True)
class SearchResult:
    hits: tuple[Hit, ...]
    # False when the best hit is below the relevance threshold: the caller must not answer from it.
    has_evidence: bool
    expanded_query: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)


class LoaderError(Exception):
    """A single file could not be loaded; the message is shown to the admin as it is."""
