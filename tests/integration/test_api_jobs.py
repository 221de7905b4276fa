"""Background jobs: the in-process queue for real, the Celery task body and configuration, a dead
broker, and an API replica following KB changes made by another process."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import anyio
import pytest
from celery.app.utils import find_app
from kombu import Connection

from retrieval.config import RetrievalSettings
from serving.db import create_tables
from serving.jobs import InProcessJobQueue, JobStore, QueueUnavailable, execute_job
from serving.kbsync import follow_kb_version
from serving.services import Services, build_services
from serving.worker import RUN_JOB_TASK, CeleryJobQueue, create_celery_app, run_job_body
from tests.integration._api_fixtures import add_staff, api_settings, bearer, free_port, start_app
from tests.paths import REDIS_URL

pytestmark = pytest.mark.integration

DOC = "# 湖北省星链政务便民服务指引\n\n## 服务内容\n\n星链政务便民服务为群众提供星链政务证明在线开具服务。\n"


def _services(data_dir: Path, **overrides: object) -> Services:
    services = build_services(api_settings(data_dir, **overrides))  # type: ignore[arg-type]
    create_tables(services.engine)
    return services


def _doc(folder: Path, name: str = "starlink-guide.md", text: str = DOC) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _wait(store: JobStore, job_id: str, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = store.get(job_id)
        assert job is not None
        if job.status in ("done", "failed"):
            return job.status
        time.sleep(0.05)
    raise TimeoutError(job_id)


def test_in_process_queue_runs_jobs_in_order_with_progress(tmp_path: Path) -> None:
    services = _services(tmp_path / "data")
    store = JobStore(services.engine)
    queue = InProcessJobQueue(services.kb, store)
    queue.start()
    try:
        good = queue.submit("ingest", {"paths": [str(_doc(tmp_path / "in"))]}, created_by="boss")
        missing = queue.submit("ingest", {"paths": [str(tmp_path / "nowhere.md")]})
        assert good.status == "queued" and good.created_by == "boss"
        assert _wait(store, good.id) == "done"
        assert _wait(store, missing.id) == "failed"
        done = store.get(good.id)
        assert done is not None and done.progress == 1.0 and done.done == done.total == 1
        assert done.report is not None and done.report["added"] == ["starlink-guide"]
        failed = store.get(missing.id)
        assert failed is not None and "nowhere.md" in failed.error
        hits = services.kb.search("星链政务证明怎么开具", k=3).hits
        assert hits and hits[0].chunk.doc_id == "starlink-guide"
        assert [j.id for j in store.recent()] == [missing.id, good.id]
    finally:
        queue.stop()
        services.close()


def test_restart_fails_interrupted_jobs_and_runs_queued_ones(tmp_path: Path) -> None:
    services = _services(tmp_path / "data")
    store = JobStore(services.engine)
    interrupted = store.create("ingest", {"paths": []})
    store.update(interrupted.id, status="running")
    waiting = store.create("ingest", {"paths": [str(_doc(tmp_path / "in"))]})
    queue = InProcessJobQueue(services.kb, store)
    queue.start()
    try:
        assert _wait(store, waiting.id) == "done"
        after = store.get(interrupted.id)
        assert after is not None and after.status == "failed" and "中断" in after.error
    finally:
        queue.stop()
        services.close()


def test_execute_job_never_leaves_a_job_running_when_the_kb_fails(tmp_path: Path) -> None:
    services = _services(tmp_path / "data")
    store = JobStore(services.engine)
    job = store.create("ingest", {"paths": [str(_doc(tmp_path / "in"))]})
    services.engine.dispose()
    services.kb.registry._engine = None  # type: ignore[assignment]  # the database went away
    result = execute_job(services.kb, store, job.id)
    assert result is not None and result.status == "failed" and result.error


def test_celery_app_is_configured_from_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = api_settings(tmp_path, redis={"url": REDIS_URL}, api={"jobs": "celery"})
    app = create_celery_app(settings)
    assert app.conf.broker_url == REDIS_URL
    assert app.conf.task_acks_late and app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_serializer == "json" and app.conf.task_default_queue == "govchat"
    assert RUN_JOB_TASK in app.tasks
    explicit = api_settings(
        tmp_path, redis={"url": REDIS_URL}, api={"celery_broker_url": "redis://127.0.0.1:6379/3"}
    )
    assert create_celery_app(explicit).conf.broker_url == "redis://127.0.0.1:6379/3"
    with pytest.raises(ValueError, match="CELERY_BROKER_URL"):
        create_celery_app(api_settings(tmp_path))
    # What `celery -A serving.worker worker` does: find the app, built from the environment.
    monkeypatch.setenv("GOVCHAT_REDIS__URL", REDIS_URL)
    monkeypatch.setenv("GOVCHAT_DATA_DIR", str(tmp_path))
    found = find_app("serving.worker")
    assert found.conf.broker_url == REDIS_URL and RUN_JOB_TASK in found.tasks


def test_celery_task_body_ingests_like_the_in_process_queue(tmp_path: Path) -> None:
    settings = api_settings(tmp_path / "data", redis={"url": REDIS_URL}, api={"jobs": "celery"})
    services = _services(tmp_path / "data")
    store = JobStore(services.engine)
    job = store.create("ingest", {"paths": [str(_doc(tmp_path / "in"))]})
    assert run_job_body(services, job.id) == "done"
    assert run_job_body(services, job.id) == "done"  # a redelivered message does nothing twice
    assert run_job_body(services, "no-such-job") == "missing"
    # The registered task builds its own services (as a worker process would) and runs the same body.
    second = store.create(
        "ingest", {"paths": [str(_doc(tmp_path / "in", "other.md", DOC.replace("星链", "北斗")))]}
    )
    task = create_celery_app(settings).tasks[RUN_JOB_TASK]
    assert task.run(second.id) == "done"
    assert {d.doc_id for d in services.kb.documents()} == {"starlink-guide", "other"}
    services.close()


def test_celery_queue_publishes_a_message_a_worker_can_run(tmp_path: Path) -> None:
    settings = api_settings(tmp_path / "data", redis={"url": REDIS_URL}, api={"jobs": "celery"})
    services = _services(tmp_path / "data")
    store = JobStore(services.engine)
    app = create_celery_app(settings)
    app.conf.task_default_queue = queue_name = f"test-govchat-{uuid.uuid4().hex}"
    job = CeleryJobQueue(app, store).submit("ingest", {"paths": [str(_doc(tmp_path / "in"))]})
    with Connection(REDIS_URL) as conn:
        simple = conn.SimpleQueue(queue_name)
        try:
            message = simple.get(timeout=5)
            assert message.headers["task"] == RUN_JOB_TASK
            args = message.decode()[0]
            message.ack()
        finally:
            simple.queue.delete()
            simple.close()
    assert args == [job.id]
    assert run_job_body(services, *args) == "done"
    app.close()
    services.close()


def test_dead_broker_fails_the_job_at_once(tmp_path: Path) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = api_settings(tmp_path / "data", redis={"url": dead}, api={"jobs": "celery"})
    services = _services(tmp_path / "data")
    store = JobStore(services.engine)
    queue = CeleryJobQueue(create_celery_app(settings), store)
    started = time.monotonic()
    with pytest.raises(QueueUnavailable):
        queue.submit("ingest", {"paths": []})
    assert time.monotonic() - started < 10
    [job] = store.recent()
    assert job.status == "failed" and "队列" in job.error
    services.close()


def test_api_in_celery_mode_answers_503_when_the_broker_is_down(tmp_path: Path) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = api_settings(tmp_path, redis={"url": dead}, api={"jobs": "celery", "sample_if_empty": False})
    with start_app(settings) as srv:
        add_staff(srv, "boss", "admin", "correct horse battery")
        with bearer(srv, "boss", "correct horse battery") as admin:
            r = admin.post("/api/admin/documents", files={"file": ("a.md", DOC.encode(), "text/markdown")})
            assert r.status_code == 503 and r.json()["error"]["code"] == "queue_unavailable"
            assert admin.get("/api/admin/jobs").json()[0]["status"] == "failed"
        with srv.client() as c:
            assert c.get("/healthz").status_code == 200


def test_api_replica_follows_kb_changes_made_by_a_worker_process(tmp_path: Path) -> None:
    """Two KnowledgeBase objects on one database stand for the API and a worker process."""
    api = _services(tmp_path / "api")
    db_url = api.settings.database_url
    worker = build_services(
        api_settings(tmp_path / "worker", db={"url": db_url}, retrieval=RetrievalSettings(embedder="hashing"))
    )
    query = "星链政务证明怎么开具"

    async def scenario() -> list[str]:
        async with anyio.create_task_group() as tg:
            tg.start_soon(follow_kb_version, api.kb, 0.1)
            await anyio.sleep(0.3)
            await anyio.to_thread.run_sync(lambda: worker.kb.ingest_paths([_doc(tmp_path / "in")]))
            found: list[str] = []
            with anyio.move_on_after(10):
                while not found:
                    await anyio.sleep(0.1)
                    result = await anyio.to_thread.run_sync(lambda: api.kb.search(query, k=3))
                    found = [h.chunk.doc_id for h in result.hits]
            tg.cancel_scope.cancel()
        return found

    assert not api.kb.search(query, k=3).hits
    assert anyio.run(scenario)[:1] == ["starlink-guide"]
    worker.close()
    api.close()
