"""Cross-encoder reranker (e.g. BAAI/bge-reranker-base) through sentence-transformers."""

from __future__ import annotations

from typing import Any


class CrossEncoderReranker:
    def __init__(self, model: str, *, device: str = "cpu", allow_download: bool = False) -> None:
        from sentence_transformers import CrossEncoder

        self._name = model
        self._model: Any = CrossEncoder(model, device=device, local_files_only=not allow_download)

    @property
    def identity(self) -> str:
        return f"cross-encoder-{self._name.replace('/', '--')}"

    def score(self, query: str, passages: list[str]) -> list[float]:
        if not passages:
            return []
        scores = self._model.predict([(query, p) for p in passages], show_progress_bar=False)
        return [float(s) for s in scores]
