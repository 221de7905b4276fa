"""The VectorStore interface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from retrieval.embedders.base import Vectors
from retrieval.types import Chunk


class VectorStore(Protocol):
    """Holds chunk vectors for one embedder identity; returns (chunk id, cosine similarity) pairs."""

    def add(self, chunks: Sequence[Chunk], vectors: Vectors) -> None: ...

    def delete(self, chunk_ids: Sequence[str]) -> None: ...

    def query(self, vector: Vectors, k: int) -> list[tuple[str, float]]: ...

    def count(self) -> int: ...
