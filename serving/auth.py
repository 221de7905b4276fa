"""Staff authentication and roles: cookie sessions with a CSRF header, bearer tokens and API keys.

The cookie holds a signed random secret; the server keeps only its hash (so logout revokes it) and the
CSRF token that every state-changing cookie request must echo in ``X-CSRF-Token``. Bearer credentials
(``POST /api/auth/token`` tokens, ``govchat user apikey`` keys) are not sent automatically by browsers,
so they need no CSRF header.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio
from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

from serving import messages
from serving.context import AppContext
from serving.deps import Ctx
from serving.errors import ApiError
from serving.users import Credential, CredentialKind, Role, StaffUser

COOKIE = "govchat_staff"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _cookie_serializer(ctx: AppContext) -> URLSafeSerializer:
    return URLSafeSerializer(ctx.settings.auth.secret_key.get_secret_value(), salt="govchat.staff-cookie.v1")


def set_session_cookie(ctx: AppContext, response: Response, raw: str) -> None:
    secure = ctx.settings.api.cookie_secure
    response.set_cookie(
        COOKIE,
        _cookie_serializer(ctx).dumps(raw),
        max_age=ctx.settings.api.staff_session_ttl_s,
        httponly=True,
        samesite="lax",
        secure=secure if secure is not None else ctx.settings.env == "production",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


def presented_secret(request: Request, ctx: AppContext) -> tuple[str, bool]:
    """(raw secret, from_cookie); ("", False) when the request carries no credential."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip(), False
    cookie = request.cookies.get(COOKIE)
    if cookie:
        try:
            raw = _cookie_serializer(ctx).loads(cookie)
        except BadSignature:
            return "", True
        return (raw if isinstance(raw, str) else ""), True
    return "", False


async def current_credential(request: Request, ctx: Ctx) -> Credential:
    """The logged-in staff credential; 401 without one, 403 for a cookie request missing its CSRF token."""
    raw, from_cookie = presented_secret(request, ctx)
    kinds: tuple[CredentialKind, ...] = ("session",) if from_cookie else ("token", "apikey")
    cred = await anyio.to_thread.run_sync(ctx.users.resolve, raw, kinds) if raw else None
    if cred is None:
        raise ApiError(401, "not_logged_in", messages.NOT_LOGGED_IN)
    if from_cookie and request.method not in _SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER, "")
        if not given or not hmac.compare_digest(given.encode(), cred.csrf_token.encode()):
            raise ApiError(403, "csrf", messages.CSRF_FAILED)
    return cred


CurrentCredential = Annotated[Credential, Depends(current_credential)]


async def optional_bearer(request: Request, ctx: Ctx) -> Credential | None:
    """The caller's bearer token or API key when it resolves; None otherwise (anonymous callers, and
    OpenAI SDK clients that send a placeholder key, are served as anonymous). Cookies are not read."""
    raw, from_cookie = presented_secret(request, ctx)
    if not raw or from_cookie:
        return None
    cred: Credential | None = await anyio.to_thread.run_sync(ctx.users.resolve, raw, ("token", "apikey"))
    return cred


OptionalBearer = Annotated[Credential | None, Depends(optional_bearer)]


def require_role(role: Role) -> Callable[[Credential], Awaitable[StaffUser]]:
    """A dependency admitting ``role`` (and admins, who may do everything)."""

    async def dependency(cred: CurrentCredential) -> StaffUser:
        if not cred.user.may(role):
            raise ApiError(403, "forbidden", messages.FORBIDDEN_ROLE)
        return cred.user

    return dependency


Caseworker = Annotated[StaffUser, Depends(require_role("caseworker"))]
Admin = Annotated[StaffUser, Depends(require_role("admin"))]
