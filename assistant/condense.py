"""Turns a follow-up into a standalone question: by rules (topic carry-over), or by the LLM."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.items import ItemMatcher, core_name
from assistant.pii import mask_text


def needs_context(message: str, followup_cues: Sequence[str], items: ItemMatcher) -> bool:
    """A message needs the conversation when it names no item itself and reads like a follow-up."""
    if items.match(message) is not None:
        return False
    text = message.strip()
    if len(text) <= 6:
        return True
    return len(text) <= 24 and any(c in text for c in followup_cues)


def condense_by_topic(
    message: str, topic_id: str | None, items: ItemMatcher, followup_cues: Sequence[str]
) -> str:
    """'那要带什么材料?' + topic birth -> '新生儿出生 那要带什么材料?'. Unchanged without a topic.

    The result is masked again: the standalone question is stored and searched, and rewriting may bring
    digits together that the masker saw apart."""
    if not topic_id or topic_id not in items.ids() or not needs_context(message, followup_cues, items):
        return mask_text(message)
    return mask_text(f"{core_name(items.name(topic_id))} {message.strip()}")
