"""Sentence-transformers embedder (bge-small-zh, bge-m3, or any local model folder)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.embedders.base import Vectors


class SentenceTransformerEmbedder:
    """Loads eagerly so a missing model fails at start-up (and the factory can fall back), not mid-query."""

    def __init__(
        self, model: str, *, device: str = "cpu", batch_size: int = 64, allow_download: bool = False
    ) -> None:
        from sentence_transformers import SentenceTransformer  # heavy import, only when chosen

        self._name = model
        self._batch_size = batch_size
        self._model: Any = SentenceTransformer(model, device=device, local_files_only=not allow_download)
        # sentence-transformers 6 renamed the accessor; keep working on 3.x-5.x too.
        getter = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = getter()
        if not dim:
            raise ValueError(f"model {model!r} does not report an embedding dimension")
        self._dimension = int(dim)

    @property
    def identity(self) -> str:
        path = Path(self._name)
        # A local folder is identified by its name and config contents, so retraining a folder in place
        # (same path, different weights) still gets a fresh collection.
        if path.is_dir():
            digest = hashlib.sha1()
            for f in sorted(path.glob("*.json")):
                digest.update(f.read_bytes())
            return f"st-{path.name}-{digest.hexdigest()[:8]}-{self._dimension}"
        return f"st-{self._name.replace('/', '--')}-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed_documents(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> Vectors:
        return self.embed_documents([text])[0]
