"""The report's PNG plots: per-intent accuracy, retrieval hit@k curves, turn latency histogram.

matplotlib's object API with the Agg canvas: no pyplot, no global backend switch, nothing at import.
Labels are English because the default fonts have no CJK glyphs (a missing glyph is a warning, and
warnings are errors in the tests).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

PLOTS = {
    "intent_accuracy": "intent_accuracy.png",
    "retrieval_curves": "retrieval_curves.png",
    "latency_histogram": "latency_histogram.png",
}


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _save(fig: Any, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).print_png(str(path))


def plot_intent_accuracy(
    per_intent: Mapping[str, float | None], per_kind: Mapping[str, float], path: Path
) -> None:
    fig = _figure(9, 3.6)
    ax1, ax2 = fig.subplots(1, 2)
    items = [(k, v) for k, v in per_intent.items() if v is not None]
    for ax, pairs, color, title in (
        (ax1, items, "#3b6ea5", "Intent recall per expected intent"),
        (ax2, list(per_kind.items()), "#5a9e6f", "Pass rate per case kind"),
    ):
        ax.bar(range(len(pairs)), [v for _, v in pairs], color=color)
        ax.set_xticks(range(len(pairs)), [k for k, _ in pairs], rotation=45, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_title(title)
    _save(fig, path)


def plot_retrieval_curves(curves: Mapping[str, Sequence[float]], path: Path) -> None:
    fig = _figure(6.4, 4)
    ax = fig.subplots()
    for label, curve in curves.items():
        ax.plot(range(1, len(curve) + 1), curve, marker="o", label=label)
    ax.set_xlabel("k")
    ax.set_ylabel("hit@k (expected document in top k)")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(range(1, 11))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Retrieval: hit@k")
    _save(fig, path)


def plot_latency(samples: Sequence[float], path: Path) -> None:
    fig = _figure(6.4, 3.6)
    ax = fig.subplots()
    values = [max(v, 0.01) for v in samples] or [0.01]
    lo, hi = math.log10(min(values)), math.log10(max(values))
    bins = [10 ** (lo + (hi - lo + 1e-9) * i / 30) for i in range(31)]
    ax.hist(values, bins=bins, color="#a5663b")
    ax.set_xscale("log")
    ax.set_xlabel("turn latency, ms (log scale)")
    ax.set_ylabel("turns")
    ax.set_title(f"Turn latency ({len(samples)} turns)")
    _save(fig, path)


def write_plots(report: Mapping[str, Any], out: Path) -> None:
    intent = report["intent"]
    plot_intent_accuracy(intent["per_intent"], intent["per_kind_pass"], out / PLOTS["intent_accuracy"])
    curves = {"govchat · gold cases": report["retrieval"]["cases"]["hit_curve"],
              "govchat · retrieval gold": report["retrieval"]["retrieval_gold"]["hit_curve"]}  # fmt: skip
    if report.get("baseline"):
        curves["LangChain+Chroma · gold cases"] = report["baseline"]["retrieval"]["hit_curve"]
    crud = report["retrieval"].get("crud_news") or {}
    for who, label in (("ours", "govchat · crud_news"), ("baseline", "LangChain+Chroma · crud_news")):
        if who in crud:
            curves[label] = crud[who]["hit_curve"]
    plot_retrieval_curves(curves, out / PLOTS["retrieval_curves"])
    totals = [
        c["timings_ms"]["total"] for c in report.get("cases", []) if "total" in (c.get("timings_ms") or {})
    ]
    plot_latency(totals, out / PLOTS["latency_histogram"])
