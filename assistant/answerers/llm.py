"""Grounded LLM answers: byte-identical system prompt first (vLLM prefix cache), then passages, then
the conversation; streamed; checked for citations afterwards."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.answerers.extractive import strip_prefix
from assistant.llm.base import ChatMessage
from assistant.memory.base import Turn
from retrieval.types import Hit


def passage_text(hit: Hit) -> str:
    """One passage as the model sees it (after its number)."""
    return f"《{hit.chunk.title}》{hit.chunk.section}：{strip_prefix(hit.chunk.text)}"


def passages_block(hits: Sequence[Hit]) -> str:
    lines = ["参考资料："]
    lines += [f"[{i}] {passage_text(h)}" for i, h in enumerate(hits, 1)]
    return "\n".join(lines)


def build_messages(
    system_prompt: str,
    hits: Sequence[Hit],
    history: Sequence[Turn],
    question: str,
    *,
    history_chars: int,
) -> list[ChatMessage]:
    """System prompt, then numbered passages, then recent (masked) history, then the question."""
    messages = [ChatMessage("system", system_prompt), ChatMessage("system", passages_block(hits))]
    recent: list[ChatMessage] = []
    budget = history_chars
    for turn in reversed(history):
        if turn.role not in ("user", "assistant") or len(turn.content) > budget:
            break
        budget -= len(turn.content)
        recent.append(ChatMessage(turn.role, turn.content))
    messages += reversed(recent)
    messages.append(ChatMessage("user", question))
    return messages
