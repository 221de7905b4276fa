"""Retrieval at scale: the crud_news dev questions over a news corpus, ours next to the baseline.

The full benchmark (63.6k articles, throughput, index sizes) is ``python -m evals.bench_crud_news``;
here the eval report gets the quality side on a deterministic slice — the first ``limit`` articles plus
every gold article — so it runs in seconds and both pipelines index exactly the same documents. A
slice has fewer distractors than the full corpus, so its hit rates are optimistic; the report says so.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.baseline import LangChainChromaBaseline
from evals.bench_common import doc_ranking
from evals.bench_crud_news import iter_records, load_questions, to_document
from evals.metrics import latency_summary, ranking_quality
from retrieval.config import RetrievalSettings
from retrieval.embedders.factory import build_embedder
from retrieval.factory import build_knowledge_base
from serving.services import make_engine

log = logging.getLogger(__name__)
CHUNK_SIZE = 300  # the benchmark's setting for short news articles


def run_crud_news(
    shared: Path, retrieval: RetrievalSettings, limit: int | None, *, baseline: bool = True
) -> dict[str, Any]:
    """hit@k / MRR / nDCG@10 on the dev questions; ``{"skipped": why}`` when the corpus is absent."""
    bench = shared / "bench" / "crud_news"
    docs_path, questions_path = bench / "docs.jsonl.gz", bench / "qa_dev.jsonl"
    if not docs_path.exists() or not questions_path.exists():
        return {"skipped": f"corpus not found under {bench}"}
    questions = load_questions(questions_path)
    gold = frozenset(q.gold_doc_id for q in questions)
    cfg = retrieval.model_copy(update={"chunk_size": CHUNK_SIZE})
    out: dict[str, Any] = {"limit": limit, "questions": len(questions), "chunk_size": CHUNK_SIZE}
    with tempfile.TemporaryDirectory(prefix="govchat-crud-") as tmp:
        work = Path(tmp)
        kb = build_knowledge_base(cfg, work / "kb", make_engine(f"sqlite:///{work / 'kb.sqlite3'}"))
        t0 = time.perf_counter()
        report = kb.ingest_documents(to_document(r) for r in iter_records(docs_path, limit, gold))
        out["documents"] = len(report.added)
        out["chunks"] = report.chunks
        out["ingest_s"] = round(time.perf_counter() - t0, 2)
        rankings, samples = [], []
        for q in questions:
            t1 = time.perf_counter()
            result = kb.search(q.question, 10)
            samples.append((time.perf_counter() - t1) * 1000)
            rankings.append(doc_ranking(h.chunk.doc_id for h in result.hits))
        golds = [q.gold_doc_id for q in questions]
        out["ours"] = ranking_quality(rankings, golds).to_json()
        out["ours_latency"] = latency_summary({"search": samples})["search"]
        if baseline:
            base = LangChainChromaBaseline(build_embedder(cfg), work / "baseline", chunk_size=CHUNK_SIZE)
            base.index_documents(
                [(str(r["id"]), str(r["text"])) for r in iter_records(docs_path, limit, gold)]
            )
            brank, bsamples = [], []
            for q in questions:
                t1 = time.perf_counter()
                hits = base.search(q.question, 30)
                bsamples.append((time.perf_counter() - t1) * 1000)
                brank.append(doc_ranking(h.doc_id for h in hits)[:10])
            out["baseline"] = ranking_quality(brank, golds).to_json()
            out["baseline_latency"] = latency_summary({"search": bsamples})["search"]
            out["baseline_chunks"] = base.chunks
    return out
