"""Cheap token estimates and history trimming, so a prompt never exceeds the model's context.

A real tokenizer would need the model's files (not available offline, and not worth a dependency for a
budget). Qwen-style BPE vocabularies spend about one token per CJK character and one per ~4 ASCII
characters; the estimate errs on the high side for mixed text, which is the safe side for a budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from assistant.llm.base import ChatMessage


def estimate_tokens(text: str) -> int:
    """Approximate token count: 1 per non-ASCII character (CJK, full-width punctuation, emoji), 1 per 4 ASCII."""
    ascii_chars = sum(1 for ch in text if ch.isascii())
    return (len(text) - ascii_chars) + (ascii_chars + 3) // 4


def fit_messages(
    messages: Sequence[ChatMessage],
    max_chars: int,
    *,
    measure: Callable[[str], int] = len,
) -> tuple[ChatMessage, ...]:
    """Drop the oldest history until the messages fit ``max_chars`` (as counted by ``measure``).

    Leading system messages (instructions and passages: the cached prompt prefix) and the last message (the
    current question) are always kept, even when they alone exceed the budget: the guard bounds the question
    and the caller bounds the passages. After trimming, history starts with a user message, so the model
    never sees an answer without its question.

    Args:
        messages: system messages first, then the conversation, the current question last.
        max_chars: budget; pass ``measure=estimate_tokens`` to budget in tokens instead.
        measure: cost of one message's content.
    """
    if not messages:
        return ()
    n_system = 0
    while n_system < len(messages) - 1 and messages[n_system].role == "system":
        n_system += 1
    head, history, last = messages[:n_system], list(messages[n_system:-1]), messages[-1]
    fixed = sum(measure(m.content) for m in head) + measure(last.content)
    used = fixed + sum(measure(m.content) for m in history)
    while history and used > max_chars:
        used -= measure(history.pop(0).content)
    while history and history[0].role != "user":
        history.pop(0)
    return (*head, *history, last)
