"""Chroma vector store, embedded (PersistentClient on disk) or client/server (HttpClient)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from retrieval.embedders.base import Vectors
from retrieval.types import Chunk


def collection_name(embedder_identity: str) -> str:
    """One collection per vector space, so switching models never mixes vectors."""
    digest = hashlib.sha1(embedder_identity.encode("utf-8")).hexdigest()[:12]
    return f"govchat_{digest}"


class ChromaVectorStore:
    """Always given our own embeddings: Chroma's default embedding function would download a model."""

    def __init__(self, embedder_identity: str, *, path: Path | None = None, url: str = "") -> None:
        if path is None and not url:
            raise ValueError("ChromaVectorStore needs a path (embedded) or a url (server)")
        self._identity = embedder_identity
        self._path = path
        self._url = url
        self._collection: Any = None

    def warm_up(self) -> None:
        """Opens the client and collection; separate from the constructor so building it costs nothing."""
        if self._collection is not None:
            return
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if self._url:
            from urllib.parse import urlparse

            parsed = urlparse(self._url)
            client: Any = chromadb.HttpClient(
                host=parsed.hostname or "localhost",
                port=parsed.port or 8000,
                ssl=parsed.scheme == "https",
                settings=chroma_settings,
            )
        else:
            assert self._path is not None
            self._path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(self._path), settings=chroma_settings)
        self._max_batch = int(getattr(client, "get_max_batch_size", lambda: 5000)())
        self._collection = client.get_or_create_collection(
            name=collection_name(self._identity),
            metadata={"embedder": self._identity},
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )

    @property
    def _col(self) -> Any:
        if self._collection is None:
            self.warm_up()
        return self._collection

    def add(self, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        col = self._col
        step = max(1, min(self._max_batch, 2000))
        for start in range(0, len(chunks), step):
            batch = chunks[start : start + step]
            col.upsert(
                ids=[c.chunk_id for c in batch],
                embeddings=vectors[start : start + step],
                metadatas=[{"doc_id": c.doc_id, "version": c.version} for c in batch],
            )

    def delete(self, chunk_ids: Sequence[str]) -> None:
        ids = list(chunk_ids)
        col = self._col
        for start in range(0, len(ids), 2000):
            col.delete(ids=ids[start : start + 2000])

    def query(self, vector: Vectors, k: int) -> list[tuple[str, float]]:
        # No count() first: it is a second round trip (~7 ms at 180k vectors, 7x the query itself),
        # and Chroma >= 1.0 answers an empty collection or k > count with what it has.
        res = self._col.query(query_embeddings=[vector], n_results=k, include=["distances"])
        ids = res["ids"][0]
        distances = res["distances"][0] if res.get("distances") else [1.0] * len(ids)
        # Chroma's cosine distance is 1 - cosine similarity.
        return [(cid, 1.0 - float(d)) for cid, d in zip(ids, distances, strict=True)]

    def count(self) -> int:
        return int(self._col.count())
