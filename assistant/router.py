"""Intent routing: rules (no LLM, and the fallback), and an LLM router with JSON-schema output."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from assistant.items import ItemMatcher
from assistant.types import Intent, RouteDecision
from connectors.parsers import is_question

log = logging.getLogger(__name__)
_PUNCT = re.compile(r"[\s，。！？,.!?~～、；;：:…“”\"'（）()]+")
# "办理新生儿出生一件事" / "申请退休" — a bare command naming an item, with no question word.
_DO_ITEM = re.compile(r"^(我)?(要|想)?(办理|办|申请)(一下)?.{2,20}$")


class RuleRouter:
    """Deterministic routing from cue phrases (prompts/router.yaml) and the 一件事 catalog."""

    def __init__(self, cues: dict[str, Any], items: ItemMatcher) -> None:
        # YAML reads bare numbers (12345) as ints: cue lists are always compared as text.
        self._cues: dict[str, list[str]] = {
            k: [str(c) for c in v] for k, v in cues.items() if isinstance(v, list)
        }
        self._items = items
        self._chitchat: dict[str, set[str]] = {
            k: {_PUNCT.sub("", str(p).lower()) for p in v} for k, v in (cues.get("chitchat") or {}).items()
        }

    def _has(self, key: str, text: str) -> bool:
        return any(c.lower() in text for c in self._cues.get(key, []))

    def has_transact_cue(self, text: str) -> bool:
        return self._has("transact", text.lower())

    def item_ids(self) -> list[str]:
        return self._items.ids()

    def followup_cues(self) -> list[str]:
        return list(self._cues.get("followup", []))

    def chitchat_reply(self, text: str) -> str:
        """Which fixed chitchat reply fits (greeting / thanks / goodbye / identity); greeting by default."""
        bare = _PUNCT.sub("", text.lower())
        for reply, phrases in self._chitchat.items():
            if bare in phrases or any(len(p) >= 2 and p in bare for p in phrases):
                return reply
        return "greeting"

    def is_domain(self, text: str) -> bool:
        return self._has("domain", text.lower()) or self._items.match(text) is not None

    def route(self, text: str) -> RouteDecision:
        t = text.lower()
        bare = _PUNCT.sub("", t)
        item = self._items.match(text)
        if len(bare) <= 12:
            for reply, phrases in self._chitchat.items():
                if bare in phrases:
                    return RouteDecision(Intent.CHITCHAT, 0.95, None, "chitchat phrase", reply=reply)
        # 好差评 is the rating system citizens ask about, not a complaint; its 差评 must not count.
        if self._has("complaint", t.replace("好差评", "")):
            return RouteDecision(Intent.COMPLAINT, 0.85, item, "complaint cue")
        if self._has("human", t):
            return RouteDecision(Intent.HUMAN, 0.85, item, "human cue")
        if item and self._has("transact", t):
            return RouteDecision(Intent.TRANSACT, 0.9, item, "transact cue + item")
        if item and _DO_ITEM.match(bare) and not is_question(text):
            return RouteDecision(Intent.TRANSACT, 0.75, item, "bare 'do <item>' command")
        return RouteDecision(Intent.CONSULT, 0.6 if item else 0.5, item, "default consult")


ROUTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "intent": {"type": "string", "enum": [i.value for i in Intent]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "workflow_id": {"type": ["string", "null"]},
    },
    "required": ["intent", "confidence", "workflow_id"],
    "additionalProperties": False,
}


def parse_route_json(raw: str, valid_items: set[str]) -> RouteDecision | None:
    """Validates the LLM's JSON; None on anything unexpected (the caller falls back to rules)."""
    try:
        data = json.loads(raw)
        intent = Intent(data["intent"])
        confidence = float(data.get("confidence", 0.5))
        workflow = data.get("workflow_id")
    except (ValueError, KeyError, TypeError):
        return None
    if workflow is not None and workflow not in valid_items:
        workflow = None
    return RouteDecision(intent, max(0.0, min(1.0, confidence)), workflow, "llm")
