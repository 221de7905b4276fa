"""Understand one message: intent, dialogue act and item, from the trained models and the catalog.

The item is decided from two signals: a catalog term the message names (longest name, alias, synonym
or workflow keyword) and the item model's probability. A named term wins unless the model is confident
of another item and gives the named one almost nothing (a synonym shared by two items, say); an item
only the model sees counts when its probability clears ``min_item``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.items import ItemMatcher
from assistant.nlu.corpus import NONE_ITEM
from assistant.nlu.model import NLUModel, Prediction
from assistant.types import Intent
from connectors.parsers import is_question


@dataclass(frozen=True)
class Understanding:
    intent: Intent
    intent_p: float
    act: str
    act_p: float
    item: str | None
    item_p: float
    item_source: str  # "named" (a catalog term), "model", or "" when no item
    second_intent: Intent | None = None
    intent_probs: tuple[tuple[str, float], ...] = ()
    item_probs: dict[str, float] = field(default_factory=dict)
    question: bool = False  # reads as a question (question mark, 吗/呢, an interrogative word)

    def p(self, intent: Intent) -> float:
        return dict(self.intent_probs).get(intent.value, 0.0)

    def to_json(self) -> dict[str, object]:
        return {
            "intent": self.intent.value, "intent_p": round(self.intent_p, 3), "act": self.act,
            "act_p": round(self.act_p, 3), "item": self.item, "item_p": round(self.item_p, 3),
            "item_source": self.item_source,
        }  # fmt: skip


class Understander:
    def __init__(
        self,
        model: NLUModel,
        items: ItemMatcher,
        *,
        min_intent: float = 0.35,
        min_item: float = 0.45,
        override_item: float = 0.8,
        catalog_terms: dict[str, list[str]] | None = None,
    ) -> None:
        self.model = model
        self.catalog_terms = catalog_terms or {}
        self.items = items
        self.min_intent = min_intent
        self.min_item = min_item
        self.override_item = override_item

    def item_of(self, text: str) -> tuple[str | None, float, str, dict[str, float]]:
        """(item id, confidence, source, the item model's probabilities) — see the module docstring."""
        pred = self.model.item.predict(text)
        found = self._item(text, pred)
        return (*found, pred.probs)

    def _item(self, text: str, pred: Prediction) -> tuple[str | None, float, str]:
        named = self.items.match(text)
        known = set(self.items.ids())
        if named is not None:
            named_p = pred.probs.get(named, 0.0)
            if (
                pred.label in known
                and pred.label != named
                and pred.p >= self.override_item
                and named_p < 0.05
            ):
                return pred.label, pred.p, "model"
            return named, max(0.9, named_p), "named"
        if pred.label != NONE_ITEM and pred.label in known and pred.p >= self.min_item:
            return pred.label, pred.p, "model"
        return None, pred.probs.get(NONE_ITEM, 0.0), ""

    def understand(self, text: str) -> Understanding:
        preds = self.model.predict(text)
        ip = preds.intent
        ranked = sorted(ip.probs.items(), key=lambda kv: -kv[1])
        intent = Intent(ip.label) if ip.p >= self.min_intent else Intent.CONSULT
        second = Intent(ranked[1][0]) if len(ranked) > 1 else None
        ap = preds.act
        item, item_p, source = self._item(text, preds.item)
        item_probs = preds.item.probs
        probs = tuple((k, round(v, 4)) for k, v in ranked)
        return Understanding(
            intent, ip.p, ap.label, ap.p, item, item_p, source, second, probs, item_probs, is_question(text)
        )
