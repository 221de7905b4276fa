"""Retrieval quality on the colloquial gold set: hit@1, hit@5, MRR@10 by document (and by section).

python -m evals.retrieval_gold [--gold evals/gold/retrieval.jsonl] [--policy PATH]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from retrieval.knowledge_base import KnowledgeBase

GOLD_DIR = Path(__file__).resolve().parent / "gold"
# The real public policy ships in the sample knowledge base; ``--policy`` may point at another copy.
DEFAULT_POLICY = (
    Path(__file__).resolve().parents[1]
    / "retrieval"
    / "sample_kb"
    / "policies"
    / "hubei-ai-industry-implementation-opinions-2025.md"
)


def load_gold(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def ranked_docs(kb: KnowledgeBase, question: str, k: int = 10) -> tuple[list[str], list[tuple[str, str]]]:
    hits = kb.search(question, k=k * 3).hits
    docs: list[str] = []
    sections: list[tuple[str, str]] = []
    for h in hits:
        if h.chunk.doc_id not in docs:
            docs.append(h.chunk.doc_id)
        sections.append((h.chunk.doc_id, h.chunk.section))
    return docs[:k], sections[:k]


def evaluate(kb: KnowledgeBase, gold: Iterable[dict[str, Any]]) -> dict[str, Any]:
    n = hit1 = hit5 = 0
    mrr = 0.0
    sec_total = sec_hit5 = 0
    misses: list[dict[str, Any]] = []
    latencies: list[float] = []
    for case in gold:
        n += 1
        t0 = time.perf_counter()
        docs, sections = ranked_docs(kb, case["question"])
        latencies.append((time.perf_counter() - t0) * 1000)
        expected = case["expected_doc"]
        rank = docs.index(expected) + 1 if expected in docs else None
        hit1 += rank == 1
        hit5 += rank is not None and rank <= 5
        mrr += 1.0 / rank if rank else 0.0
        if case.get("expected_section"):
            sec_total += 1
            sec_hit5 += (expected, case["expected_section"]) in sections[:5]
        if rank != 1:
            misses.append(
                {"id": case["id"], "question": case["question"], "expected": expected, "got": docs[:3]}
            )
    latencies.sort()
    return {
        "questions": n,
        "hit@1": round(hit1 / n, 4) if n else 0.0,
        "hit@5": round(hit5 / n, 4) if n else 0.0,
        "mrr@10": round(mrr / n, 4) if n else 0.0,
        "section_hit@5": round(sec_hit5 / sec_total, 4) if sec_total else 0.0,
        "latency_ms_p50": round(latencies[len(latencies) // 2], 2) if latencies else 0.0,
        "misses": misses,
    }


def build_eval_kb(work_dir: Path, policy: Path | None, **overrides: Any) -> KnowledgeBase:
    from retrieval.config import RetrievalSettings
    from retrieval.factory import SAMPLE_KB_DIR, build_knowledge_base
    from serving.services import make_engine

    cfg = RetrievalSettings(embedder="hashing", **overrides)
    kb = build_knowledge_base(cfg, work_dir, make_engine(f"sqlite:///{work_dir / 'eval.sqlite3'}"))
    paths = [SAMPLE_KB_DIR] + ([policy] if policy and policy.exists() else [])
    kb.ingest_paths(paths)
    return kb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gold", type=Path, default=GOLD_DIR / "retrieval.jsonl")
    parser.add_argument("--policy", type=Path, default=DEFAULT_POLICY)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kb = build_eval_kb(Path(tmp), args.policy)
        report = evaluate(kb, load_gold(args.gold))
    misses = report.pop("misses")
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if args.show_misses:
        for m in misses:
            print(json.dumps(m, ensure_ascii=False))


if __name__ == "__main__":
    main()
