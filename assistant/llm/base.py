"""The ChatModel interface: what the answerers need from any OpenAI-compatible LLM server.

Every failure to get an answer (server down, timeout, 5xx after retries, a stream that breaks or cannot be
parsed, a rejected request) surfaces as ``LLMUnavailable``, so the pipeline has one thing to catch before it
falls back to the extractive answer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

_ROLES = frozenset({"system", "user", "assistant"})


@dataclass(frozen=True)
class ChatMessage:
    """One chat message as sent to the model. ``content`` must already be masked.

    ``role`` is typed ``str`` so history turns convert without casts; unknown roles are refused at runtime.
    """

    role: str
    content: str

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise ValueError(f"unknown chat role {self.role!r}")

    def to_openai(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


class LLMUnavailable(RuntimeError):
    """No (complete) answer could be had from the model; fall back to the extractive answer."""


class LLMRequestRejected(LLMUnavailable):
    """The server refused the request (4xx: bad model name, context too long …); never retried."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


@runtime_checkable
class ChatModel(Protocol):
    """A chat LLM. ``identity`` names the model (recorded with every answer)."""

    @property
    def identity(self) -> str: ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float,
        max_tokens: int,
        response_format: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[str, None]:
        """Yield the answer's text pieces as they arrive (an async generator).

        Wrap it in ``contextlib.aclosing`` when you may stop early, so the upstream request is closed at once.

        Raises:
            LLMUnavailable: before or after some text was yielded; text already yielded stays valid but the
                answer is incomplete.
        """
        ...

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float,
        max_tokens: int,
        response_format: Mapping[str, Any] | None = None,
    ) -> str:
        """The whole answer (routing and slot extraction use this with a json_schema ``response_format``).

        Raises:
            LLMUnavailable: no answer could be had.
        """
        ...
