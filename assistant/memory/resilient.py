"""A session store that survives its backend going down.

When Redis cannot be reached the assistant should keep answering (each turn then sees only what this process
remembers) and say that it is degraded, instead of failing every request. ``ResilientSessionStore`` tries
the primary store, switches to the fallback on ``SessionStoreUnavailable`` and probes the primary again
after ``retry_after_s``; on success it switches back. Sessions written during the outage live only in the
fallback and are not copied back: after recovery those conversations restart from what Redis held.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TypeVar

from assistant.memory.base import SessionState, SessionStore, SessionStoreUnavailable, Turn
from connectors.resilience import CircuitBreaker, with_fallback

log = logging.getLogger(__name__)

T = TypeVar("T")
_FAILURES = (SessionStoreUnavailable,)


class ResilientSessionStore:
    """Primary store with an automatic fallback; ``degraded`` is True while the fallback serves.

    A circuit breaker that opens on the first failure (``connectors.resilience``) decides which store
    answers.

    Args:
        primary: normally ``RedisSessionStore``.
        fallback: normally ``InMemorySessionStore`` with the same TTL and history length.
        retry_after_s: how long to stay on the fallback before probing the primary again (a dead Redis
            then costs one failed connect per interval, not one per call).
        clock: monotonic clock, injectable for tests.
    """

    def __init__(
        self,
        primary: SessionStore,
        fallback: SessionStore,
        *,
        retry_after_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._primary = primary
        self._fallback = fallback
        self._breaker = CircuitBreaker(
            failure_threshold=1, reset_timeout_s=retry_after_s, clock=clock, name="session store"
        )

    @property
    def degraded(self) -> bool:
        """True while sessions are kept by the fallback (tell the citizen memory may be short)."""
        return self._breaker.degraded

    async def _call(self, op: Callable[[SessionStore], Awaitable[T]]) -> T:
        return await with_fallback(
            self._breaker, lambda: op(self._primary), lambda: op(self._fallback), failures=_FAILURES
        )

    async def load(self, session_id: str) -> SessionState:
        return await self._call(lambda s: s.load(session_id))

    async def append(self, session_id: str, turn: Turn) -> None:
        await self._call(lambda s: s.append(session_id, turn))

    async def save_state(self, session_id: str, state: SessionState) -> None:
        await self._call(lambda s: s.save_state(session_id, state))

    async def delete(self, session_id: str) -> None:
        await self._call(lambda s: s.delete(session_id))

    @asynccontextmanager
    async def lock(self, session_id: str) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            locked = False
            if self._breaker.allow():
                try:
                    await stack.enter_async_context(self._primary.lock(session_id))
                except SessionStoreUnavailable as exc:
                    log.debug("session lock on the primary store failed: %s", exc)
                    self._breaker.record_failure()
                except BaseException:
                    self._breaker.release()
                    raise
                else:
                    locked = True
                    self._breaker.record_success()
            if not locked:
                await stack.enter_async_context(self._fallback.lock(session_id))
            yield
