"""The eval report: ``report.json`` + ``report.md`` + PNG plots, with a diff against the previous run.

The admin page shows ``report.md`` and reads ``report.json``; both carry the diff, so a regression is
visible where people look. The PNGs come from ``evals.plots``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evals.bench_common import markdown_table
from evals.plots import PLOTS, write_plots
from evals.summary import HEADLINE_DIRECTIONS


def load_previous(path: Path | None) -> dict[str, Any] | None:
    """The previous run's report, or None when there is none (or it cannot be read)."""
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _tolerance(key: str, previous: float) -> float:
    """How much a figure may move before the diff calls it a change. Timings are noisy; rates move by
    ≥ 0.002 when one case of a few hundred flips (smaller moves are approximate-search jitter); any
    PII leak counts."""
    if "latency" in key:
        return max(1.0, abs(previous) * 0.25)
    if key == "pii_leaks":
        return 0.0
    return 0.002


def diff_reports(current: Mapping[str, Any], previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """Headline deltas (with regressions flagged by each metric's direction) and per-case flips."""
    if previous is None:
        return {"previous": None}
    now, before = current.get("headline", {}), previous.get("headline", {})
    metrics: dict[str, dict[str, Any]] = {}
    for key, higher_better in HEADLINE_DIRECTIONS.items():
        a, b = before.get(key), now.get(key)
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            metrics[key] = {"previous": a, "current": b, "delta": None, "change": "n/a"}
            continue
        delta = b - a
        tolerance = _tolerance(key, a)
        change = (
            "same" if abs(delta) <= tolerance else ("better" if (delta > 0) == higher_better else "worse")
        )
        metrics[key] = {"previous": a, "current": b, "delta": round(delta, 4), "change": change}
    prev_cases = {c["id"]: c for c in previous.get("cases", []) if isinstance(c, dict) and "id" in c}
    now_fail: list[str] = []
    now_pass: list[str] = []
    for c in current.get("cases", []):
        p = prev_cases.get(c["id"])
        if p is None or p.get("passed") == c.get("passed"):
            continue
        (now_pass if c.get("passed") else now_fail).append(c["id"])
    return {
        "previous": {
            "generated_at": previous.get("generated_at"),
            "git_commit": previous.get("git_commit"),
            "fast": previous.get("fast"),
        },
        "comparable": bool(previous.get("fast")) == bool(current.get("fast")),
        "metrics": metrics,
        "regressions": [k for k, m in metrics.items() if m["change"] == "worse"],
        "newly_failing": now_fail,
        "newly_passing": now_pass,
    }


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".") if not v.is_integer() else f"{v:.1f}"
    return str(v)


def render_headline(report: Mapping[str, Any]) -> str:
    """The headline figures with the baseline beside them (what the CLI prints)."""
    head = report["headline"]
    base = report.get("baseline") or {}
    lift = report.get("lift") or {}
    base_vals = {
        "retrieval_hit@1": (base.get("retrieval") or {}).get("hit_at_1"),
        "retrieval_hit@5": (base.get("retrieval") or {}).get("hit_at_5"),
        "retrieval_mrr@10": (base.get("retrieval") or {}).get("mrr_at_10"),
        "retrieval_ndcg@10": (base.get("retrieval") or {}).get("ndcg_at_10"),
        "fact_hit": base.get("fact_hit"),
        "crag_score": base.get("crag_score"),
        "refusal_recall": (base.get("refusal") or {}).get("recall"),
        "decline_recall": (base.get("decline") or {}).get("recall"),
    }
    rows = [[k, _fmt(v), _fmt(base_vals.get(k)), _fmt(lift.get(k))] for k, v in head.items()]
    return markdown_table(["metric", "govchat", "LangChain+Chroma baseline", "lift"], rows)


def render_markdown(report: Mapping[str, Any], diff: Mapping[str, Any]) -> str:
    setup = report["setup"]
    lines = [
        f"# govchat evaluation {'(fast CI subset)' if report.get('fast') else '(full run)'}",
        "",
        f"Generated {report['generated_at']} at commit `{report.get('git_commit') or '?'}` in {report.get('duration_s')} s: "
        f"{setup['cases']} single-turn cases, {setup['flows']} guided flows, {setup['condense_pairs']} condense pairs, "
        f"{setup['retrieval_gold']} retrieval questions; embedder `{setup['embedder']}`, "
        f"LLM {('`' + setup['llm'] + '`') if setup.get('llm') else 'none (extractive answers)'}.",
        "",
        "## Headline (ours vs. a plain LangChain + Chroma pipeline)",
        "",
        render_headline(report),
        "",
    ]
    faith = report.get("faithfulness") or {}
    if faith.get("score") is None:
        lines += [f"LLM-judged faithfulness: {faith.get('note', 'not measured')}.", ""]
    lines += _diff_md(diff)
    intent = report["intent"]
    lines += ["## Intent", "", f"Accuracy {intent['accuracy']}. Confusion (rows expected, columns got):", ""]
    labels = [
        k
        for k, row in intent["confusion"].items()
        if any(row.values()) or any(r.get(k) for r in intent["confusion"].values())
    ]
    lines.append(
        markdown_table(
            ["expected \\ got", *labels], [[e, *(intent["confusion"][e][g] for g in labels)] for e in labels]
        )
    )
    lines += [
        "",
        "Pass rate per case kind: " + ", ".join(f"{k} {v}" for k, v in intent["per_kind_pass"].items()),
        "",
    ]
    lines += _retrieval_md(report)
    ref, facts, cit, crag = report["refusals"], report["facts"], report["citations"], report["crag"]
    lines += [
        "## Answers",
        "",
        f"- Refusal (harmful + injection): precision {ref['refusal']['precision']}, recall {ref['refusal']['recall']}.",
        f"- Decline when the KB cannot answer: precision {ref['decline']['precision']}, recall {ref['decline']['recall']}.",
        f"- Fact hit: {facts['fact_hit']} of {facts['cases']} answers carry every expected fact (fact recall {facts['fact_recall']}).",
        f"- Citations: {cit['citations']} cited passages, validity {cit['validity']} (retrieved {cit['retrieved']}, "
        f"document retrieved {cit['doc_retrieved']}, supporting text found {cit['supported']}; {cit['orphan_markers']} orphan markers).",
        f"- CRAG-style score {crag['score']} over {crag['cases']} questions: {crag['correct']} correct, "
        f"{crag['declined']} declined, {crag['wrong']} wrong.",
        f"- PII: {report['pii']['leaks']} leaks of {report['pii']['values']} raw values in {report['pii']['cases']} cases "
        "(answer, audit, session memory, database, LLM requests).",
        f"- Workflow (一件事) identification: {report['workflow']['accuracy']} over {report['workflow']['cases']} cases.",
        "",
    ]
    diag = report.get("consult_diagnostics") or {}
    if diag:
        diag_labels = {
            "misrouted": "routed to another intent",
            "declined_though_top1": "declined although search ranked the right document first",
            "declined_though_top5": "declined with the right document in the top 5",
            "declined_retrieval_miss": "declined, right document not in the top 5",
            "answered_from_other_doc": "answered from another document",
            "right_doc_missing_facts": "right document, but not the part that answers",
        }
        lines += ["Why answerable questions failed:", ""]
        lines += [f"- {diag_labels.get(k, k)}: {v['count']} ({', '.join(v['cases'][:12])}{' …' if v['count'] > 12 else ''})"
                  for k, v in diag.items() if v["count"]]  # fmt: skip
        lines.append("")
    fl, co = report["flows"], report["condense"]
    lines += [
        "## Flows and follow-ups",
        "",
        f"- Guided flows: {fl['completion']} completed to the expected handoff ({fl['flows']} flows, mean {fl['mean_turns']} turns, "
        f"{fl['reasks']} re-asked questions, handoffs {fl['handoffs']}).",
        f"- Condense: {co['accuracy']} standalone questions carry the right topic; the follow-up's answer cites the "
        f"expected document in {co['followup_doc_hit']}.",
        "",
        "## Latency per stage (ms)",
        "",
        markdown_table(
            ["stage", "n", "p50", "p95", "max"],
            [[k, v["n"], v["p50_ms"], v["p95_ms"], v["max_ms"]] for k, v in report["latency"].items()],
        ),
        "",
        "Plots: " + ", ".join(f"![{k}]({v})" for k, v in PLOTS.items()),
        "",
    ]
    lines += _failures_md(report)
    return "\n".join(lines) + "\n"


def _diff_md(diff: Mapping[str, Any]) -> list[str]:
    if not diff.get("previous"):
        return ["## Change since the previous run", "", "No previous report to compare with.", ""]
    prev = diff["previous"]
    out = ["## Change since the previous run", "",
           f"Against {prev.get('generated_at')} (commit `{prev.get('git_commit') or '?'}`)"
           + ("" if diff.get("comparable") else " — **not comparable**: one of the two runs is the fast subset") + ".", ""]  # fmt: skip
    rows = [
        [k, _fmt(m["previous"]), _fmt(m["current"]), _fmt(m["delta"]), m["change"]]
        for k, m in diff["metrics"].items()
    ]
    out.append(markdown_table(["metric", "previous", "now", "Δ", "change"], rows))
    out += ["", f"Regressions: {', '.join(diff['regressions']) or 'none'}. Newly failing cases: "
            f"{', '.join(diff['newly_failing']) or 'none'}; newly passing: {', '.join(diff['newly_passing']) or 'none'}.", ""]  # fmt: skip
    return out


def _retrieval_md(report: Mapping[str, Any]) -> list[str]:
    ret = report["retrieval"]
    rows = []
    for name, q in (("gold cases", ret["cases"]), ("retrieval gold set", ret["retrieval_gold"])):
        rows.append(
            [
                f"govchat · {name}",
                q["questions"],
                q["hit_at_1"],
                q["hit_at_5"],
                q["mrr_at_10"],
                q["ndcg_at_10"],
            ]
        )
    base = (report.get("baseline") or {}).get("retrieval")
    if base:
        rows.append(
            [
                "baseline · gold cases",
                base["questions"],
                base["hit_at_1"],
                base["hit_at_5"],
                base["mrr_at_10"],
                base["ndcg_at_10"],
            ]
        )
    crud = ret.get("crud_news") or {}
    if "ours" in crud:
        note = f"crud_news ({crud['documents']} articles, {crud['chunks']} chunks)"
        for who in ("ours", "baseline"):
            if who in crud:
                q = crud[who]
                rows.append([f"{'govchat' if who == 'ours' else 'baseline'} · {note}", q["questions"], q["hit_at_1"],
                             q["hit_at_5"], q["mrr_at_10"], q["ndcg_at_10"]])  # fmt: skip
    out = [
        "## Retrieval",
        "",
        markdown_table(["set", "questions", "hit@1", "hit@5", "MRR@10", "nDCG@10"], rows),
        "",
    ]
    out.append(f"Section hit@5 on the gold cases: {ret['cases'].get('section_hit@5')}.")
    if "skipped" in crud:
        out.append(f"crud_news retrieval-at-scale set: skipped ({crud['skipped']}).")
    elif crud.get("limit") is not None:
        out.append(f"crud_news: first {crud['limit']} articles plus every gold article (fewer distractors than the full "
                   "63.6k corpus, so these rates are optimistic; `python -m evals.bench_crud_news` runs the full set). "
                   "Dense search is approximate (HNSW), so with 61 questions repeated runs differ by a few points.")  # fmt: skip
    return [*out, ""]


def _failures_md(report: Mapping[str, Any], limit: int = 60) -> list[str]:
    failed = [c for c in report.get("cases", []) if not c.get("passed")]
    out = ["## Failing cases", "", f"{len(failed)} of {len(report.get('cases', []))} single-turn cases fail."]
    if failed:
        rows = []
        for c in failed[:limit]:
            why = c.get("error") or _why(c)
            rows.append([c["id"], c["kind"], c["question"], c["expected_intent"], c["intent"], why])
        out += ["", markdown_table(["id", "kind", "question", "expected", "got", "why"], rows)]
        if len(failed) > limit:
            out.append(f"\n… and {len(failed) - limit} more in report.json.")
    broken = [f for f in report.get("flow_runs", []) if not f.get("completed")]
    if broken:
        out += ["", "Flows not completed: " + "; ".join(
            f"{f['id']} ({f['workflow']}: identified {f['identified']}, handoff {f['handoff']}, turns {f['turns']}"
            + (f", missing {f['missing_materials']}" if f.get("missing_materials") else "") + ")" for f in broken)]  # fmt: skip
    return [*out, ""]


def _why(c: Mapping[str, Any]) -> str:
    reasons = []
    if not c.get("intent_ok"):
        reasons.append("intent")
    if c.get("expected_workflow") and c.get("workflow") != c.get("expected_workflow"):
        reasons.append(f"workflow {c.get('workflow')}")
    if c.get("leaks"):
        reasons.append("PII leak: " + ", ".join(c["leaks"]))
    if c.get("crag") == -1:
        reasons.append("wrong or invented answer")
    elif c.get("crag") == 0:
        reasons.append("declined an answerable question")
    if c.get("facts") and not all(c["facts"]):
        reasons.append("missing facts")
    if c.get("reply_ok") is False:
        reasons.append("wrong fixed reply")
    if c["kind"] in ("unanswerable", "out_of_scope") and not c.get("declined"):
        reasons.append("answered instead of declining")
    return "; ".join(reasons) or "?"


def write_report(report: dict[str, Any], out: Path, previous: Mapping[str, Any] | None) -> None:
    """report.json (with the diff), report.md and the PNGs, into ``out`` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    diff = diff_reports(report, previous)
    report["diff"] = diff
    write_plots(report, out)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report, diff), encoding="utf-8")
