"""Deterministic fake embedder for unit tests: a vector seeded by a hash of the text."""

from __future__ import annotations

import hashlib

import numpy as np

from retrieval.embedders.base import Vectors


class FakeEmbedder:
    def __init__(self, dimension: int = 32) -> None:
        self._dimension = dimension

    @property
    def identity(self) -> str:
        return f"fake-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def _one(self, text: str) -> Vectors:
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self._dimension).astype(np.float32)
        return v / np.linalg.norm(v)

    def embed_documents(self, texts: list[str]) -> Vectors:
        return (
            np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self._dimension), np.float32)
        )

    def embed_query(self, text: str) -> Vectors:
        return self._one(text)
