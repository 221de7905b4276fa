"""Pure metric functions for the evaluation report (no I/O, no knowledge-base code).

Each figure the report shows is computed here from plain values, so it can be checked on hand-made
inputs: ranking quality, classification accuracy and confusion, precision/recall, fact hits, citation
support, the CRAG-style truthfulness score and latency summaries.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

from evals.bench_common import percentile

# --- text -------------------------------------------------------------------------------------------
_SPACE = re.compile(r"\s+")
_SENTENCE = re.compile(r"[^。！？；;!?\n]+")
_MARKER = re.compile(r"\[(\d{1,3})\]")
_DECORATION = re.compile(r"^(?:[-*•·]\s*|\d{1,2}[.、)）]\s*|【[^】]{0,20}】\s*)+")


def normalize(text: str) -> str:
    """NFKC, no whitespace, lower case: how fact strings and passages are compared."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).lower()


def facts_found(answer: str, facts: Sequence[str]) -> list[bool]:
    """For each expected fact string, whether it appears in the answer (after normalisation)."""
    body = normalize(answer)
    return [bool(normalize(f)) and normalize(f) in body for f in facts]


def contains_value(text: str, value: str) -> bool:
    """Whether a raw personal value appears in ``text``, however it was spaced or full-width-typed."""
    v = normalize(value).replace("-", "")
    if not v:
        return False
    t = normalize(text)
    return v in t or v in t.replace("-", "")


# --- ranking ----------------------------------------------------------------------------------------
def rank_of(ranking: Sequence[str], gold: str, k: int = 10) -> int | None:
    """1-based rank of ``gold`` within the first ``k`` entries, None when absent."""
    if k <= 0:
        raise ValueError("k must be positive")
    for i, item in enumerate(ranking[:k], 1):
        if item == gold:
            return i
    return None


def dcg(gains: Sequence[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranking: Sequence[str], relevance: Mapping[str, float], k: int = 10) -> float:
    """Normalised discounted cumulative gain of a ranking against graded relevance (0 when none)."""
    if k <= 0:
        raise ValueError("k must be positive")
    ideal = dcg(sorted((r for r in relevance.values() if r > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    seen: set[str] = set()
    gains = []
    for item in ranking[:k]:
        gains.append(0.0 if item in seen else relevance.get(item, 0.0))
        seen.add(item)
    return dcg(gains) / ideal


@dataclass(frozen=True)
class RankingQuality:
    """Document-level retrieval quality over a question set (rates in [0, 1])."""

    questions: int
    hit_at_1: float
    hit_at_5: float
    hit_at_10: float
    mrr_at_10: float
    ndcg_at_10: float
    hit_curve: tuple[float, ...]  # hit@1 … hit@10

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["hit_curve"] = [round(x, 4) for x in self.hit_curve]
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


def ranking_quality(rankings: Sequence[Sequence[str]], golds: Sequence[str]) -> RankingQuality:
    """hit@k, MRR@10 and nDCG@10 of deduplicated document rankings, one gold document each."""
    if len(rankings) != len(golds):
        raise ValueError("one ranking per gold id")
    n = len(golds)
    if n == 0:
        return RankingQuality(0, 0.0, 0.0, 0.0, 0.0, 0.0, (0.0,) * 10)
    ranks = [rank_of(r, g, 10) for r, g in zip(rankings, golds, strict=True)]
    curve = tuple(sum(1 for r in ranks if r is not None and r <= k) / n for k in range(1, 11))
    return RankingQuality(
        questions=n,
        hit_at_1=curve[0],
        hit_at_5=curve[4],
        hit_at_10=curve[9],
        mrr_at_10=sum(1.0 / r for r in ranks if r) / n,
        ndcg_at_10=sum(ndcg_at_k(r, {g: 1.0}, 10) for r, g in zip(rankings, golds, strict=True)) / n,
        hit_curve=curve,
    )


# --- classification ---------------------------------------------------------------------------------
def accuracy(pairs: Iterable[tuple[str, str]]) -> float:
    """Share of (expected, got) pairs that agree; 0 for no pairs."""
    items = list(pairs)
    return sum(1 for e, g in items if e == g) / len(items) if items else 0.0


def confusion_matrix(pairs: Iterable[tuple[str, str]], labels: Sequence[str]) -> dict[str, dict[str, int]]:
    """expected → got → count over ``labels`` (unknown labels are added at the end, never dropped)."""
    items = list(pairs)
    all_labels = list(labels) + sorted({x for p in items for x in p} - set(labels))
    matrix = {e: dict.fromkeys(all_labels, 0) for e in all_labels}
    for e, g in items:
        matrix[e][g] += 1
    return matrix


def per_label_recall(matrix: Mapping[str, Mapping[str, int]]) -> dict[str, float | None]:
    """For each expected label, the share classified correctly (None when the label never occurs)."""
    out: dict[str, float | None] = {}
    for label, row in matrix.items():
        total = sum(row.values())
        out[label] = row.get(label, 0) / total if total else None
    return out


@dataclass(frozen=True)
class PRF:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        """Share of predicted positives that were right (1.0 when nothing was predicted positive)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of actual positives found (1.0 when there were none)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_json(self) -> dict[str, float | int]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def prf(predicted: Sequence[bool], actual: Sequence[bool]) -> PRF:
    """Counts for a binary decision (e.g. "refused") against the truth."""
    if len(predicted) != len(actual):
        raise ValueError("one prediction per case")
    pairs = list(zip(predicted, actual, strict=True))
    return PRF(
        tp=sum(1 for p, a in pairs if p and a),
        fp=sum(1 for p, a in pairs if p and not a),
        fn=sum(1 for p, a in pairs if not p and a),
    )


# --- truthfulness -----------------------------------------------------------------------------------
def crag_outcome(*, answerable: bool, declined: bool, correct: bool) -> int:
    """CRAG-style score of one answer: +1 correct, 0 declined, −1 wrong.

    For a question the knowledge base cannot answer, declining *is* the correct answer (+1) and any
    substantive answer is an invention (−1).
    """
    if not answerable:
        return 1 if declined else -1
    if declined:
        return 0
    return 1 if correct else -1


def mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


# --- citations --------------------------------------------------------------------------------------
def citation_segments(answer: str) -> dict[int, list[str]]:
    """The text each citation marker [n] vouches for.

    A marker vouches for the text of its own line (markers, bullets and 【field】 headings removed). A
    line that is only a heading with a marker (``【申请材料】[1]``) vouches for the block below it: the
    lines up to the next blank line, marker or heading (closing remarks after a blank line are not the
    passage's text).
    """
    lines = answer.splitlines()
    out: dict[int, list[str]] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        marks = [int(m) for m in _MARKER.findall(line)]
        if not marks:
            i += 1
            continue
        own = _DECORATION.sub("", _MARKER.sub("", line)).strip()
        body = [own] if own else []
        j = i + 1
        if not own:
            while j < len(lines) and lines[j].strip() and not _MARKER.search(lines[j]):
                if lines[j].lstrip().startswith("【"):
                    break
                body.append(lines[j].strip())
                j += 1
        for n in marks:
            out.setdefault(n, []).extend(body)
        i = j if not own else i + 1
    return out


def _bigrams(s: str) -> set[str]:
    return {s[i : i + 2] for i in range(len(s) - 1)}


def sentence_supported(sentence: str, passage: str, min_overlap: float = 0.6) -> bool:
    """Verbatim (after normalisation) in the passage, or most of its character bigrams are there."""
    s, p = normalize(_DECORATION.sub("", sentence)), normalize(passage)
    if len(s) < 4:
        return True  # too short to carry a claim ("是", "1.")
    if s in p:
        return True
    grams = _bigrams(s)
    return bool(grams) and len(grams & _bigrams(p)) / len(grams) >= min_overlap


def segment_supported(segment: Sequence[str], passage: str, min_share: float = 0.8) -> bool:
    """Whether the passage backs the text a marker vouches for (≥ ``min_share`` of its sentences)."""
    sentences = [m.group(0) for line in segment for m in _SENTENCE.finditer(line)]
    sentences = [s for s in sentences if len(normalize(s)) >= 4]
    if not sentences:
        return False  # a marker that vouches for nothing supports nothing
    ok = sum(1 for s in sentences if sentence_supported(s, passage))
    return ok / len(sentences) >= min_share


# --- latency ----------------------------------------------------------------------------------------
def latency_summary(samples: Mapping[str, Sequence[float]]) -> dict[str, dict[str, float | int]]:
    """Per stage: count, p50, p95, max (ms, nearest-rank percentiles)."""
    out: dict[str, dict[str, float | int]] = {}
    for stage, values in samples.items():
        if not values:
            continue
        out[stage] = {
            "n": len(values),
            "p50_ms": round(percentile(values, 50), 2),
            "p95_ms": round(percentile(values, 95), 2),
            "max_ms": round(max(values), 2),
        }
    return out
