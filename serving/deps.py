"""FastAPI dependencies as ``Annotated`` aliases: the app context, client identity, rate limits, and
failure throttles (wrong case codes, failed logins) that count failures only and expire."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from serving import messages
from serving.context import AppContext
from serving.errors import ApiError


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


def client_ip(request: Request, trust_proxy: bool) -> str:
    if trust_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first[:64]
    return request.client.host if request.client else "unknown"


async def enforce_limit(ctx: AppContext, scope: str, key: str, limit: int) -> None:
    """Count one request; ``ApiError(429)`` with Retry-After when over the limit."""
    decision = await ctx.limiter.hit(f"{scope}:{key}", limit, ctx.settings.api.rate_window_s)
    if not decision.allowed:
        ctx.metrics.rate_limited.labels(scope).inc()
        seconds = decision.retry_after_s
        raise ApiError(
            429, "rate_limited", messages.RATE_LIMITED.format(seconds=seconds), {"Retry-After": str(seconds)}
        )


async def throttled_for(ctx: AppContext, scope: str, key: str, limit: int) -> int | None:
    """Seconds until ``key`` may try again when it already has ``limit`` failures in the current
    window; None while it is under the limit. Failures are counted by ``count_failure``."""
    decision = await ctx.limiter.peek(f"{scope}:{key}", limit)
    if decision.allowed:
        return None
    ctx.metrics.rate_limited.labels(scope).inc()
    return decision.retry_after_s


async def count_failure(ctx: AppContext, scope: str, key: str, limit: int, window_s: int) -> None:
    """One more failure for ``key``; the window (and with it any refusal) ends ``window_s`` after the
    first failure, so a throttle never becomes a permanent lock."""
    await ctx.limiter.hit(f"{scope}:{key}", limit, window_s)


async def limit_ip(request: Request, ctx: Ctx) -> None:
    """Per-IP limit for anonymous endpoints (router-level dependency)."""
    await enforce_limit(
        ctx, "ip", client_ip(request, ctx.settings.api.trust_proxy), ctx.settings.api.rate_per_ip
    )


async def limit_session(ctx: AppContext, session_id: str) -> None:
    await enforce_limit(ctx, "session", session_id, ctx.settings.api.rate_per_session)


IpLimited = Depends(limit_ip)
