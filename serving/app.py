"""The composition root of the HTTP app: ``create_app(settings)``.

Nothing happens at import. The lifespan builds ``Services`` once (off the event loop) unless a test
passes its own, prepares the serving tables and the sample KB, and keeps an ``AppContext`` on
``app.state.ctx`` for the thin routers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from serving.context import build_context, close_context
from serving.errors import install_error_handlers
from serving.middleware import BodyLimitMiddleware, NulRejectMiddleware, RequestContextMiddleware
from serving.obs import Metrics
from serving.routes import all_routers
from serving.routes.pages import STATIC_DIR
from serving.services import Services, build_services
from serving.settings import Settings

log = logging.getLogger(__name__)

UPLOAD_PATH = "/api/admin/documents"
_MULTIPART_OVERHEAD = 64 * 1024


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The FastAPI app. ``services`` (tests) is used as is and not closed at shutdown."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        built = services if services is not None else await anyio.to_thread.run_sync(build_services, settings)
        ctx = await build_context(settings, built, metrics)
        app.state.ctx = ctx
        log.info("govchat API ready (jobs: %s, redis: %s)", settings.api.jobs, bool(settings.redis.url))
        try:
            async with anyio.create_task_group() as tg:
                if settings.api.jobs == "celery":
                    from serving.kbsync import follow_kb_version

                    tg.start_soon(follow_kb_version, built.kb)
                yield
                tg.cancel_scope.cancel()
        finally:
            await close_context(ctx)
            if owned:
                await built.aclose()

    app = FastAPI(
        title="govchat API",
        version="0.1.0",
        lifespan=lifespan,
        # Swagger UI loads scripts from a CDN, which the pages' CSP forbids: publish the schema only.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json" if settings.env != "production" else None,
    )
    install_error_handlers(app)
    for router in all_routers():
        app.include_router(router)
    if (STATIC_DIR).is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if settings.auth.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.auth.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["Content-Type", "Authorization", "X-CSRF-Token", "X-Request-ID", "Last-Event-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            allow_credentials=False,
        )
    api = settings.api
    upload_limit = api.max_upload_bytes + _MULTIPART_OVERHEAD

    def limit_for(path: str) -> int:
        return upload_limit if path == UPLOAD_PATH else api.max_body_bytes

    app.add_middleware(BodyLimitMiddleware, limit_for=limit_for)
    app.add_middleware(NulRejectMiddleware)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.state.metrics = metrics
    return app
