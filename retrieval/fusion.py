"""Reciprocal rank fusion of ranked lists (pure)."""

from __future__ import annotations

from collections.abc import Sequence


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], weights: Sequence[float], k: int = 60
) -> list[tuple[str, float]]:
    """Fuses ranked id lists: score(id) = Σ w_i / (k + rank_i(id)), ranks starting at 1.

    RRF needs no score calibration between BM25 and cosine, which is why it is the default.
    Ties are broken by first appearance (earlier lists first), so the result is deterministic.
    """
    if len(rankings) != len(weights):
        raise ValueError("one weight per ranking")
    if k <= 0:
        raise ValueError("k must be positive")
    scores: dict[str, float] = {}
    order: dict[str, int] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        seen: set[str] = set()
        for rank, item in enumerate(ranking, 1):
            if item in seen:  # a duplicate within one list counts once, at its best rank
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            order.setdefault(item, len(order))
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))
