"""A small circuit breaker: after N failures in a row, fail fast for T seconds, then allow one trial.

Protects the conversation from waiting on a platform that is down: while open, callers get an
immediate ``CircuitOpen`` and can offer another handoff channel instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


class CircuitOpen(RuntimeError):
    """The breaker is open: the remote side failed repeatedly and is not being called."""


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_timeout_s <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout_s > 0")
        self._threshold = failure_threshold
        self._reset = reset_timeout_s
        self._clock = clock
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
        if not self.allow():
            raise CircuitOpen("remote service failing; circuit breaker is open")

    def record_success(self) -> None:
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
