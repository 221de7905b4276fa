"""Pure helpers shared by the retrieval benchmarks: ranking metrics, latency percentiles, sizes, tables.

Kept free of any knowledge-base code so the numbers a benchmark reports can be checked by unit tests
on hand-made rankings, independent of what the index returns.
"""

from __future__ import annotations

import math
import resource
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


def doc_ranking(chunk_doc_ids: Iterable[str]) -> list[str]:
    """Document ids in rank order, each at its first (best) position.

    Search returns chunks; several chunks of one article must not push other articles out of the
    top k, and the article counts at the rank of its best chunk.
    """
    seen: set[str] = set()
    out: list[str] = []
    for doc_id in chunk_doc_ids:
        if doc_id not in seen:
            seen.add(doc_id)
            out.append(doc_id)
    return out


def hit_at(ranking: Sequence[str], gold: str, k: int) -> bool:
    """Whether ``gold`` is among the first ``k`` entries of ``ranking``."""
    if k <= 0:
        raise ValueError("k must be positive")
    return gold in ranking[:k]


def reciprocal_rank(ranking: Sequence[str], gold: str, k: int = 10) -> float:
    """1/rank of ``gold`` within the first ``k`` entries, 0 when it is not there."""
    if k <= 0:
        raise ValueError("k must be positive")
    for rank, doc_id in enumerate(ranking[:k], 1):
        if doc_id == gold:
            return 1.0 / rank
    return 0.0


@dataclass(frozen=True)
class Quality:
    """Retrieval quality over a question set (rates in [0, 1])."""

    questions: int
    hit_at_1: float
    hit_at_5: float
    hit_at_10: float
    mrr_at_10: float

    def to_json(self) -> dict[str, float | int]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def quality(rankings: Sequence[Sequence[str]], golds: Sequence[str]) -> Quality:
    """hit@1/5/10 and MRR@10 of document rankings (already deduplicated) against one gold id each."""
    if len(rankings) != len(golds):
        raise ValueError("one ranking per gold id")
    n = len(golds)
    if n == 0:
        return Quality(0, 0.0, 0.0, 0.0, 0.0)
    pairs = list(zip(rankings, golds, strict=True))
    return Quality(
        questions=n,
        hit_at_1=sum(hit_at(r, g, 1) for r, g in pairs) / n,
        hit_at_5=sum(hit_at(r, g, 5) for r, g in pairs) / n,
        hit_at_10=sum(hit_at(r, g, 10) for r, g in pairs) / n,
        mrr_at_10=sum(reciprocal_rank(r, g, 10) for r, g in pairs) / n,
    )


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least p% of samples at or below it.

    Nearest-rank never interpolates, so a reported p99 is a latency some query actually had.
    """
    if not values:
        raise ValueError("no samples")
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Latency:
    """Latency summary in milliseconds."""

    queries: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    def to_json(self) -> dict[str, float | int]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def latency(samples_ms: Sequence[float]) -> Latency:
    if not samples_ms:
        raise ValueError("no samples")
    return Latency(
        queries=len(samples_ms),
        p50_ms=percentile(samples_ms, 50),
        p99_ms=percentile(samples_ms, 99),
        mean_ms=sum(samples_ms) / len(samples_ms),
        max_ms=max(samples_ms),
    )


# Realistic rephrasings of a citizen's question: distinct strings of similar length, so the latency
# run is not a replay of 61 identical lookups.
_VARIANTS: tuple[str, ...] = (
    "{q}？",
    "{q}",
    "请问{q}？",
    "关于{q}",
    "{q}的情况",
    "我想了解{q}",
    "{q}有哪些报道",
    "{q}最新消息",
    "介绍一下{q}",
    "{q}，具体说说",
)


def query_variants(questions: Sequence[str], n: int) -> list[str]:
    """``n`` queries cycling through every question, then through rephrasings of each."""
    if n < 0:
        raise ValueError("n must not be negative")
    bases = [q.strip().rstrip("？?。！!").strip() for q in questions]
    bases = [b for b in bases if b]
    if not bases:
        return []
    out = []
    for i in range(n):
        template = _VARIANTS[(i // len(bases)) % len(_VARIANTS)]
        out.append(template.format(q=bases[i % len(bases)]))
    return out


def path_size(path: Path) -> int:
    """Bytes on disk of a file or of every file under a folder; 0 when it does not exist."""
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        return 0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def cpu_seconds() -> float:
    """User + system CPU time of this process so far, all threads included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def mib(n_bytes: float) -> float:
    return round(n_bytes / (1024 * 1024), 1)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table; cells are str()-ed and pipes escaped."""

    def cell(v: object) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(cell(h) for h in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError("row width differs from the header")
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)


class WholeDocBM25Baseline:
    """The naive reference: whole articles, default jieba search-mode cuts, plain bm25s.

    What a team gets in an afternoon without chunking, stopwords, synonyms or dense vectors; our
    chunked hybrid retrieval has to beat it to justify itself. Documents are mapped to token ids as
    they stream in, so tens of thousands of articles never sit in memory as token strings.
    """

    def __init__(self) -> None:
        import jieba

        self._jieba = jieba.Tokenizer()
        self._vocab: dict[str, int] = {}
        self._doc_ids: list[str] = []
        self._corpus: list[list[int]] = []
        self._model: Any = None

    def tokenize(self, text: str) -> list[str]:
        return [t for t in self._jieba.lcut_for_search(text) if t.strip()]

    def add(self, doc_id: str, text: str) -> None:
        vocab = self._vocab
        ids = []
        for tok in self.tokenize(text):
            tid = vocab.get(tok)
            if tid is None:
                tid = vocab[tok] = len(vocab)
            ids.append(tid)
        self._doc_ids.append(doc_id)
        self._corpus.append(ids)

    def build(self) -> None:
        import bm25s

        model = bm25s.BM25()
        model.index((self._corpus, self._vocab), show_progress=False)
        self._corpus = []
        self._model = model

    def __len__(self) -> int:
        return len(self._doc_ids)

    def search(self, query: str, k: int) -> list[str]:
        """Document ids, best first (only documents sharing a token with the query)."""
        model: Any = self._model
        if model is None:
            raise RuntimeError("build() the baseline before searching it")
        known = [t for t in self.tokenize(query) if t in self._vocab]
        if not known:
            return []
        docs, scores = model.retrieve([known], k=min(k, len(self._doc_ids)), show_progress=False, n_threads=1)
        return [self._doc_ids[int(d)] for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def save(self, directory: Path) -> None:
        model: Any = self._model
        if model is None:
            raise RuntimeError("build() the baseline before saving it")
        model.save(str(directory), show_progress=False)
