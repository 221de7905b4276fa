"""A bm25s index over chunk ids, persisted under the data dir and versioned with the knowledge base."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np


@dataclass(frozen=True)
class LexicalHit:
    chunk_id: str
    score: float


class BM25Index:
    """Immutable once built: rebuilding after a KB change produces a new index that replaces this one.

    bm25s is a static index (no incremental adds), which suits us: the KB changes in batches, and a
    rebuild from the SQL chunk table is a few seconds even at 100k chunks.
    """

    def __init__(self, model: bm25s.BM25 | None, chunk_ids: list[str], kb_version: int) -> None:
        self._model = model
        self._chunk_ids = chunk_ids
        self.kb_version = kb_version
        self._df: dict[str, int] = {}
        if model is not None and chunk_ids:
            counts = np.diff(np.asarray(model.scores["indptr"]))
            self._df = {tok: int(counts[i]) for tok, i in model.vocab_dict.items() if i < len(counts)}

    @classmethod
    def build(cls, chunk_ids: list[str], tokens: list[list[str]], kb_version: int) -> BM25Index:
        return cls.from_rows(zip(chunk_ids, tokens, strict=True), kb_version)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, Sequence[str]]], kb_version: int) -> BM25Index:
        """Builds from (chunk id, tokens) pairs as they stream in, e.g. straight from the chunk table.

        Tokens become integer ids on arrival (what bm25s does internally anyway): holding every
        token of 180k chunks as a Python string first costs ~2.5 GB during a rebuild.
        """
        chunk_ids: list[str] = []
        corpus: list[list[int]] = []
        vocab: dict[str, int] = {}
        for chunk_id, toks in rows:
            chunk_ids.append(chunk_id)
            row = []
            for tok in toks:
                tid = vocab.get(tok)
                if tid is None:
                    tid = vocab[tok] = len(vocab)
                row.append(tid)
            corpus.append(row)
        if not chunk_ids:
            return cls(None, [], kb_version)
        model = bm25s.BM25()
        # Without a single token there is no vocabulary to pass: let bm25s handle the empty lists.
        model.index((corpus, vocab) if vocab else corpus, show_progress=False)
        return cls(model, chunk_ids, kb_version)

    def __len__(self) -> int:
        return len(self._chunk_ids)

    def idf(self, token: str) -> float:
        """Smoothed inverse document frequency; unseen tokens get the maximum (they are rare)."""
        n = max(len(self._chunk_ids), 1)
        df = self._df.get(token, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def seen(self, token: str) -> bool:
        return token in self._df

    def specificity(self, token: str) -> float:
        """idf squared: coverage weighted this way is decided by the rare, specific words of a question
        (护照, 算力贷), not by the generic ones every passage shares (办理, 材料)."""
        return self.idf(token) ** 2

    def search(self, query_tokens: list[str], k: int) -> list[LexicalHit]:
        if self._model is None or not query_tokens:
            return []
        k = min(k, len(self._chunk_ids))
        known = [t for t in query_tokens if t in self._df]
        if not known:
            return []
        # Scoring is a sparse column sum (~0.1 ms at 180k chunks); bm25s's own top-k runs argpartition
        # over every chunk, mostly zeros, which costs ~5 ms there. Only positive scores can be hits,
        # so select among those; ties go to the lower index (chunk-id order) so results are stable.
        scores = self._model.get_scores(known)
        positive = np.flatnonzero(scores > 0)
        if positive.size > k:
            positive = np.sort(positive[np.argpartition(-scores[positive], k - 1)[:k]])
        order = positive[np.argsort(-scores[positive], kind="stable")]
        return [LexicalHit(self._chunk_ids[int(d)], float(scores[d])) for d in order]

    def save(self, directory: Path) -> None:
        """Writes to a sibling temp dir, then renames: a crash never leaves a half-written index."""
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._model is not None:
            self._model.save(str(tmp), show_progress=False)
        (tmp / "govchat.json").write_text(
            json.dumps({"kb_version": self.kb_version, "chunk_ids": self._chunk_ids}), encoding="utf-8"
        )
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            directory.rename(old)
        tmp.rename(directory)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> BM25Index | None:
        meta_path = directory / "govchat.json"
        if not meta_path.exists():
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        chunk_ids = list(meta["chunk_ids"])
        model = bm25s.BM25.load(str(directory), mmap=False, show_progress=False) if chunk_ids else None
        return cls(model, chunk_ids, int(meta["kb_version"]))
