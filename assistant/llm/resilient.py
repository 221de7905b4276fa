"""The ChatModel every part of the assistant talks to: masked, on the turn's deadline, behind a breaker.

``ResilientChatModel`` wraps the real client (``OpenAICompatChatModel``) or a fake and adds, for every
call (routing, condensing, slot extraction, answers, the caseworker's draft):

- **masking**: every message goes through ``assistant.pii.mask_text`` before it leaves the process, and
  non-streamed answers (routing JSON, a condensed question) are masked again on the way back, so a
  number the model reassembled from pieces is never stored. Streamed answers are checked sentence by
  sentence by the output guard instead (``assistant.output_guard``).
- **one deadline per turn** (``assistant.llm.deadline``): first answer token within ``first_token_s`` of
  the turn's start (every call before it shares that budget), whole turn within ``turn_s``. A call that
  runs out of time is cancelled (its HTTP request closed, so vLLM stops generating) and ends as
  ``LLMUnavailable``, which the callers already answer with rules or the extractive answer.
- **a circuit breaker** (``connectors.resilience``): after ``breaker_failures`` failed calls in a row,
  calls fail at once for ``breaker_reset_s``, so a dead or hanging LLM costs nothing after the first
  failures; then one trial call probes it. A timeout only counts against the server when the call had
  at least ``min_verdict_s`` of budget (default: half the first-token budget; a call squeezed by
  earlier ones proves nothing).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any

import anyio

from assistant.llm.base import ChatMessage, ChatModel, LLMUnavailable
from assistant.llm.deadline import current_turn, deadlines
from assistant.pii import mask_text
from connectors.resilience import CircuitBreaker


class _DeadlineExceeded(LLMUnavailable):
    """The call ran out of the turn's time (already recorded on the breaker)."""


class ResilientChatModel:
    """A ChatModel over ``inner`` with masking, per-turn deadlines and a circuit breaker."""

    def __init__(
        self,
        inner: ChatModel,
        *,
        first_token_s: float = 3.0,
        turn_s: float = 20.0,
        breaker: CircuitBreaker | None = None,
        redact: Callable[[str], str] = mask_text,
        min_verdict_s: float | None = None,
    ) -> None:
        if first_token_s <= 0 or turn_s <= 0:
            raise ValueError("deadlines must be positive")
        self._inner = inner
        self._first_token_s = first_token_s
        self._turn_s = turn_s
        self.breaker = breaker or CircuitBreaker(failure_threshold=3, reset_timeout_s=30.0, name="LLM")
        self._redact = redact
        # A timeout counts against the server only when the call had at least this much time.
        self._min_verdict_s = first_token_s / 2 if min_verdict_s is None else min_verdict_s

    @property
    def identity(self) -> str:
        return self._inner.identity

    @property
    def inner(self) -> ChatModel:
        return self._inner

    async def aclose(self) -> None:
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            await close()

    def _masked(self, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
        return [ChatMessage(m.role, self._redact(m.content)) for m in messages]

    def _admit(self) -> None:
        if not self.breaker.allow():
            raise LLMUnavailable("the LLM failed repeatedly; circuit breaker open")

    def _timed_out(self, budget_s: float) -> LLMUnavailable:
        """Record a timeout on the breaker (or no verdict, for a call with too little budget)."""
        if budget_s >= self._min_verdict_s:
            self.breaker.record_failure()
        else:
            self.breaker.release()
        return _DeadlineExceeded(f"the LLM did not answer within the turn's deadline ({budget_s:.1f} s)")

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float,
        max_tokens: int,
        response_format: Mapping[str, Any] | None = None,
    ) -> str:
        limits, clock = deadlines(self._first_token_s, self._turn_s), current_turn()
        # Inside a turn, a whole answer is due before the turn's first token (routing, condensing and
        # slot extraction come before the answer); outside a turn (a draft, the eval judge) within turn_s.
        due = limits.first if clock is not None and not clock.first_token_seen else limits.end
        budget = due - time.monotonic()
        if budget <= 0:
            raise LLMUnavailable("no time left in this turn for another LLM call")
        masked = self._masked(messages)
        self._admit()
        try:
            with anyio.fail_after(budget):
                text = await self._inner.complete(
                    masked, temperature=temperature, max_tokens=max_tokens, response_format=response_format
                )
        except TimeoutError:
            raise self._timed_out(budget) from None
        except LLMUnavailable:
            self.breaker.record_failure()
            raise
        except BaseException:
            self.breaker.release()
            raise
        self.breaker.record_success()
        return self._redact(text)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float,
        max_tokens: int,
        response_format: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[str, None]:
        limits = deadlines(self._first_token_s, self._turn_s)
        if limits.first <= time.monotonic():
            raise LLMUnavailable("no time left in this turn for the LLM answer")
        masked = self._masked(messages)
        self._admit()
        clock = current_turn()
        pieces = self._inner.stream(
            masked, temperature=temperature, max_tokens=max_tokens, response_format=response_format
        )
        started = time.monotonic()
        seen = False
        try:
            while True:
                deadline = limits.end if seen else limits.first
                try:
                    with anyio.fail_after(max(deadline - time.monotonic(), 0.0)):
                        piece = await pieces.__anext__()
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise self._timed_out(deadline - started) from None
                if piece and not seen:
                    seen = True
                    if clock is not None:
                        clock.first_token_seen = True
                yield piece
        except LLMUnavailable as exc:
            if not isinstance(exc, _DeadlineExceeded):
                self.breaker.record_failure()
            raise
        except BaseException:
            self.breaker.release()
            raise
        else:
            self.breaker.record_success()
        finally:
            await pieces.aclose()
