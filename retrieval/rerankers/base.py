"""The Reranker interface."""

from __future__ import annotations

from typing import Protocol


class Reranker(Protocol):
    """Scores (query, passage) pairs; higher is more relevant. Scores are logits, not probabilities."""

    @property
    def identity(self) -> str: ...

    def score(self, query: str, passages: list[str]) -> list[float]: ...
