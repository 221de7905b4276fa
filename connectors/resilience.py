"""The one circuit breaker, and the "primary, else fallback" call built on it.

A remote dependency that is down should cost the caller nothing after the first failures: after
``failure_threshold`` failures in a row the breaker *opens* and calls fail fast (``CircuitOpen``) for
``reset_timeout_s``; then it is *half open* and lets one trial call through: success closes it, failure
opens it for another period. A call that neither proves nor disproves the remote (cancelled, or refused
for a reason of its own such as a rejected request) releases the trial without changing the state.

Used by the LLM client (``assistant.llm.resilient``), the provincial platform client, and the session
store that falls back to process memory when Redis is down (``with_fallback``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

log = logging.getLogger(__name__)

BreakerState = Literal["closed", "open", "half_open"]
T = TypeVar("T")


class CircuitOpen(RuntimeError):
    """The breaker is open: the remote side failed repeatedly and is not being called."""


class CircuitBreaker:
    """After N failures in a row, fail fast for T seconds, then allow one trial.

    Args:
        failure_threshold: consecutive failures that open the breaker.
        reset_timeout_s: how long it stays open before a trial call is allowed.
        clock: monotonic clock, injectable for tests.
        name: names the remote side in the two log lines (opened, closed again); empty: no logging.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        name: str = "",
    ) -> None:
        if failure_threshold < 1 or reset_timeout_s <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout_s > 0")
        self._threshold = failure_threshold
        self._reset = reset_timeout_s
        self._clock = clock
        self._name = name
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._trial or self._clock() - self._opened_at >= self._reset:
            return "half_open"
        return "open"

    @property
    def degraded(self) -> bool:
        """True from the moment it opens until a call succeeds again."""
        return self._opened_at is not None

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open state only one trial call at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial:
            self._trial = True
            return True
        return False

    def check(self) -> None:
        """Raise ``CircuitOpen`` unless a call may go out now (and count it as the trial if half open)."""
        if not self.allow():
            raise CircuitOpen(f"{self._name or 'remote service'} failing; circuit breaker is open")

    def record_success(self) -> None:
        if self._opened_at is not None and self._name:
            log.warning("%s is answering again; circuit breaker closed", self._name)
        self._failures = 0
        self._opened_at = None
        self._trial = False

    def record_failure(self) -> None:
        if self._trial or self._opened_at is not None:
            self._opened_at = self._clock()  # the trial failed: stay open for another period
            self._trial = False
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self._opened_at = self._clock()
            if self._name:
                log.warning(
                    "%s failed %d times in a row; circuit breaker open for %.0f s",
                    self._name,
                    self._failures,
                    self._reset,
                )

    def release(self) -> None:
        """The call ended without a verdict on the remote side: free the half-open trial slot."""
        self._trial = False

    async def call(self, fn: Callable[[], Awaitable[T]], *, failures: tuple[type[BaseException], ...]) -> T:
        """``await fn()`` through the breaker: exceptions in ``failures`` count against the remote side,
        anything else (cancellation included) releases the call without a verdict.

        Raises:
            CircuitOpen: the breaker did not let the call go out.
        """
        self.check()
        try:
            result = await fn()
        except failures:
            self.record_failure()
            raise
        except BaseException:
            self.release()
            raise
        self.record_success()
        return result


async def with_fallback(
    breaker: CircuitBreaker,
    primary: Callable[[], Awaitable[T]],
    fallback: Callable[[], Awaitable[T]],
    *,
    failures: tuple[type[BaseException], ...],
) -> T:
    """``primary`` through ``breaker``; the fallback answers when the breaker is open or primary fails."""
    try:
        return await breaker.call(primary, failures=failures)
    except CircuitOpen:
        pass
    except failures:
        pass
    return await fallback()
