"""Fake reranker for tests: scores by the number of query characters found in the passage."""

from __future__ import annotations


class OverlapReranker:
    @property
    def identity(self) -> str:
        return "fake-overlap"

    def score(self, query: str, passages: list[str]) -> list[float]:
        chars = set(query)
        return [float(sum(1 for ch in chars if ch in p)) - len(chars) / 2 for p in passages]
