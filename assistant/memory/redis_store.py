"""Redis session store: sessions shared by every API replica, forgotten after a TTL.

Layout per session (``{sid}`` is a hash tag, so the keys of one session share a cluster slot and can be
written in one MULTI):

- ``<prefix>{sid}:state``   hash ``topic`` / ``flow`` / ``data``, each a JSON value,
- ``<prefix>{sid}:history`` list of JSON turns, oldest first, trimmed to ``max_turns``,
- ``<prefix>{sid}:lock``    the per-session lock (redis-py ``Lock``: token + expiry, safe release).

Every write refreshes the TTL of both data keys. Connection failures surface as ``SessionStoreUnavailable``
after one quick retry (redis-py's default of ten retries with backoff would stall a turn for seconds).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.exceptions as rexc
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from assistant.memory.base import SessionLockTimeout, SessionState, SessionStoreUnavailable, Turn

log = logging.getLogger(__name__)

_UNAVAILABLE = (rexc.ConnectionError, rexc.TimeoutError, rexc.BusyLoadingError, OSError)


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    """Turn "cannot reach Redis" into the store-neutral ``SessionStoreUnavailable``."""
    try:
        yield
    except _UNAVAILABLE as exc:
        raise SessionStoreUnavailable(f"redis unavailable: {exc}") from exc


class RedisSessionStore:
    """Sessions in Redis (``redis.asyncio``); the client is built on first use, not in the constructor.

    Args:
        url: ``redis://host:port/db``.
        ttl_s: seconds of inactivity after which a session is forgotten.
        max_turns: newest turns kept per session.
        prefix: key prefix, distinct per deployment (and per test).
        lock_timeout_s: a lock held longer than this expires (a crashed worker cannot block a session).
        lock_wait_s: how long ``lock`` waits for another turn of the same session.
        socket_timeout_s: connect and command timeout.
    """

    def __init__(
        self,
        url: str,
        ttl_s: float,
        max_turns: int,
        prefix: str = "govchat:session:",
        *,
        lock_timeout_s: float = 120.0,
        lock_wait_s: float = 30.0,
        socket_timeout_s: float = 2.0,
    ) -> None:
        if not url:
            raise ValueError("a Redis URL is required")
        if ttl_s <= 0 or max_turns < 1 or lock_timeout_s <= 0 or lock_wait_s <= 0:
            raise ValueError("ttl_s, max_turns, lock_timeout_s and lock_wait_s must be positive")
        self._url = url
        self._ttl_ms = int(ttl_s * 1000)
        self._max_turns = max_turns
        self._prefix = prefix
        self._lock_timeout_s = lock_timeout_s
        self._lock_wait_s = lock_wait_s
        self._socket_timeout_s = socket_timeout_s
        self._client: Redis | None = None

    def _redis(self) -> Redis:
        if self._client is None:
            self._client = Redis.from_url(
                self._url,
                decode_responses=True,
                socket_connect_timeout=self._socket_timeout_s,
                socket_timeout=self._socket_timeout_s,
                retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1),
            )
        return self._client

    @property
    def prefix(self) -> str:
        return self._prefix

    def key(self, session_id: str, part: str) -> str:
        """The Redis key of one part (``state``, ``history``, ``lock``) of a session."""
        return f"{self._prefix}{{{session_id}}}:{part}"

    async def ping(self) -> bool:
        """True when Redis answers (for health checks); never raises."""
        try:
            return bool(await self._redis().ping())
        except (*_UNAVAILABLE, rexc.RedisError):
            return False

    async def aclose(self) -> None:
        """Close the connection pool (composition root shutdown)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def load(self, session_id: str) -> SessionState:
        async with _translated():
            pipe = self._redis().pipeline(transaction=False)
            pipe.hgetall(self.key(session_id, "state"))
            pipe.lrange(self.key(session_id, "history"), 0, -1)
            fields, raw_turns = await pipe.execute()
        turns: list[Turn] = []
        for raw in raw_turns:
            try:
                turns.append(Turn.from_json(raw))
            except (ValueError, KeyError, TypeError):
                log.warning("session %s: dropping an unreadable turn", session_id)
        try:
            return SessionState.from_fields_json(fields, tuple(turns))
        except (ValueError, TypeError):
            log.warning("session %s: unreadable state, starting afresh", session_id)
            return SessionState(history=tuple(turns))

    async def append(self, session_id: str, turn: Turn) -> None:
        raw = turn.to_json()
        history = self.key(session_id, "history")
        async with _translated():
            pipe = self._redis().pipeline(transaction=True)
            pipe.rpush(history, raw)
            pipe.ltrim(history, -self._max_turns, -1)
            pipe.pexpire(history, self._ttl_ms)
            pipe.pexpire(self.key(session_id, "state"), self._ttl_ms)
            await pipe.execute()

    async def save_state(self, session_id: str, state: SessionState) -> None:
        fields: dict[Any, Any] = state.fields_json()  # redis-py's Mapping type is invariant in its key
        key = self.key(session_id, "state")
        async with _translated():
            pipe = self._redis().pipeline(transaction=True)
            pipe.delete(key)
            pipe.hset(key, mapping=fields)
            pipe.pexpire(key, self._ttl_ms)
            pipe.pexpire(self.key(session_id, "history"), self._ttl_ms)
            await pipe.execute()

    async def delete(self, session_id: str) -> None:
        async with _translated():
            await self._redis().delete(self.key(session_id, "state"), self.key(session_id, "history"))

    @asynccontextmanager
    async def lock(self, session_id: str) -> AsyncIterator[None]:
        lock = self._redis().lock(
            self.key(session_id, "lock"),
            timeout=self._lock_timeout_s,
            blocking=True,
            blocking_timeout=self._lock_wait_s,
            thread_local=False,
            raise_on_release_error=False,
        )
        async with _translated():
            acquired = await lock.acquire()
        if not acquired:
            raise SessionLockTimeout(f"session busy for more than {self._lock_wait_s}s")
        try:
            yield
        finally:
            try:
                await lock.release()
            except (*_UNAVAILABLE, rexc.RedisError) as exc:
                # The lock expires by itself after lock_timeout_s; losing the release must not fail the turn.
                log.warning("session %s: lock release failed: %s", session_id, exc)
