"""Optional LLM-judged faithfulness: is every claim in an answer backed by the passages it had?

Only runs when a real LLM is configured (``GOVCHAT_LLM__BASE_URL``); without one the report says the
score was not measured rather than inventing a proxy. The judge sees the answer and the full text of
the passages, never the citizen's unmasked message (the pipeline already masked it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.llm.base import ChatMessage, ChatModel, LLMUnavailable

log = logging.getLogger(__name__)
# Kept beside the gold sets so it ships as package data with them.
PROMPT_PATH = Path(__file__).resolve().parent / "gold" / "judge_faithfulness.md"
JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "unsupported": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
    },
    "required": ["score", "unsupported"],
    "additionalProperties": False,
}


def judge_messages(question: str, answer: str, passages: Sequence[str], system: str) -> list[ChatMessage]:
    numbered = "\n\n".join(f"[{i}] {p}" for i, p in enumerate(passages, 1)) or "（无资料）"
    user = f"资料：\n{numbered}\n\n问题：{question}\n\n回答：{answer}"
    return [ChatMessage("system", system), ChatMessage("user", user)]


def parse_judgement(raw: str) -> float | None:
    """The score in [0, 1] from the judge's JSON; None when the reply is not what was asked for."""
    try:
        data = json.loads(raw)
        score = float(data["score"])
    except (ValueError, KeyError, TypeError):
        return None
    if score != score:  # NaN
        return None
    return max(0.0, min(1.0, score))


async def judge_faithfulness(
    llm: ChatModel, question: str, answer: str, passages: Sequence[str], system: str | None = None
) -> float | None:
    """One answer's faithfulness score, or None when the judge could not be asked or answered badly."""
    prompt = system if system is not None else PROMPT_PATH.read_text(encoding="utf-8")
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "faithfulness", "schema": JUDGE_SCHEMA, "strict": True},
    }
    try:
        raw = await llm.complete(
            judge_messages(question, answer, passages, prompt),
            temperature=0.0,
            max_tokens=300,
            response_format=fmt,
        )
    except LLMUnavailable as exc:
        log.warning("faithfulness judge unavailable: %s", exc)
        return None
    return parse_judgement(raw)
