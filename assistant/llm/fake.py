"""A scripted ChatModel for unit tests: canned replies, and a record of everything it was sent.

The record lets a test assert what the LLM would have seen, e.g. that no ID number ever reached it::

    model = ScriptedChatModel(["好的"])
    ...
    assert "420102199001011236" not in model.sent_text()
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.lowlevel

from assistant.llm.base import ChatMessage, LLMUnavailable


@dataclass(frozen=True)
class ScriptedFailure:
    """A scripted reply that yields ``partial`` and then raises ``error`` (a stream dying mid-answer)."""

    partial: str = ""
    error: Exception = field(default_factory=lambda: LLMUnavailable("scripted failure"))


@dataclass(frozen=True)
class RecordedCall:
    """One call the fake received."""

    messages: tuple[ChatMessage, ...]
    temperature: float
    max_tokens: int
    response_format: Mapping[str, Any] | None
    streamed: bool


Reply = str | ScriptedFailure | Exception
Responder = Callable[[tuple[ChatMessage, ...]], Reply]


class ScriptedChatModel:
    """Replies from a list (in order) or from a function of the messages.

    Args:
        replies: a sequence of replies used one per call, or a callable computing the reply. A reply is the
            text, an ``Exception`` to raise (e.g. ``LLMUnavailable``) or a ``ScriptedFailure``.
        identity: the model name to report.
        chunk_chars: characters per streamed piece.
    """

    def __init__(
        self,
        replies: Sequence[Reply] | Responder,
        *,
        identity: str = "scripted-fake",
        chunk_chars: int = 3,
    ) -> None:
        if chunk_chars < 1:
            raise ValueError("chunk_chars must be positive")
        self._responder: Responder | None = replies if callable(replies) else None
        self._queue: list[Reply] = [] if callable(replies) else list(replies)
        self._identity = identity
        self._chunk_chars = chunk_chars
        self.calls: list[RecordedCall] = []

    @property
    def identity(self) -> str:
        return self._identity

    def sent_text(self) -> str:
        """Every message content this fake was ever sent, joined (for "never reached the LLM" asserts)."""
        return "\n".join(m.content for call in self.calls for m in call.messages)

    def _next(
        self,
        messages: Sequence[ChatMessage],
        temperature: float,
        max_tokens: int,
        response_format: Mapping[str, Any] | None,
        streamed: bool,
    ) -> Reply:
        recorded = tuple(messages)
        self.calls.append(RecordedCall(recorded, temperature, max_tokens, response_format, streamed))
        if self._responder is not None:
            return self._responder(recorded)
        if not self._queue:
            raise AssertionError(f"ScriptedChatModel ran out of replies after {len(self.calls) - 1} calls")
        return self._queue.pop(0)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float,
        max_tokens: int,
        response_format: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[str, None]:
        reply = self._next(messages, temperature, max_tokens, response_format, streamed=True)
        if isinstance(reply, Exception):
            raise reply
        text = reply.partial if isinstance(reply, ScriptedFailure) else reply
        for i in range(0, len(text), self._chunk_chars):
            await anyio.lowlevel.checkpoint()  # let cancellation and other tasks in, like a real stream
            yield text[i : i + self._chunk_chars]
        if isinstance(reply, ScriptedFailure):
            raise reply.error

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float,
        max_tokens: int,
        response_format: Mapping[str, Any] | None = None,
    ) -> str:
        reply = self._next(messages, temperature, max_tokens, response_format, streamed=False)
        await anyio.lowlevel.checkpoint()
        if isinstance(reply, ScriptedFailure):
            raise reply.error
        if isinstance(reply, Exception):
            raise reply
        return reply
