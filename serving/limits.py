"""Fixed-window rate limits: per client IP and per citizen session.

Redis when configured (one atomic Lua call: INCR, set the window's expiry on the first hit, read the
remaining TTL), in-process otherwise. A dead Redis must not take the API down: ``ResilientRateLimiter``
falls back to the in-process counters, logs that once, and tries Redis again after a pause.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import anyio

from connectors.resilience import CircuitBreaker, CircuitOpen

log = logging.getLogger(__name__)

_LUA_FIXED_WINDOW = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    count: int
    retry_after_s: int  # seconds until the window resets (the Retry-After header)


def decide(count: int, limit: int, ttl_ms: float) -> RateDecision:
    """Pure: the decision for the ``count``-th hit of a window with ``ttl_ms`` left."""
    return RateDecision(count <= limit, count, max(1, math.ceil(ttl_ms / 1000)))


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_s: int) -> RateDecision:
        """Count one request against ``key``; allowed while the window's count is within ``limit``."""
        ...

    async def peek(self, key: str, limit: int) -> RateDecision:
        """The decision the *next* hit would get if it were counted, without counting it."""
        ...

    async def health(self) -> str:
        """ "ok", "down" or "not_configured" (for /readyz)."""
        ...

    async def aclose(self) -> None: ...


class InProcessRateLimiter:
    """Counters in a dict (single-process deployments and the Redis fallback)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window end, count)
        self._lock = threading.Lock()

    async def hit(self, key: str, limit: int, window_s: int) -> RateDecision:
        now = self._clock()
        with self._lock:
            end, count = self._windows.get(key, (0.0, 0))
            if now >= end:
                end, count = now + window_s, 0
            count += 1
            self._windows[key] = (end, count)
            if len(self._windows) > self._max_keys:
                self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        return decide(count, limit, (end - now) * 1000)

    async def peek(self, key: str, limit: int) -> RateDecision:
        now = self._clock()
        with self._lock:
            end, count = self._windows.get(key, (0.0, 0))
        if now >= end:
            return decide(1, limit, 0)
        return decide(count + 1, limit, (end - now) * 1000)

    async def health(self) -> str:
        return "not_configured"

    async def aclose(self) -> None:
        return None


class RedisRateLimiter:
    """Counters in Redis, shared by every API replica."""

    def __init__(self, url: str, *, prefix: str = "govchat:rl:", timeout_s: float = 0.5) -> None:
        import redis.asyncio as aioredis

        self._redis: Any = aioredis.Redis.from_url(
            url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s, retry_on_timeout=False
        )
        self._script = self._redis.register_script(_LUA_FIXED_WINDOW)
        self._prefix = prefix

    async def hit(self, key: str, limit: int, window_s: int) -> RateDecision:
        count, ttl_ms = await self._script(keys=[self._prefix + key], args=[window_s * 1000])
        return decide(int(count), limit, float(ttl_ms))

    async def peek(self, key: str, limit: int) -> RateDecision:
        async with self._redis.pipeline(transaction=False) as pipe:
            count, ttl_ms = await pipe.get(self._prefix + key).pttl(self._prefix + key).execute()
        return decide(int(count or 0) + 1, limit, max(float(ttl_ms), 0.0))

    async def health(self) -> str:
        try:
            with anyio.fail_after(1.0):
                await self._redis.ping()
        except Exception:
            return "down"
        return "ok"

    async def aclose(self) -> None:
        await self._redis.aclose()


class ResilientRateLimiter:
    """Redis first; on any Redis error the in-process counters answer until ``retry_s`` has passed.

    The switch is the project's one circuit breaker (``connectors.resilience``), opening on the first
    failure: a dead Redis costs one failed call per ``retry_s``, not one per request.
    """

    def __init__(
        self,
        primary: RateLimiter,
        fallback: RateLimiter,
        *,
        retry_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._primary = primary
        self._fallback = fallback
        self._breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=retry_s, clock=clock)

    @property
    def degraded(self) -> bool:
        return self._breaker.degraded

    async def hit(self, key: str, limit: int, window_s: int) -> RateDecision:
        was_degraded = self._breaker.degraded
        try:
            # Redis errors, OSError, timeouts: never fail the request for this.
            decision = await self._breaker.call(
                lambda: self._primary.hit(key, limit, window_s), failures=(Exception,)
            )
        except CircuitOpen:
            return await self._fallback.hit(key, limit, window_s)
        except Exception as exc:
            if not was_degraded:
                log.warning(
                    "rate limiter: Redis unavailable (%s); using in-process limits", type(exc).__name__
                )
            return await self._fallback.hit(key, limit, window_s)
        if was_degraded:
            log.warning("rate limiter: Redis is back")
        return decision

    async def peek(self, key: str, limit: int) -> RateDecision:
        if self._breaker.state == "open":
            return await self._fallback.peek(key, limit)
        try:
            return await self._primary.peek(key, limit)
        except Exception:  # counted as down by the next hit; answer from the fallback meanwhile
            return await self._fallback.peek(key, limit)

    async def health(self) -> str:
        return await self._primary.health()

    async def aclose(self) -> None:
        await self._primary.aclose()
        await self._fallback.aclose()


def build_rate_limiter(redis_url: str, prefix: str) -> RateLimiter:
    if not redis_url:
        return InProcessRateLimiter()
    return ResilientRateLimiter(RedisRateLimiter(redis_url, prefix=prefix), InProcessRateLimiter())
