"""The LLM as the assistant sees it: masked, on one deadline per turn, behind a circuit breaker.

Small fake models that hang, drip or fail stand in for the server; deadlines are tenths of a second.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

import anyio
import pytest

from assistant.llm.base import ChatMessage, LLMUnavailable
from assistant.llm.deadline import current_turn, deadlines, llm_turn
from assistant.llm.fake import ScriptedChatModel
from assistant.llm.resilient import ResilientChatModel
from connectors.resilience import CircuitBreaker, CircuitOpen, with_fallback

pytestmark = [pytest.mark.unit]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SlowModel:
    """Waits ``first_s`` before anything, then yields ``text`` one character every ``gap_s``."""

    identity = "slow"

    def __init__(
        self, *, first_s: float = 0.0, gap_s: float = 0.0, text: str = "好的 [1]。", fail: bool = False
    ):
        self.first_s, self.gap_s, self.text, self.fail = first_s, gap_s, text, fail
        self.calls = 0
        self.closed = 0

    async def complete(self, messages: Sequence[ChatMessage], **_: Any) -> str:
        self.calls += 1
        if self.fail:
            raise LLMUnavailable("cannot reach the LLM server")
        await anyio.sleep(self.first_s)
        return self.text

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float,
        max_tokens: int,
        response_format: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[str, None]:
        self.calls += 1
        try:
            if self.fail:
                raise LLMUnavailable("cannot reach the LLM server")
            await anyio.sleep(self.first_s)
            for ch in self.text:
                yield ch
                await anyio.sleep(self.gap_s)
        finally:
            self.closed += 1


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage("system", "系统"), ChatMessage("user", text)]


async def collect(model: ResilientChatModel, text: str = "问") -> str:
    return "".join([p async for p in model.stream(user(text), temperature=0, max_tokens=10)])


# ------------------------------------------------------------------ the breaker primitive


def test_breaker_release_frees_the_trial_without_a_verdict() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=5, clock=clock)
    breaker.record_failure()
    clock.now = 6
    assert breaker.allow() and not breaker.allow()  # the one trial is out
    breaker.release()  # e.g. the trial call was cancelled
    assert breaker.state == "half_open" and breaker.allow()


@pytest.mark.anyio
async def test_with_fallback_uses_the_fallback_while_open_and_probes_after_the_pause() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout_s=10, clock=clock)
    calls: list[str] = []

    async def primary() -> str:
        calls.append("primary")
        raise OSError("down")

    async def fallback() -> str:
        return "fallback"

    for _ in range(4):
        assert await with_fallback(breaker, primary, fallback, failures=(OSError,)) == "fallback"
    assert calls == ["primary", "primary"] and breaker.degraded  # open after two: no more calls
    clock.now = 11

    async def healthy() -> str:
        return "primary"

    assert await with_fallback(breaker, healthy, fallback, failures=(OSError,)) == "primary"
    assert breaker.state == "closed" and not breaker.degraded
    with pytest.raises(ValueError):  # not a counted failure: propagates, and says nothing about the remote
        await breaker.call(lambda: _raise(ValueError("bad request")), failures=(OSError,))
    assert breaker.state == "closed"


async def _raise(exc: Exception) -> str:
    raise exc


@pytest.mark.anyio
async def test_breaker_call_raises_circuit_open_without_calling() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=60)
    breaker.record_failure()
    with pytest.raises(CircuitOpen):
        await breaker.call(lambda: _raise(AssertionError("must not run")), failures=(OSError,))


# ------------------------------------------------------------------ masking


@pytest.mark.anyio
async def test_every_message_is_masked_and_completions_are_masked_on_the_way_back() -> None:
    fake = ScriptedChatModel(["改写：身份证 420102 19900101 1236 的退休", "好的 [1]。"])
    model = ResilientChatModel(fake)
    tricky = "我的电话1\u200b3\u200b8\u200b1\u200b2\u200b3\u200b4\u200b5\u200b6\u200b7\u200b8，身份证④②⓪①⓪②①⑨⑨⓪⓪①⓪①①②③⑥"
    rewritten = await model.complete(user(tricky), temperature=0, max_tokens=10)
    assert rewritten == "改写：身份证 4201**********1236 的退休"
    await collect(model, tricky)
    sent = fake.sent_text()
    assert "138****5678" in sent and "4201**********1236" in sent
    assert "13812345678" not in sent.replace("\u200b", "") and "①" not in sent


# ------------------------------------------------------------------ deadlines


@pytest.mark.anyio
async def test_a_hanging_model_costs_the_first_token_deadline_once_per_turn() -> None:
    slow = SlowModel(first_s=30)
    model = ResilientChatModel(slow, first_token_s=0.3, turn_s=2, breaker=CircuitBreaker(failure_threshold=9))
    started = time.monotonic()
    with llm_turn():
        with pytest.raises(LLMUnavailable):
            await model.complete(user("路由"), temperature=0, max_tokens=10)  # routing hangs
        with pytest.raises(LLMUnavailable):
            await collect(model)  # the answer gets no second budget: the turn's first token is due
    assert time.monotonic() - started < 0.6
    assert slow.calls == 1  # the second call never went out
    assert current_turn() is None


@pytest.mark.anyio
async def test_a_slow_drip_is_cut_at_the_turn_deadline_and_the_upstream_closed() -> None:
    slow = SlowModel(gap_s=0.1, text="一" * 100)
    model = ResilientChatModel(slow, first_token_s=0.3, turn_s=0.6)
    pieces: list[str] = []
    started = time.monotonic()
    with llm_turn(), pytest.raises(LLMUnavailable):
        async for piece in model.stream(user("问"), temperature=0, max_tokens=10):
            pieces.append(piece)
    assert 0.5 < time.monotonic() - started < 0.9
    assert 3 <= len(pieces) < 10 and slow.closed == 1
    assert model.breaker.state == "closed"  # one failure of three


@pytest.mark.anyio
async def test_calls_outside_a_turn_get_their_own_deadlines() -> None:
    assert current_turn() is None
    limits = deadlines(3, 20, now=100.0)
    assert (limits.first, limits.end) == (103.0, 120.0)
    model = ResilientChatModel(SlowModel(first_s=0.4), first_token_s=0.2, turn_s=1.0)
    # A completion outside a turn (the eval judge, a caseworker draft) may take the whole turn_s.
    assert await model.complete(user("judge"), temperature=0, max_tokens=10) == "好的 [1]。"


@pytest.mark.anyio
async def test_after_the_first_token_completions_use_the_turn_deadline() -> None:
    model = ResilientChatModel(SlowModel(first_s=0.35), first_token_s=0.3, turn_s=2)
    with llm_turn() as clock:
        clock.first_token_seen = True
        assert await model.complete(user("x"), temperature=0, max_tokens=10)


# ------------------------------------------------------------------ the breaker in front of the LLM


@pytest.mark.anyio
async def test_a_dead_model_costs_nothing_after_the_first_failures() -> None:
    clock = Clock()
    dead = SlowModel(fail=True)
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=30, clock=clock)
    model = ResilientChatModel(dead, breaker=breaker)
    for _ in range(10):
        with pytest.raises(LLMUnavailable):
            await collect(model)
    assert dead.calls == 3 and breaker.state == "open"
    clock.now = 31  # one trial after the pause
    dead.fail = False
    assert await collect(model) == "好的 [1]。"
    assert breaker.state == "closed" and dead.calls == 4


@pytest.mark.anyio
async def test_timeouts_with_too_little_budget_and_cancellations_say_nothing_about_the_server() -> None:
    breaker = CircuitBreaker(failure_threshold=1)
    model = ResilientChatModel(
        SlowModel(first_s=5), first_token_s=0.1, turn_s=1, breaker=breaker, min_verdict_s=1
    )
    with pytest.raises(LLMUnavailable):
        await model.complete(user("x"), temperature=0, max_tokens=10)  # 0.1 s budget < min_verdict_s
    assert breaker.state == "closed"
    with anyio.move_on_after(0.05):
        await collect(model)
    assert breaker.state == "closed"
