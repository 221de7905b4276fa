"""Staff login/logout (cookie + CSRF), bearer tokens, and who-am-I."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request, Response

from serving import messages
from serving.auth import CurrentCredential, clear_session_cookie, presented_secret, set_session_cookie
from serving.deps import Ctx, client_ip, count_failure, enforce_limit, throttled_for
from serving.errors import ApiError
from serving.schemas import LoginRequest
from serving.users import StaffUser

router = APIRouter(prefix="/api/auth", tags=["auth"])


async def _authenticate(request: Request, body: LoginRequest, ctx: Ctx) -> StaffUser:
    """Per-IP rate limit, then a per-account back-off: after ``login_failures_per_account`` failures
    from any address, the account refuses logins (the right password too) until the window ends."""
    api = ctx.settings.api
    ip = client_ip(request, api.trust_proxy)
    await enforce_limit(ctx, "login", ip, api.rate_login_per_ip)
    account = body.username.strip().lower()
    wait = await throttled_for(ctx, "login-account", account, api.login_failures_per_account)
    if wait is not None:
        raise ApiError(
            429, "rate_limited", messages.LOGIN_BACKOFF.format(seconds=wait), {"Retry-After": str(wait)}
        )
    user = await anyio.to_thread.run_sync(ctx.users.authenticate, body.username, body.password)
    if user is None:
        await count_failure(
            ctx, "login-account", account, api.login_failures_per_account, api.login_backoff_s
        )
        raise ApiError(401, "bad_credentials", messages.BAD_CREDENTIALS)
    return user


@router.post("/login")
async def login(request: Request, body: LoginRequest, response: Response, ctx: Ctx) -> dict[str, Any]:
    user = await _authenticate(request, body, ctx)
    raw, cred = await anyio.to_thread.run_sync(
        lambda: ctx.users.issue(user, "session", ctx.settings.api.staff_session_ttl_s)
    )
    set_session_cookie(ctx, response, raw)
    return {"user": user.username, "role": user.role, "csrf_token": cred.csrf_token}


@router.post("/token")
async def token(request: Request, body: LoginRequest, ctx: Ctx) -> dict[str, Any]:
    user = await _authenticate(request, body, ctx)
    ttl = ctx.settings.api.token_ttl_s
    raw, _ = await anyio.to_thread.run_sync(lambda: ctx.users.issue(user, "token", ttl))
    return {"token": raw, "token_type": "bearer", "expires_in": ttl, "user": user.username, "role": user.role}


@router.post("/logout")
async def logout(request: Request, response: Response, cred: CurrentCredential, ctx: Ctx) -> dict[str, Any]:
    raw, _ = presented_secret(request, ctx)
    if cred.kind != "apikey":  # keys are revoked by an admin, not by "logout"
        await anyio.to_thread.run_sync(ctx.users.revoke, raw)
    clear_session_cookie(response)
    return {"ok": True}


@router.get("/me")
async def me(cred: CurrentCredential) -> dict[str, Any]:
    return {"user": cred.user.username, "role": cred.user.role, "csrf_token": cred.csrf_token}
