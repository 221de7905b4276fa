"""Background jobs (document ingestion, reindex): one ``jobs`` table, two queues.

``InProcessJobQueue`` runs jobs on one thread inside the API process (the embedded default);
``CeleryJobQueue`` (serving/celery_queue.py) hands them to Celery workers on Redis. Both write the same
rows through ``JobStore`` and run the same ``execute_job`` body, so status, progress and errors look
alike to the admin page. The knowledge base's replace is atomic, so a crash mid-job leaves it consistent.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import JSON, DateTime, Float, Integer, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from retrieval.knowledge_base import KnowledgeBase
from serving import messages
from serving.db import ServingBase, as_utc, utcnow
from serving.ingest_job import entries_from_payload, ingest_entries, reindex_entries
from serving.parsing import ParseLimits

log = logging.getLogger(__name__)

JobKind = Literal["ingest", "reindex"]
JobStatus = Literal["queued", "running", "done", "failed"]


class QueueUnavailable(RuntimeError):
    """The queue could not take the job (e.g. the broker is down); the job row is marked failed."""


class JobRow(ServingBase):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class JobRecord:
    id: str
    kind: str
    status: str
    progress: float
    total: int
    done: int
    payload: dict[str, Any]
    report: dict[str, Any] | None
    error: str
    created_by: str
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "progress": round(self.progress, 4),
            "total": self.total,
            "done": self.done,
            "report": self.report,
            "error": self.error,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _record(r: JobRow) -> JobRecord:
    return JobRecord(
        r.id, r.kind, r.status, r.progress, r.total, r.done, dict(r.payload or {}), r.report, r.error,
        r.created_by, as_utc(r.created_at), as_utc(r.updated_at),
    )  # fmt: skip


def new_job_id() -> str:
    return uuid.uuid4().hex


class JobStore:
    """The ``jobs`` table. Synchronous; async callers use ``anyio.to_thread``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self, kind: JobKind, payload: dict[str, Any], *, job_id: str | None = None, created_by: str = ""
    ) -> JobRecord:
        now = utcnow()
        row = JobRow(
            id=job_id or new_job_id(), kind=kind, status="queued", progress=0.0, total=0, done=0,
            payload=payload, report=None, error="", created_by=created_by, created_at=now, updated_at=now,
        )  # fmt: skip
        with Session(self._engine) as s, s.begin():
            s.add(row)
            s.flush()
            return _record(row)

    def get(self, job_id: str) -> JobRecord | None:
        with Session(self._engine) as s:
            row = s.get(JobRow, job_id)
            return _record(row) if row else None

    def recent(self, limit: int = 50) -> list[JobRecord]:
        with Session(self._engine) as s:
            rows = s.scalars(select(JobRow).order_by(JobRow.created_at.desc()).limit(limit))
            return [_record(r) for r in rows]

    def update(self, job_id: str, **fields: Any) -> None:
        with Session(self._engine) as s, s.begin():
            row = s.get(JobRow, job_id)
            if row is None:
                return
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = utcnow()

    def unfinished(self) -> list[JobRecord]:
        with Session(self._engine) as s:
            rows = s.scalars(select(JobRow).where(JobRow.status.in_(["queued", "running"])))
            return [_record(r) for r in rows]


def execute_job(
    kb: KnowledgeBase, store: JobStore, job_id: str, limits: ParseLimits | None = None
) -> JobRecord | None:
    """The job body both queues run: parse the job's files (or every document's source) in the
    isolated parser and index them, recording progress.

    A job whose files all fail (a loader refusal, a broken size/count/time bound) is ``failed`` with
    the reasons; a partly failed job is ``done`` and its report lists the failures.
    """
    job = store.get(job_id)
    if job is None or job.status not in ("queued", "running"):
        return job
    try:
        entries = reindex_entries(kb) if job.kind == "reindex" else entries_from_payload(job.payload)
        store.update(job_id, status="running", total=len(entries), done=0, progress=0.0)

        def progress(count: int) -> None:
            store.update(job_id, done=count, progress=count / max(len(entries), 1))

        report = ingest_entries(kb, entries, limits or ParseLimits(), progress)
        if job.kind == "reindex":
            kb.rebuild_lexical()
        data = report.to_json()
        ingested = report.added or report.replaced or report.unchanged
        if report.failed and not ingested:
            detail = "; ".join(err for _, err in report.failed)[:1000]
            store.update(
                job_id,
                status="failed",
                report=data,
                error=messages.JOB_NOTHING_INGESTED.format(detail=detail),
            )
        else:
            store.update(job_id, status="done", report=data, progress=1.0)
    except Exception as exc:  # a job must end in a state the admin can read, never stay "running"
        log.exception("job %s failed", job_id)
        store.update(
            job_id,
            status="failed",
            error=messages.JOB_CRASHED.format(detail=f"{type(exc).__name__}: {exc}")[:1000],
        )
    return store.get(job_id)


class JobQueue(Protocol):
    """Where jobs go after their row is created."""

    def submit(
        self, kind: JobKind, payload: dict[str, Any], *, job_id: str | None = None, created_by: str = ""
    ) -> JobRecord:
        """Create the job row and schedule it; returns the queued record."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class InProcessJobQueue:
    """One daemon thread, one job at a time (ingestion writes must not interleave in one process)."""

    def __init__(self, kb: KnowledgeBase, store: JobStore, limits: ParseLimits | None = None) -> None:
        self._kb = kb
        self._store = store
        self._limits = limits
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        # Jobs of a previous process: a running one was cut off; queued ones can still run.
        for job in self._store.unfinished():
            if job.status == "running":
                self._store.update(job.id, status="failed", error=messages.JOB_INTERRUPTED)
            else:
                self._queue.put(job.id)
        self._thread = threading.Thread(target=self._run, name="govchat-jobs", daemon=True)
        self._thread.start()

    def submit(
        self, kind: JobKind, payload: dict[str, Any], *, job_id: str | None = None, created_by: str = ""
    ) -> JobRecord:
        job = self._store.create(kind, payload, job_id=job_id, created_by=created_by)
        self._queue.put(job.id)
        return job

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout_s)
        self._thread = None

    def _run(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            execute_job(self._kb, self._store, job_id, self._limits)
