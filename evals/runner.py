"""``govchat eval``: runs every gold set through the real assistant and writes the report.

    govchat eval --out eval-reports/latest [--fast] [--previous DIR/report.json] [--publish]
    python -m evals.runner --out DIR [--fast] ...

The assistant is built by the same composition root as the API (``build_services``) on an isolated
copy of the settings: a temporary data dir with SQLite, in-process sessions, no real handoff endpoints
— so an eval never writes cases or audit rows into a production database. Retrieval and LLM settings
are kept: the report measures what is configured. The LangChain + Chroma baseline answers the same
questions beside it.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from assistant.pii import mask_pii
from assistant.prompt_store import PromptStore
from evals import summary
from evals.baseline import LangChainChromaBaseline
from evals.cases import GOLD_DIR, Case, GoldSets, fast_subset, load_gold
from evals.execute import CaseRun, run_case, run_condense, run_flow
from evals.metrics import crag_outcome, facts_found, latency_summary, mean, prf, rank_of, ranking_quality
from evals.pii_check import database_text, echo_chat_model
from evals.retrieval_gold import DEFAULT_POLICY, ranked_docs
from evals.retrieval_gold import load_gold as load_retrieval_gold
from evals.scoring import CaseResult, Replies, score_case
from retrieval.factory import SAMPLE_KB_DIR
from serving.services import Services, build_services
from serving.settings import DBSettings, HandoffSettings, RedisSettings, Settings

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared"
DEFAULT_CRUD_LIMIT = 2000


@dataclass(frozen=True)
class EvalOptions:
    out: Path
    fast: bool = False
    previous: Path | None = None
    publish_dir: Path | None = None  # also copy the report here (the admin page reads <data_dir>/eval/latest)
    crud_news_limit: int | None = DEFAULT_CRUD_LIMIT  # 0 = skip, None = the whole corpus
    baseline: bool = True
    shared: Path = DEFAULT_SHARED
    policy: Path = DEFAULT_POLICY
    gold_dir: Path = GOLD_DIR
    command: str = ""


def eval_settings(base: Settings, data_dir: Path) -> Settings:
    """The configured settings, isolated: own data dir, SQLite, in-process sessions, no live endpoints."""
    return base.model_copy(
        update={
            "data_dir": data_dir,
            "db": DBSettings(),
            "redis": RedisSettings(),
            "handoff": HandoffSettings(),
        }
    )


def _build(settings: Settings, data_dir: Path, policy: Path, **kwargs: Any) -> Services:
    data_dir.mkdir(parents=True, exist_ok=True)
    services = build_services(eval_settings(settings, data_dir), **kwargs)
    paths = [SAMPLE_KB_DIR] + ([policy] if policy.exists() else [])
    report = services.kb.ingest_paths(paths)
    if report.failed:
        raise RuntimeError(f"eval knowledge base failed to ingest: {report.failed}")
    return services


def _replies(prompts: PromptStore) -> Replies:
    names = ("no_evidence", "out_of_scope", "refuse_sensitive", "refuse_injection", "human_offer",
             "complaint_offer", "greeting", "thanks", "goodbye", "identity", "unverified_footer",
             "llm_unavailable", "memory_degraded")  # fmt: skip
    return Replies({n: prompts.reply(n) for n in names})


async def _run_cases(services: Services, cases: tuple[Case, ...], llm: Any = None) -> list[CaseRun]:
    sent = llm.sent_text if llm is not None else None
    return [await run_case(services, c, sent) for c in cases]


def _score(
    cases: tuple[Case, ...], runs: list[CaseRun], replies: Replies, db_text: str, tag: str = ""
) -> list[CaseResult]:
    out = []
    for case, run in zip(cases, runs, strict=True):
        sinks = {f"{tag}{k}": v for k, v in run.sinks.items()}
        if case.pii_values:
            sinks[f"{tag}database"] = db_text
        out.append(score_case(case, run.record, replies, sinks))
    return out


def _retrieval(
    services: Services, items: list[tuple[str, str, str | None]]
) -> tuple[dict[str, Any], list[float], list[int | None]]:
    """Document ranking quality (and section hit@5) for (question, doc, section) items."""
    rankings, golds, samples, misses = [], [], [], []
    section_total = section_hits = 0
    for question, doc, section in items:
        t0 = time.perf_counter()
        docs, sections = ranked_docs(services.kb, question, 10)
        samples.append((time.perf_counter() - t0) * 1000)
        rankings.append(docs)
        golds.append(doc)
        if section is not None:
            section_total += 1
            section_hits += (doc, section) in sections[:5]
        if not docs or docs[0] != doc:
            misses.append({"question": question, "expected": doc, "got": docs[:3]})
    quality = ranking_quality(rankings, golds).to_json()
    quality["section_hit@5"] = round(section_hits / section_total, 4) if section_total else None
    quality["misses"] = misses
    return quality, samples, [rank_of(r, g, 10) for r, g in zip(rankings, golds, strict=True)]


def _baseline(services: Services, gold: GoldSets, policy: Path, work: Path) -> dict[str, Any]:
    """The same single-turn questions through LangChain + Chroma; it never routes, refuses or declines."""
    base = LangChainChromaBaseline(services.kb.embedder, work / "baseline")
    base.index_paths([SAMPLE_KB_DIR] + ([policy] if policy.exists() else []))
    rankings, golds, facts_hit, crag, samples = [], [], [], [], []
    for case in gold.cases:
        t0 = time.perf_counter()
        hits = base.search(case.question, 30)
        samples.append((time.perf_counter() - t0) * 1000)
        ranking = list(dict.fromkeys(h.doc_id for h in hits))[:10]
        answer = base.answer(hits)
        if case.expected_doc and case.kind in ("consult", "pii"):
            rankings.append(ranking)
            golds.append(case.expected_doc)
        found = facts_found(answer, case.expected_facts)
        if case.expected_facts:
            facts_hit.append(1.0 if all(found) else 0.0)
        if case.answerable or case.expect_decline:
            top_docs = {h.doc_id for h in hits[: base.answer_k]}
            correct = case.expected_doc in top_docs and all(found)
            crag.append(crag_outcome(answerable=case.answerable, declined=False, correct=correct))
    kinds = [c.kind for c in gold.cases]
    refusal = prf([False] * len(kinds), [k in summary.SAFETY_KINDS for k in kinds])
    scoped = [k for k in kinds if k in summary.DECLINE_KINDS]
    decline = prf([False] * len(scoped), [k in summary.SHOULD_DECLINE for k in scoped])
    quality = ranking_quality(rankings, golds).to_json()
    return {
        "pipeline": "langchain_text_splitters.RecursiveCharacterTextSplitter(500/50) + langchain_chroma.Chroma "
        f"+ {services.kb.embedder.identity}; answer = top {base.answer_k} passages",
        "chunks": base.chunks,
        "index_s": round(base.index_seconds, 2),
        "retrieval": quality,
        "fact_hit": round(mean(facts_hit), 4),
        "crag_score": round(mean(crag), 4),
        "refusal": refusal.to_json(),
        "decline": decline.to_json(),
        "latency": latency_summary({"search": samples}).get("search", {}),
    }


async def _faithfulness(
    services: Services, results: list[CaseResult], cases: tuple[Case, ...]
) -> dict[str, Any]:
    from evals.judge import judge_faithfulness

    if services.llm is None:
        return {"score": None, "note": "not measured: no LLM configured (set GOVCHAT_LLM__BASE_URL)"}
    scores: list[float] = []
    failed = 0
    by_id = {c.id: c for c in cases}
    for r in results:
        if r.kind not in ("consult", "pii") or r.declined or not r.citations:
            continue
        ids = [c.chunk_id for c in r.citations]
        live = await anyio.to_thread.run_sync(services.kb.registry.fetch_live_chunks, ids)
        passages = [live[i][0].text for i in ids if i in live]
        # The judge is an LLM too: it gets the question masked, like every other LLM request.
        question = mask_pii(by_id[r.id].question).text
        score = await judge_faithfulness(services.llm, question, r.answer, passages)
        if score is None:
            failed += 1
        else:
            scores.append(score)
    return {"score": round(mean(scores), 4) if scores else None, "judged": len(scores), "failed": failed,
            "judge": services.llm.identity}  # fmt: skip


def _git_commit() -> str:
    """HEAD's short hash, with "-dirty" when tracked files differ from it (the run measured those)."""

    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else ""

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{head}-dirty" if head and dirty else head


async def evaluate(settings: Settings, options: EvalOptions) -> dict[str, Any]:
    """Runs every set and returns the report (not yet written)."""
    started = time.perf_counter()
    gold = load_gold(options.gold_dir)
    if options.fast:
        gold = fast_subset(gold)
    with tempfile.TemporaryDirectory(prefix="govchat-eval-") as tmp:
        work = Path(tmp)
        services = await anyio.to_thread.run_sync(lambda: _build(settings, work / "main", options.policy))
        replies = _replies(services.assistant.prompts)
        runs = await _run_cases(services, gold.cases)
        db_text = await anyio.to_thread.run_sync(database_text, services.engine)
        results = _score(gold.cases, runs, replies, db_text)

        # The PII cases once more, with an LLM that records every request it is sent.
        pii_cases = tuple(c for c in gold.cases if c.pii_values)
        echo = echo_chat_model()
        llm_services = await anyio.to_thread.run_sync(
            lambda: _build(settings, work / "pii-llm", options.policy, llm=echo)
        )
        llm_runs = await _run_cases(llm_services, pii_cases, echo)
        llm_db = await anyio.to_thread.run_sync(database_text, llm_services.engine)
        llm_results = {r.id: r for r in _score(pii_cases, llm_runs, replies, llm_db, tag="llm_run:")}
        results = [
            replace(r, leaks=r.leaks + llm_results[r.id].leaks) if r.id in llm_results else r for r in results
        ]
        await llm_services.aclose()

        flows = [await run_flow(services, f) for f in gold.flows]
        condense = [await run_condense(services, p) for p in gold.condense]

        ranked = [c for c in gold.cases if c.expected_doc and c.kind in ("consult", "pii")]
        items = [(c.question, c.expected_doc or "", c.expected_section) for c in ranked]
        case_retrieval, search_ms, ranks = _retrieval(services, items)
        case_ranks = {c.id: rank for c, rank in zip(ranked, ranks, strict=True)}
        sets = load_retrieval_gold(GOLD_DIR / "retrieval.jsonl")
        if options.fast:
            sets = sets[::4]
        gold_retrieval, gold_ms, _ = _retrieval(
            services, [(g["question"], g["expected_doc"], g.get("expected_section")) for g in sets]
        )
        faith = await _faithfulness(services, results, gold.cases)
        baseline = (
            await anyio.to_thread.run_sync(lambda: _baseline(services, gold, options.policy, work))
            if options.baseline
            else None
        )
        kb_info = {"documents": len(services.kb.documents()), "embedder": services.kb.embedder.identity}
        await services.aclose()

    crud: dict[str, Any] = {"skipped": "fast run"} if options.fast else {"skipped": "--crud-news-limit 0"}
    if not options.fast and options.crud_news_limit != 0:
        from evals.crud_news import run_crud_news

        crud = await anyio.to_thread.run_sync(
            lambda: run_crud_news(
                options.shared, settings.retrieval, options.crud_news_limit, baseline=options.baseline
            )
        )

    flow_ms = [ms for f in flows for ms in f.turn_ms]
    sections: dict[str, Any] = {
        "intent": summary.intent_summary(results),
        "workflow": summary.workflow_accuracy(results),
        "retrieval": {"cases": case_retrieval, "retrieval_gold": gold_retrieval, "crud_news": crud},
        "refusals": summary.refusal_summary(results),
        "facts": summary.facts_summary(results),
        "citations": summary.citation_summary(results),
        "crag": summary.crag_summary(results),
        "consult_diagnostics": summary.consult_diagnostics(results, case_ranks),
        "pii": {
            **summary.pii_summary(results, sum(len(c.pii_values) for c in pii_cases)),
            "llm_requests": len(echo.calls),  # proof the LLM path was exercised, not skipped
        },
        "flows": summary.flow_summary(flows),
        "condense": summary.condense_summary(condense),
        "latency": summary.stage_latency(results, {"search.wall": search_ms + gold_ms, "flow.turn": flow_ms}),
        "faithfulness": faith,
    }
    head = summary.headline(sections)
    report: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": options.command,
        "fast": options.fast,
        "git_commit": _git_commit(),
        "setup": {
            **kb_info,
            "llm": settings.llm.model if settings.llm.base_url else None,
            "cases": len(gold.cases),
            "kinds": {
                k: sum(1 for c in gold.cases if c.kind == k)
                for k in dict.fromkeys(c.kind for c in gold.cases)
            },
            "flows": len(gold.flows),
            "condense_pairs": len(gold.condense),
            "retrieval_gold": len(sets),
        },
        "headline": head,
        **sections,
        "cases": [{**r.to_json(), "retrieval_rank": case_ranks.get(r.id)} for r in results],
        "flow_runs": [f.to_json() for f in flows],
        "condense_runs": [c.to_json() for c in condense],
    }
    if baseline is not None:
        report["baseline"] = baseline
        report["lift"] = _lift(head, baseline, sections)
    report["duration_s"] = round(time.perf_counter() - started, 1)
    return report


def _lift(head: dict[str, Any], base: dict[str, Any], sections: dict[str, Any]) -> dict[str, float]:
    """Ours minus the baseline on the figures both have."""
    pairs = {
        "retrieval_hit@1": base["retrieval"]["hit_at_1"],
        "retrieval_hit@5": base["retrieval"]["hit_at_5"],
        "retrieval_mrr@10": base["retrieval"]["mrr_at_10"],
        "retrieval_ndcg@10": base["retrieval"]["ndcg_at_10"],
        "fact_hit": base["fact_hit"],
        "crag_score": base["crag_score"],
        "refusal_recall": base["refusal"]["recall"],
        "decline_recall": base["decline"]["recall"],
    }
    return {k: round(float(head[k]) - float(v), 4) for k, v in pairs.items() if head.get(k) is not None}


def run_eval(settings: Settings, options: EvalOptions) -> dict[str, Any]:
    """Evaluates, then writes Markdown + JSON + PNGs into ``options.out`` (and the publish dir)."""
    from evals.report import load_previous, write_report

    previous = load_previous(options.previous or options.out / "report.json")
    report = anyio.run(evaluate, settings, options)
    write_report(report, options.out, previous)
    if options.publish_dir is not None:
        write_report(report, options.publish_dir, previous)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.runner", description="govchat gold-set evaluation")
    parser.add_argument("--out", type=Path, default=REPO / "eval-reports" / "latest")
    parser.add_argument("--fast", action="store_true", help="the deterministic CI subset")
    parser.add_argument("--previous", type=Path, default=None, help="report.json to diff against")
    parser.add_argument("--publish", action="store_true", help="also write <data_dir>/eval/latest")
    parser.add_argument("--crud-news-limit", type=int, default=DEFAULT_CRUD_LIMIT, help="0 = skip, -1 = all")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for noisy in ("bm25s", "jieba", "chromadb", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = Settings()
    options = EvalOptions(
        out=args.out,
        fast=args.fast,
        previous=args.previous,
        publish_dir=settings.data_dir / "eval" / "latest" if args.publish else None,
        crud_news_limit=None if args.crud_news_limit < 0 else args.crud_news_limit,
        baseline=not args.no_baseline,
        command="python -m evals.runner " + " ".join(argv if argv is not None else sys.argv[1:]),
    )
    report = run_eval(settings, options)
    from evals.report import render_headline

    print(render_headline(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
