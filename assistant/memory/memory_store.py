"""In-process session store: the single-process embedded default and the Redis fallback.

It keeps the Redis store's semantics exactly (TTL refreshed on write, history trimmed, JSON round trip, a lock
per session) so the pipeline cannot tell them apart. Values are stored as JSON, which both enforces
serialisability and stops a caller's later mutation of ``state.data`` from leaking into the store.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio

from assistant.memory.base import SessionLockTimeout, SessionState, Turn


@dataclass
class _Entry:
    fields: dict[str, str] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    expires_at: float = 0.0


@dataclass
class _LockSlot:
    # A semaphore, not a Lock: like the Redis lock it is not owned by a task, so a second acquire from the
    # same task waits and times out instead of raising.
    lock: anyio.Semaphore = field(default_factory=lambda: anyio.Semaphore(1))
    users: int = 0


class InMemorySessionStore:
    """Sessions in a dict of this process; lost on restart and not shared between workers.

    Args:
        ttl_s: seconds of inactivity after which a session is forgotten.
        max_turns: newest turns kept per session.
        lock_wait_s: how long ``lock`` waits for another turn of the same session.
        clock: monotonic clock, injectable so tests can expire sessions without sleeping.
    """

    def __init__(
        self,
        ttl_s: float,
        max_turns: int,
        *,
        lock_wait_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s <= 0 or max_turns < 1 or lock_wait_s <= 0:
            raise ValueError("ttl_s, max_turns and lock_wait_s must be positive")
        self._ttl_s = ttl_s
        self._max_turns = max_turns
        self._lock_wait_s = lock_wait_s
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, _LockSlot] = {}
        self._next_sweep = 0.0

    def __len__(self) -> int:
        """Number of live (unexpired) sessions."""
        now = self._clock()
        return sum(1 for e in self._entries.values() if e.expires_at > now)

    def _live(self, session_id: str) -> _Entry | None:
        entry = self._entries.get(session_id)
        if entry is not None and entry.expires_at <= self._clock():
            del self._entries[session_id]
            return None
        return entry

    def _touch(self, session_id: str) -> _Entry:
        now = self._clock()
        if now >= self._next_sweep:  # bound memory: drop every expired session now and then
            for sid in [s for s, e in self._entries.items() if e.expires_at <= now]:
                del self._entries[sid]
            self._next_sweep = now + min(self._ttl_s, 60.0)
        entry = self._live(session_id)
        if entry is None:
            entry = self._entries[session_id] = _Entry()
        entry.expires_at = now + self._ttl_s
        return entry

    async def load(self, session_id: str) -> SessionState:
        entry = self._live(session_id)
        if entry is None:
            return SessionState()
        history = tuple(Turn.from_json(raw) for raw in entry.history)
        return SessionState.from_fields_json(entry.fields, history)

    async def append(self, session_id: str, turn: Turn) -> None:
        raw = turn.to_json()
        entry = self._touch(session_id)
        entry.history.append(raw)
        del entry.history[: -self._max_turns]

    async def save_state(self, session_id: str, state: SessionState) -> None:
        fields = state.fields_json()
        self._touch(session_id).fields = fields

    async def delete(self, session_id: str) -> None:
        self._entries.pop(session_id, None)

    @asynccontextmanager
    async def lock(self, session_id: str) -> AsyncIterator[None]:
        slot = self._locks.setdefault(session_id, _LockSlot())
        slot.users += 1
        try:
            try:
                with anyio.fail_after(self._lock_wait_s):
                    await slot.lock.acquire()
            except TimeoutError:
                raise SessionLockTimeout(f"session busy for more than {self._lock_wait_s}s") from None
            try:
                yield
            finally:
                slot.lock.release()
        finally:
            slot.users -= 1
            if slot.users == 0:
                self._locks.pop(session_id, None)
