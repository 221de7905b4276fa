"""Offline fallback embedder: character n-grams hashed into a small dense space.

No model files, no network, deterministic. Chinese has no spaces, so character 1–3-grams carry most
of the lexical signal; hashing them into a few hundred dimensions keeps Chroma's HNSW index small and
fast while still ranking near-duplicates and paraphrases with shared characters close together.
"""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from retrieval.embedders.base import Vectors


class HashingEmbedder:
    def __init__(self, dimension: int = 512, ngram_range: tuple[int, int] = (1, 3)) -> None:
        if dimension < 16:
            raise ValueError("dimension must be at least 16")
        self._dimension = dimension
        self._ngram_range = ngram_range
        self._vectorizer = HashingVectorizer(
            analyzer="char",
            ngram_range=ngram_range,
            n_features=dimension,
            alternate_sign=False,
            norm="l2",
            lowercase=True,
            dtype=np.float32,
        )

    @property
    def identity(self) -> str:
        lo, hi = self._ngram_range
        return f"hashing-char{lo}-{hi}-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed_documents(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        matrix = self._vectorizer.transform(texts)
        return np.asarray(matrix.toarray(), dtype=np.float32)

    def embed_query(self, text: str) -> Vectors:
        return self.embed_documents([text])[0]
