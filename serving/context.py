"""Everything the HTTP layer holds for the app's lifetime, built once in the lifespan."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import anyio

from assistant.types import TurnResult
from retrieval.factory import SAMPLE_KB_DIR
from serving.admin_ops import EvalReports, SynonymsEditor
from serving.casework import CaseDesk
from serving.db import create_tables
from serving.ingest_job import parse_limits
from serving.jobs import InProcessJobQueue, JobQueue, JobStore
from serving.limits import RateLimiter, build_rate_limiter
from serving.obs import Metrics
from serving.services import Services
from serving.settings import Settings
from serving.tokens import SessionTokens
from serving.users import UserStore

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    settings: Settings
    services: Services
    users: UserStore
    tokens: SessionTokens
    limiter: RateLimiter
    job_store: JobStore
    jobs: JobQueue
    metrics: Metrics
    desk: CaseDesk
    synonyms: SynonymsEditor
    evals: EvalReports
    no_evidence_text: str
    background: list[Any] = field(default_factory=list)

    def observe_turn(self, result: TurnResult) -> None:
        no_evidence = (
            result.intent == "consult" and result.mode == "fixed" and result.answer == self.no_evidence_text
        )
        self.metrics.observe_turn(result.intent, result.mode, no_evidence)


def prepare_storage(settings: Settings, services: Services) -> None:
    """Blocking start-up work: the serving tables, and the sample KB on a first start."""
    create_tables(services.engine)
    if settings.api.sample_if_empty and not services.kb.documents():
        report = services.kb.ingest_paths([SAMPLE_KB_DIR])
        log.info(
            "empty knowledge base: loaded the sample KB (%d documents, %d chunks)",
            len(report.added), report.chunks,
        )  # fmt: skip


def build_job_queue(settings: Settings, services: Services, store: JobStore) -> JobQueue:
    if settings.api.jobs == "celery":
        from serving.worker import CeleryJobQueue, create_celery_app

        return CeleryJobQueue(create_celery_app(settings), store)
    return InProcessJobQueue(services.kb, store, parse_limits(settings.api))


async def build_context(settings: Settings, services: Services, metrics: Metrics) -> AppContext:
    await anyio.to_thread.run_sync(prepare_storage, settings, services)
    secret = settings.auth.secret_key.get_secret_value()
    store = JobStore(services.engine)
    users = await anyio.to_thread.run_sync(UserStore, services.engine)
    ctx = AppContext(
        settings=settings,
        services=services,
        users=users,
        tokens=SessionTokens(secret),
        limiter=build_rate_limiter(settings.redis.url, settings.api.rate_key_prefix),
        job_store=store,
        jobs=build_job_queue(settings, services, store),
        metrics=metrics,
        desk=CaseDesk(services),
        synonyms=SynonymsEditor(settings.data_dir, services.kb),
        evals=EvalReports(settings.api.eval_dir),
        no_evidence_text=services.assistant.prompts.reply("no_evidence"),
    )
    await anyio.to_thread.run_sync(ctx.jobs.start)
    return ctx


async def close_context(ctx: AppContext) -> None:
    await anyio.to_thread.run_sync(ctx.jobs.stop)
    await ctx.limiter.aclose()
