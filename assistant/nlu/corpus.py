"""The NLU training corpus shipped with the product, and its deterministic held-out split.

``data/*.jsonl`` holds utterances written for training (never the dev or gold sets used to measure):
``{"text", "intent", "item"}`` rows for intent and item, ``{"text", "act", "item", "question"}`` rows for
the dialogue act of a reply inside a guided flow (their statements also train intent as consult). The catalog adds one row per item name, alias, keyword
and bundled service, so an item that an admin adds is known without new utterances.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
HELD_OUT_SHARE = 0.15
NONE_ITEM = "none"

# Labels the intent model predicts; "injection" rows train "refuse" (the guard refuses them first anyway).
INTENT_LABELS = ("consult", "transact", "human", "complaint", "chitchat", "out_of_scope", "refuse")
ACT_LABELS = ("inform", "affirm", "deny", "correct", "cancel", "submit", "ask", "human", "start", "unclear")
_INTENT_ALIASES = {"injection": "refuse"}
# Replies that state facts ("我是他儿子", "冇欠钱 也没员工了") also train the intent model, as consult: out of a
# flow the same sentences are a citizen telling their situation, not a complaint or a refusal.
_SITUATION_ACTS = ("inform", "correct")


@dataclass(frozen=True)
class Example:
    text: str
    label: str


@dataclass(frozen=True)
class Corpus:
    intent: tuple[Example, ...]
    act: tuple[Example, ...]
    item: tuple[Example, ...]

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for name, rows in (("intent", self.intent), ("act", self.act), ("item", self.item)):
            h.update(name.encode())
            for r in rows:
                h.update(f"{r.text}\t{r.label}\n".encode())
        return h.hexdigest()[:16]


def held_out(text: str) -> bool:
    """A stable 15 % of texts, by hash: the same text is always on the same side."""
    digest = hashlib.sha256(text.strip().encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < HELD_OUT_SHARE


def read_rows(paths: Iterable[Path]) -> Iterator[dict[str, object]]:
    for path in sorted(paths):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path.name}:{n}: not JSON: {e}") from None
            if isinstance(row, dict) and isinstance(row.get("text"), str) and row["text"].strip():
                yield row


def load_corpus(
    catalog_terms: dict[str, list[str]], data_dir: Path = DATA_DIR, *, split: str = "train"
) -> Corpus:
    """Rows of one side of the split ("train", "held_out" or "all"); catalog rows are always train."""
    intent: list[Example] = []
    act: list[Example] = []
    item: list[Example] = []
    for row in read_rows(data_dir.glob("*.jsonl")):
        text = str(row["text"]).strip()
        side = "held_out" if held_out(text) else "train"
        if split != "all" and side != split:
            continue
        if "act" in row:
            label = str(row["act"])
            if label in ACT_LABELS:
                act.append(Example(text, label))
            if label == "submit":  # "帮我提交吧" outside a flow is a request to act
                intent.append(Example(text, "transact"))
            elif label == "human":
                intent.append(Example(text, "human"))
            elif label in _SITUATION_ACTS:  # telling one's situation is neither a complaint nor a refusal
                intent.append(Example(text, "consult"))
            continue
        label = _INTENT_ALIASES.get(str(row.get("intent")), str(row.get("intent")))
        if label not in INTENT_LABELS:
            continue
        intent.append(Example(text, label))
        if label in ("consult", "transact"):
            act.append(Example(text, "ask" if label == "consult" else "start"))
        if "item" in row:  # rows that say which item (or none) train the item model
            item.append(Example(text, str(row["item"] or NONE_ITEM)))
        elif label in ("complaint", "chitchat", "out_of_scope"):
            item.append(Example(text, NONE_ITEM))
    if split != "held_out":
        for item_id, terms in sorted(catalog_terms.items()):
            item += [Example(t, item_id) for t in sorted(set(terms)) if len(t) >= 2]
    return Corpus(tuple(intent), tuple(act), tuple(item))
