"""Retrieval at scale: ingest the crud_news corpus (63.6k Chinese news articles) and measure it.

Reports ingestion throughput end to end (JSON lines → SQL + Chroma + BM25), index sizes on disk, peak
RSS, warm search latency (p50/p99) for lexical, dense and hybrid search, and hit@k / MRR@10 on the
dev questions, next to a whole-document jieba + bm25s baseline built in the same run.

    python -m evals.bench_crud_news [--limit N] [--chunk-size N] [--work-dir DIR] [--out FILE]

``--limit N`` indexes the first N articles plus every gold article, so a quick run still answers
all questions (its quality numbers are then optimistic: fewer distractors).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.bench_common import (
    WholeDocBM25Baseline,
    cpu_seconds,
    doc_ranking,
    latency,
    markdown_table,
    mib,
    path_size,
    peak_rss_bytes,
    quality,
    query_variants,
)
from retrieval.config import RetrievalSettings
from retrieval.factory import build_knowledge_base
from retrieval.knowledge_base import KnowledgeBase
from retrieval.types import Block, LoadedDocument, MetaValue
from serving.services import make_engine

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULT_WORK_DIR = REPO / "data" / "bench-crud-news"
DEFAULT_OUT = REPO / "eval-reports" / "bench_crud_news.json"
TITLE_CHARS = 30
TOP_K = 10
TARGETS = {"hybrid_p50_ms": 10.0, "hybrid_p99_ms": 30.0, "min_chunks": 100_000, "ingest_chunks_per_s": 500.0}
# "default" is what the product runs with this embedder (the hashing fallback ranks with its own dense
# weight, 0 unless configured); the other three pin their weights to measure each signal as such.
MODES = ("default", "lexical", "dense", "hybrid")


@dataclass(frozen=True)
class Question:
    qid: str
    question: str
    gold_doc_id: str


def load_questions(path: Path) -> list[Question]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            out.append(Question(rec["qid"], rec["question"], rec["gold_doc_id"]))
    return out


def iter_records(
    path: Path, limit: int | None = None, keep: frozenset[str] = frozenset()
) -> Iterator[dict[str, Any]]:
    """Article records in file order: all of them, or the first ``limit`` plus those named in ``keep``."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if not line.strip():
                continue
            rec = json.loads(line)
            if limit is None or i < limit or rec["id"] in keep:
                yield rec


def to_document(rec: dict[str, Any]) -> LoadedDocument:
    """One article as the knowledge base's bulk ingest expects it (news has no title: use its opening)."""
    text = str(rec["text"])
    metadata: dict[str, MetaValue] = {}
    if rec.get("date"):
        metadata["published"] = str(rec["date"])[:10]
    return LoadedDocument(
        doc_id=str(rec["id"]),
        title=text[:TITLE_CHARS].strip() or f"新闻 {rec['id']}",
        doc_type="article",
        source="crud_news",
        blocks=(Block(section="", text=text),),
        metadata=metadata,
    )


def _progress(items: Iterable[Any], every: int, label: str) -> Iterator[Any]:
    """Passes items through, logging a count and the rate to stderr every ``every`` items."""
    start = time.perf_counter()
    n = 0
    for n, item in enumerate(items, 1):
        yield item
        if n % every == 0:
            took = time.perf_counter() - start
            print(f"  {label}: {n} in {took:.0f}s ({n / took:.0f}/s)", file=sys.stderr, flush=True)


def _open_kb(work_dir: Path, chunk_size: int, **overrides: float) -> KnowledgeBase:
    """A KB in one measured mode. The product ranks with the hashing fallback's own dense weight
    (``hashing_dense_weight``, 0 by default: lexical ranking); the benchmark pins the weights each mode
    names so lexical, dense and hybrid are each measured as such."""
    overrides.setdefault("hashing_dense_weight", overrides.get("dense_weight", 1.0))
    cfg = RetrievalSettings(embedder="hashing", chunk_size=chunk_size).model_copy(update=overrides)
    engine = make_engine(f"sqlite:///{work_dir / 'govchat.db'}")
    return build_knowledge_base(cfg, work_dir / "kb", engine)


def _measure(
    search: Callable[[str], tuple[list[str], dict[str, float]]],
    questions: list[Question],
    queries: list[str],
    warmup: int,
) -> dict[str, Any]:
    """Quality on the questions, then warm latency over ``queries`` (stage timings when given)."""
    rankings = [search(q.question)[0] for q in questions]
    for q in queries[:warmup]:
        search(q)
    samples: list[float] = []
    stages: dict[str, list[float]] = {}
    for q in queries:
        t0 = time.perf_counter()
        _, timings = search(q)
        samples.append((time.perf_counter() - t0) * 1000)
        for name, ms in timings.items():
            stages.setdefault(name, []).append(ms)
    return {
        "quality": quality(rankings, [q.gold_doc_id for q in questions]).to_json(),
        "latency": latency(samples).to_json(),
        "stages_p50_ms": {k: round(latency(v).p50_ms, 3) for k, v in stages.items()},
    }


def _kb_searcher(kb: KnowledgeBase) -> Callable[[str], tuple[list[str], dict[str, float]]]:
    def search(query: str) -> tuple[list[str], dict[str, float]]:
        result = kb.search(query, TOP_K)
        return doc_ranking(h.chunk.doc_id for h in result.hits), dict(result.timings_ms)

    return search


def run(
    *,
    shared: Path,
    work_dir: Path,
    chunk_size: int,
    limit: int | None,
    queries: int,
    reuse: bool = False,
    baseline: bool = True,
) -> dict[str, Any]:
    """Runs the whole benchmark and returns the report (also the JSON written by ``main``)."""
    docs_path = shared / "bench" / "crud_news" / "docs.jsonl.gz"
    questions = load_questions(shared / "bench" / "crud_news" / "qa_dev.jsonl")
    gold = frozenset(q.gold_doc_id for q in questions)
    report: dict[str, Any] = {
        "benchmark": "crud_news",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            # Other work on the machine skews timings; the load average says how much there was.
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": {"embedder": "hashing", "chunk_size": chunk_size, "limit": limit, "top_k": TOP_K},
        "targets": TARGETS,
    }
    if not reuse:
        shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True, exist_ok=True)

    print("ingesting…", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    kb = _open_kb(work_dir, chunk_size)
    t1 = time.perf_counter()
    if reuse and kb.stats()["chunks"]:
        report["ingestion"] = {"skipped": "reused an existing work dir (--reuse)"}
    else:
        cpu0 = cpu_seconds()
        docs = _progress((to_document(r) for r in iter_records(docs_path, limit, gold)), 5000, "docs")
        ing = kb.ingest_documents(docs)
        t2 = time.perf_counter()
        seconds = t2 - t1
        cpu = cpu_seconds() - cpu0
        report["ingestion"] = {
            "documents": len(ing.added),
            "chunks": ing.chunks,
            "failed": len(ing.failed),
            "seconds": round(seconds, 1),
            "chunks_per_s": round(ing.chunks / seconds, 1),
            "docs_per_s": round(len(ing.added) / seconds, 1),
            "kb_open_s": round(t1 - t0, 2),
            # CPU seconds of this process (all threads, Chroma's included): the rate is comparable
            # between runs even when other work on the machine slows the wall clock down.
            "cpu_seconds": round(cpu, 1),
            "chunks_per_cpu_s": round(ing.chunks / cpu, 1) if cpu > 0 else None,
        }
    stats = kb.stats()
    report["corpus"] = {
        "documents": stats["documents"],
        "chunks": stats["chunks"],
        "questions": len(questions),
    }
    kb_dir = work_dir / "kb"
    db = work_dir / "govchat.db"
    report["index_bytes"] = {
        "chroma": path_size(kb_dir / "chroma"),
        "lexical": path_size(kb_dir / "lexical"),
        "sqlite": sum(path_size(db.with_name(db.name + s)) for s in ("", "-wal", "-shm")),
    }
    report["peak_rss_bytes"] = {"after_ingest": peak_rss_bytes()}

    print("searching…", file=sys.stderr, flush=True)
    variants = query_variants([q.question for q in questions], queries)
    warmup = min(50, len(variants))
    kbs = {
        "hybrid": kb,
        "default": _open_kb(
            work_dir, chunk_size, hashing_dense_weight=RetrievalSettings().hashing_dense_weight
        ),
        "lexical": _open_kb(work_dir, chunk_size, dense_weight=0.0),
        "dense": _open_kb(work_dir, chunk_size, lexical_weight=0.0),
    }
    report["search"] = {
        mode: _measure(_kb_searcher(kbs[mode]), questions, variants, warmup) for mode in MODES
    }
    report["peak_rss_bytes"]["after_search"] = peak_rss_bytes()
    del kbs

    if baseline:
        print("baseline…", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        base = WholeDocBM25Baseline()
        for rec in _progress(iter_records(docs_path, limit, gold), 10000, "baseline docs"):
            base.add(str(rec["id"]), str(rec["text"]))
        base.build()
        took = time.perf_counter() - t0
        base.save(work_dir / "baseline-bm25")
        report["index_bytes"]["baseline"] = path_size(work_dir / "baseline-bm25")
        report["baseline_index"] = {
            "documents": len(base),
            "seconds": round(took, 1),
            "docs_per_s": round(len(base) / took, 1),
        }
        report["search"]["baseline"] = _measure(
            lambda q: (base.search(q, TOP_K), {}), questions, variants, warmup
        )
        report["peak_rss_bytes"]["after_baseline"] = peak_rss_bytes()
    report["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    report["checks"] = _checks(report)
    return report


def _checks(report: dict[str, Any]) -> dict[str, bool | None]:
    """Pass/fail of each target; None where this run did not measure it."""
    hybrid = report["search"]["hybrid"]
    ing = report.get("ingestion", {})
    checks: dict[str, bool | None] = {
        "chunks_at_least_100k": report["corpus"]["chunks"] >= TARGETS["min_chunks"],
        "hybrid_p50_le_10ms": hybrid["latency"]["p50_ms"] <= TARGETS["hybrid_p50_ms"],
        "hybrid_p99_le_30ms": hybrid["latency"]["p99_ms"] <= TARGETS["hybrid_p99_ms"],
        "ingest_ge_500_chunks_per_s": (
            ing["chunks_per_s"] >= TARGETS["ingest_chunks_per_s"] if "chunks_per_s" in ing else None
        ),
    }
    if "baseline" in report["search"]:
        base = report["search"]["baseline"]["quality"]
        for mode in ("default", "hybrid"):
            ours = report["search"][mode]["quality"]
            checks[f"{mode}_beats_baseline_mrr10"] = ours["mrr_at_10"] > base["mrr_at_10"]
    return checks


def render_markdown(report: dict[str, Any]) -> str:
    corpus, ing = report["corpus"], report.get("ingestion", {})
    lines = [
        f"## crud_news retrieval benchmark ({corpus['documents']} articles → {corpus['chunks']} chunks "
        f"at chunk_size {report['settings']['chunk_size']}, hashing embedder, {report['machine']['cpus']} CPUs)",
        "",
    ]
    if "chunks_per_s" in ing:
        lines.append(
            f"Ingestion end to end: {ing['chunks']} chunks in {ing['seconds']} s = **{ing['chunks_per_s']} chunks/s** "
            f"({ing['docs_per_s']} docs/s; KB open {ing['kb_open_s']} s; {ing['cpu_seconds']} CPU s, "
            f"{ing['chunks_per_cpu_s']} chunks per CPU second; load average {report['machine']['loadavg_start'][0]} "
            f"at start, {report['machine']['loadavg_end'][0]} at end)."
        )
    else:
        lines.append(f"Ingestion: {ing.get('skipped', 'not measured')}.")
    sizes = report["index_bytes"]
    lines.append(
        "Index size on disk: "
        + ", ".join(f"{k} {mib(v)} MiB" for k, v in sizes.items())
        + ". Peak RSS: "
        + ", ".join(f"{k} {mib(v)} MiB" for k, v in report["peak_rss_bytes"].items())
        + "."
    )
    lines.append("")
    rows = []
    for mode, res in report["search"].items():
        q, lat = res["quality"], res["latency"]
        stages = " ".join(f"{k}={v}" for k, v in res["stages_p50_ms"].items() if k != "total")
        rows.append([mode, q["hit_at_1"], q["hit_at_5"], q["hit_at_10"], q["mrr_at_10"],
                     lat["p50_ms"], lat["p99_ms"], lat["queries"], stages or "-"])  # fmt: skip
    lines.append(markdown_table(
        ["retrieval", "hit@1", "hit@5", "hit@10", "MRR@10", "p50 ms", "p99 ms", "queries", "stage p50 ms"], rows
    ))  # fmt: skip
    lines += [
        "",
        "Checks: " + ", ".join(f"{k}={'n/a' if v is None else v}" for k, v in report["checks"].items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.bench_crud_news", description=__doc__.splitlines()[0])
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared/ folder beside the repo")
    p.add_argument(
        "--limit", type=int, default=None, help="index only the first N articles (+ gold articles)"
    )
    p.add_argument("--chunk-size", type=int, default=300, help="KB chunk size in characters (default 300)")
    p.add_argument(
        "--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="KB data dir (wiped unless --reuse)"
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON report (a .md is written beside it)")
    p.add_argument("--queries", type=int, default=610, help="latency queries (questions, rephrased)")
    p.add_argument("--reuse", action="store_true", help="search an already ingested work dir")
    p.add_argument("--no-baseline", action="store_true", help="skip the whole-document jieba+bm25s baseline")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report = run(
        shared=args.shared,
        work_dir=args.work_dir,
        chunk_size=args.chunk_size,
        limit=args.limit,
        queries=args.queries,
        reuse=args.reuse,
        baseline=not args.no_baseline,
    )
    report["command"] = "python -m evals.bench_crud_news " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    md = render_markdown(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    args.out.with_suffix(".md").write_text(md + "\n", encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
