"""Health, readiness and Prometheus metrics (protected in production: metrics token or admin)."""

from __future__ import annotations

import hmac
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from serving import messages
from serving.auth import current_credential, presented_secret
from serving.deps import Ctx
from serving.errors import ApiError

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _check_db_and_kb(ctx: Any) -> dict[str, Any]:
    with ctx.services.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"db": "ok", "kb": "ok", "chunks": ctx.services.kb.registry.chunk_count()}


@router.get("/readyz")
async def readyz(ctx: Ctx) -> JSONResponse:
    """503 when the database or the knowledge base cannot answer. A dead Redis is reported as
    ``degraded`` but stays 200: the app serves from its in-process fallbacks meanwhile."""
    checks: dict[str, Any] = {}
    status = 200
    try:
        checks.update(await anyio.to_thread.run_sync(_check_db_and_kb, ctx))
    except Exception as exc:
        checks["db"] = f"down: {type(exc).__name__}"
        status = 503
    checks["redis"] = await ctx.limiter.health()
    overall = (
        "ok" if status == 200 and checks["redis"] != "down" else ("degraded" if status == 200 else "down")
    )
    return JSONResponse({"status": overall, "checks": checks}, status_code=status)


async def metrics_access(request: Request, ctx: Ctx) -> None:
    """Open outside production; in production the configured metrics token or an admin credential."""
    if ctx.settings.env != "production":
        return
    raw, _ = presented_secret(request, ctx)
    token = ctx.settings.api.metrics_token.get_secret_value()
    if token and raw and hmac.compare_digest(raw.encode(), token.encode()):
        return
    cred = await current_credential(request, ctx)  # 401 without a staff credential
    if not cred.user.may("admin"):
        raise ApiError(403, "forbidden", messages.FORBIDDEN_ROLE)


@router.get("/metrics", dependencies=[Depends(metrics_access)])
async def metrics(ctx: Ctx) -> Response:
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
