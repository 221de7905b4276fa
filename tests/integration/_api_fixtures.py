"""Helpers for the API tests: the app on a real uvicorn server in a thread, SSE parsing, staff logins.

``LiveServer`` times every callback its event loop runs and records the ones that computed too long:
a test fails when a route blocked the loop (the STYLE rule "no blocking calls inside async code").
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import uvicorn
from fastapi import FastAPI

from retrieval.config import RetrievalSettings
from serving.app import create_app
from serving.context import AppContext
from serving.services import Services
from serving.settings import ApiSettings, Settings

SECRET = "test-secret-for-api-tests"


def api_settings(data_dir: Path, *, api: dict[str, Any] | None = None, **overrides: Any) -> Settings:
    """Settings for a test app: hashing embedder, generous limits unless a test narrows them."""
    api_fields: dict[str, Any] = {
        "rate_per_ip": 10_000,
        "rate_per_session": 10_000,
        "rate_login_per_ip": 10_000,
        "events_poll_s": 0.1,
        "sse_ping_s": 0,
        "eval_dir": data_dir / "eval-reports",
    }
    api_fields.update(api or {})
    overrides.setdefault("retrieval", RetrievalSettings(embedder="hashing"))
    overrides.setdefault("auth", {"secret_key": SECRET})
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=data_dir,
        api=ApiSettings(**api_fields),
        **overrides,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _LoopWatch:
    """Times every callback run on watched event-loop threads.

    A callback that *computed* for longer than ``cpu_s`` (thread CPU time, so GIL waits caused by
    other test threads do not count), or that held the loop for longer than ``wall_s`` in total, is
    a blocking call inside async code. Garbage-collection pauses are subtracted: a full collection of
    the test process's large heap runs on whichever thread triggers it and is not the route's work.
    """

    _installed = False
    _watched: ClassVar[dict[int, _LoopWatch]] = {}

    def __init__(self, cpu_s: float, wall_s: float) -> None:
        self.cpu_s = cpu_s
        self.wall_s = wall_s
        self.reports: list[str] = []

    _gc_cpu: ClassVar[dict[int, float]] = {}  # thread id -> CPU seconds spent in GC so far
    _gc_started: ClassVar[dict[int, float]] = {}

    @classmethod
    def _on_gc(cls, phase: str, _info: dict[str, int]) -> None:
        tid = threading.get_ident()
        if phase == "start":
            cls._gc_started[tid] = time.thread_time()
        elif tid in cls._gc_started:
            cls._gc_cpu[tid] = cls._gc_cpu.get(tid, 0.0) + time.thread_time() - cls._gc_started.pop(tid)

    @classmethod
    def _install(cls) -> None:
        if cls._installed:
            return
        gc.callbacks.append(cls._on_gc)
        original = asyncio.events.Handle._run

        def timed(handle: asyncio.Handle) -> None:
            watch = cls._watched.get(threading.get_ident())
            if watch is None:
                return original(handle)
            tid = threading.get_ident()
            cpu0, wall0, gc0 = time.thread_time(), time.perf_counter(), cls._gc_cpu.get(tid, 0.0)
            try:
                return original(handle)
            finally:
                gc_cpu = cls._gc_cpu.get(tid, 0.0) - gc0
                cpu = time.thread_time() - cpu0 - gc_cpu
                wall = time.perf_counter() - wall0 - gc_cpu
                if cpu > watch.cpu_s or wall > watch.wall_s:
                    watch.reports.append(f"{handle!r}: {cpu:.3f} s CPU, {wall:.3f} s wall on the event loop")

        asyncio.events.Handle._run = timed  # type: ignore[method-assign,assignment]
        cls._installed = True

    def watch_current_thread(self) -> None:
        self._install()
        self._watched[threading.get_ident()] = self

    def unwatch_current_thread(self) -> None:
        self._watched.pop(threading.get_ident(), None)


class LiveServer:
    """``with LiveServer(app) as server: httpx.get(server.url + "/healthz")``."""

    def __init__(self, app: FastAPI, *, cpu_s: float = 0.25, wall_s: float = 3.0) -> None:
        self.app = app
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._watch = _LoopWatch(cpu_s, wall_s)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self.app.state.ctx
        return ctx

    @property
    def services(self) -> Services:
        return self.ctx.services

    def _run(self, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._watch.watch_current_thread()
        try:
            assert self._server is not None
            loop.run_until_complete(self._server.serve(sockets=[sock]))
        except BaseException as exc:
            self._error = exc
        finally:
            # Library helpers (sse-starlette's shutdown watcher) may still be parked: end them quietly.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._watch.unwatch_current_thread()
            loop.close()

    def __enter__(self) -> LiveServer:
        if self._thread is not None:
            raise RuntimeError("a LiveServer is entered once")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="on", http="h11", loop="asyncio",
            timeout_graceful_shutdown=2, access_log=False,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, args=(sock,), daemon=True, name=f"api-{self.port}")
        self._thread.start()
        deadline = time.monotonic() + 120
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the test server did not start: {self._error!r}")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(15)

    def blocking_reports(self) -> list[str]:
        """Blocking calls seen on this server's event loop so far."""
        return list(self._watch.reports)

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)


def start_app(settings: Settings, services: Services | None = None) -> LiveServer:
    """The app on a live server, to be used as a context manager."""
    return LiveServer(create_app(settings, services))


def sse_events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """(event, data) pairs from an SSE response; data is parsed JSON when it is JSON."""
    name, data_lines = "message", list[str]()
    for line in response.iter_lines():
        if line == "":
            if data_lines:
                raw = "\n".join(data_lines)
                try:
                    yield name, json.loads(raw)
                except ValueError:
                    yield name, raw
            name, data_lines = "message", list[str]()
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data_lines.append(line[5:].removeprefix(" "))


def stream_chat(client: httpx.Client, message: str, session: str | None = None) -> list[tuple[str, Any]]:
    with client.stream("POST", "/api/chat/stream", json={"session": session, "message": message}) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        return list(sse_events(r))


def add_staff(server: LiveServer, username: str, role: str, password: str = "correct horse battery") -> str:
    server.ctx.users.add_user(username, role, password)  # type: ignore[arg-type]
    return password


def login(server: LiveServer, username: str, password: str) -> tuple[httpx.Client, str]:
    """A client holding the staff cookie, and the CSRF token to send with state-changing requests."""
    client = server.client()
    r = client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return client, r.json()["csrf_token"]


def bearer(server: LiveServer, username: str, password: str) -> httpx.Client:
    r = httpx.post(f"{server.url}/api/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return server.client(headers={"Authorization": f"Bearer {r.json()['token']}"})


def wait_job(client: httpx.Client, job_id: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/admin/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise TimeoutError(f"job {job_id} did not finish")
