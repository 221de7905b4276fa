"""Calibrated relevance in [0, 1] for the "no evidence, no answer" decision (pure).

Fused RRF scores are ranks, not relevance: a question the KB cannot answer still has a top hit.
Relevance asks a different question: how much of what the citizen asked about (IDF-weighted query
terms, colloquial terms counted as covered when their official synonym appears) is present in the
passage? Question words and generic verbs weigh little because their IDF is low.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

_NO_QUOTES = str.maketrans("", "", "“”‘’\"'「」『』")


def term_coverage(term_groups: Sequence[Sequence[str]], passage: str, idf: Callable[[str], float]) -> float:
    """Share of the query's IDF mass covered by the passage.

    Each group is one query term with its alternatives (the term itself, then its synonyms); a group
    is covered when any alternative occurs in the passage, and weighs the IDF of its rarest form.
    """
    total = 0.0
    covered = 0.0
    # Quote marks vary (新生儿出生“一件事” vs 新生儿出生一件事): compare without them.
    text = passage.lower().translate(_NO_QUOTES)
    for group in term_groups:
        if not group:
            continue
        weight = max(idf(t) for t in group)
        total += weight
        if any(t.translate(_NO_QUOTES) in text for t in group):
            covered += weight
    return covered / total if total > 0 else 0.0


def combine(coverage: float, dense_similarity: float | None, dense_share: float = 0.3) -> float:
    """Lexical coverage dominates; a dense similarity (cosine in [-1, 1]) adds semantic credit."""
    if dense_similarity is None:
        return coverage
    return (1 - dense_share) * coverage + dense_share * max(0.0, min(1.0, dense_similarity))
