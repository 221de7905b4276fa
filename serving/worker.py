"""Celery on Redis for production ingestion: the worker entry point and the API-side queue.

Run a worker with ``celery -A serving.worker worker --loglevel=INFO``. Celery looks up
``serving.worker.app``; the module-level ``__getattr__`` builds it from the environment only then, so
importing this module has no side effects. The worker builds the services once per process on the first
job and runs the same ``execute_job`` body as the in-process queue.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery

from serving import messages
from serving.ingest_job import parse_limits
from serving.jobs import JobKind, JobRecord, JobStore, QueueUnavailable, execute_job
from serving.services import Services, build_services
from serving.settings import Settings

log = logging.getLogger(__name__)

RUN_JOB_TASK = "govchat.run_job"
QUEUE_NAME = "govchat"
# Publishing must fail fast when Redis is down: the upload request is waiting on it.
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def broker_url(settings: Settings) -> str:
    url = settings.api.celery_broker_url or settings.redis.url
    if not url:
        raise ValueError(
            "GOVCHAT_API__JOBS=celery needs GOVCHAT_API__CELERY_BROKER_URL or GOVCHAT_REDIS__URL"
        )
    return url


def run_job_body(services: Services, job_id: str) -> str:
    """What the Celery task does (callable directly in tests): run the job, return its final status."""
    limits = parse_limits(services.settings.api)
    record = execute_job(services.kb, JobStore(services.engine), job_id, limits)
    return record.status if record is not None else "missing"


class _WorkerServices:
    """Services built lazily, once per worker process (a forked child must not inherit connections)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._services: Services | None = None
        self._lock = threading.Lock()

    def get(self) -> Services:
        with self._lock:
            if self._services is None:
                from serving.db import create_tables

                self._services = build_services(self._settings)
                create_tables(self._services.engine)
            return self._services


def create_celery_app(settings: Settings) -> Celery:
    """A Celery app configured from settings, with the job task registered."""
    app = Celery("govchat", broker=broker_url(settings), set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_default_queue=QUEUE_NAME,
        # A job is acknowledged only when it finished, so a killed worker's job is redelivered;
        # ingestion is idempotent by content hash.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2.0,
        broker_transport_options={"socket_connect_timeout": 2, "socket_timeout": 5},
        worker_hijack_root_logger=False,
        timezone="Asia/Shanghai",
    )
    state = _WorkerServices(settings)

    @app.task(name=RUN_JOB_TASK, ignore_result=True, shared=False)
    def run_job(job_id: str) -> str:
        return run_job_body(state.get(), job_id)

    return app


class CeleryJobQueue:
    """The API side: create the job row, publish the task; a dead broker fails the job at once."""

    def __init__(self, celery_app: Celery, store: JobStore) -> None:
        self._app = celery_app
        self._store = store

    def start(self) -> None:
        return None

    def stop(self) -> None:
        self._app.close()

    def submit(
        self, kind: JobKind, payload: dict[str, Any], *, job_id: str | None = None, created_by: str = ""
    ) -> JobRecord:
        job = self._store.create(kind, payload, job_id=job_id, created_by=created_by)
        try:
            self._app.send_task(RUN_JOB_TASK, args=[job.id], retry=True, retry_policy=_PUBLISH_RETRY)
        except Exception as exc:
            log.error("could not publish job %s: %s", job.id, type(exc).__name__)
            self._store.update(job.id, status="failed", error=messages.QUEUE_DOWN)
            raise QueueUnavailable(str(exc)) from exc
        return job


def __getattr__(name: str) -> Any:
    # `celery -A serving.worker` asks for `app` (then `celery`): build it from the environment now.
    if name in ("app", "celery"):
        return create_celery_app(Settings())
    raise AttributeError(name)
