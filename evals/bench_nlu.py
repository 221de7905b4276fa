"""How much the trained understanding costs per turn: training time, size on disk, held-out figures and
the latency of ``Understander.understand`` (intent, act and item of one message), without an embedding model.

    python -m evals.bench_nlu [--repeat 3] [--json]

The messages timed are the corpus's own held-out split (never the dev set), each understood ``--repeat``
times after a warm-up; the figure is per message, as a turn sees it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from assistant.items import ItemMatcher
from assistant.nlu.corpus import load_corpus
from assistant.nlu.model import NLUModel
from assistant.nlu.understand import Understander
from connectors.catalog_loader import load_catalog, load_guides
from evals.bench_common import latency
from retrieval.factory import SAMPLE_KB_DIR
from serving.services import catalog_terms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    guides = load_guides(SAMPLE_KB_DIR / "guides")
    catalog = load_catalog(None, guides)
    items = ItemMatcher.from_catalog(guides, catalog.values(), {})
    terms = catalog_terms(items, guides)
    corpus = load_corpus(terms)
    model = NLUModel.train(corpus)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.joblib"
        model.save(path)
        size = path.stat().st_size
    held = load_corpus(terms, split="held_out")
    understander = Understander(model, items, catalog_terms=terms)
    texts = list(dict.fromkeys(r.text for rows in (held.intent, held.act, held.item) for r in rows))
    for t in texts[:50]:
        understander.understand(t)
    samples: list[float] = []
    for _ in range(args.repeat):
        for t in texts:
            t0 = time.perf_counter()
            understander.understand(t)
            samples.append((time.perf_counter() - t0) * 1000)
    lat = latency(samples)
    out = {
        "train_seconds": round(model.train_seconds, 1),
        "bytes": size,
        "held_out_macro_f1": {
            name: getattr(model, name).score(getattr(held, name)).get("macro_f1")
            for name in ("intent", "act", "item")
        },
        "messages": len(texts),
        "understand_ms": {
            "p50": round(lat.p50_ms, 2),
            "p99": round(lat.p99_ms, 2),
            "max": round(lat.max_ms, 2),
        },
    }
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return
    print(f"trained in {out['train_seconds']} s, {size / 1e6:.1f} MB on disk")
    print("held-out macro-F1:", ", ".join(f"{k} {v}" for k, v in out["held_out_macro_f1"].items()))
    ms = out["understand_ms"]
    print(f"understand() over {len(texts)} messages x {args.repeat}: p50 {ms['p50']} ms, "
          f"p99 {ms['p99']} ms, max {ms['max']} ms")  # fmt: skip


if __name__ == "__main__":
    main()
