"""`govchat serve` as a user runs it: a fresh data dir, embedded defaults, ready within 10 s."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration._api_fixtures import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

READY_BUDGET_S = 10.0


def test_serve_on_a_fresh_data_dir_is_ready_quickly_and_logs_json(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVCHAT_")}
    env.update(GOVCHAT_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    govchat = Path(sys.executable).with_name("govchat")
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(govchat), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    ready_after, cpu_s = None, 0.0
    busy = os.getloadavg()[0] > (os.cpu_count() or 1)
    try:
        while time.monotonic() - started < 60 and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    ready_after = time.monotonic() - started
                    cpu_s = _cpu_seconds(proc.pid)
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        assert ready_after is not None, "govchat serve never became ready"
        print(
            f"\ngovchat serve ready after {ready_after:.2f} s wall, {cpu_s:.2f} s CPU (fresh data dir, sample KB)"
        )
        answer = httpx.post(
            f"http://127.0.0.1:{port}/api/chat", json={"message": "电子证照怎么用"}, timeout=30
        )
        assert answer.status_code == 200 and answer.json()["citations"]
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code in (200, 404)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    # uvicorn shuts down cleanly, then re-raises the signal it caught (exit status -SIGTERM).
    assert proc.returncode in (0, -signal.SIGTERM) and "Application shutdown complete." in stderr, stderr[
        -2000:
    ]
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    access = [x for x in lines if x.get("logger") == "govchat.access"]
    assert access and all(x.get("request_id") for x in access)
    assert "电子证照" not in stderr  # no chat text in the logs
    # The budget is wall-clock on an idle 2-core machine; when other work saturates the CPUs (parallel
    # test runs), the process's own CPU time is the fair measure of the same budget.
    assert cpu_s <= READY_BUDGET_S, f"{cpu_s:.1f} s CPU to become ready"
    if not busy:
        assert ready_after <= READY_BUDGET_S, f"ready after {ready_after:.1f} s"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_the_loop_watch_catches_blocking_routes_and_spares_threaded_ones() -> None:
    """The check every API test relies on: CPU work on the event loop is reported, in a thread it is not."""
    import anyio
    from fastapi import FastAPI

    from tests.integration._api_fixtures import LiveServer

    def spin(seconds: float) -> int:
        end, n = time.thread_time() + seconds, 0
        while time.thread_time() < end:
            n += 1
        return n

    app = FastAPI()

    @app.get("/blocking")
    async def blocking() -> dict[str, int]:
        return {"n": spin(0.4)}

    @app.get("/threaded")
    async def threaded() -> dict[str, int]:
        return {"n": await anyio.to_thread.run_sync(spin, 0.4)}

    with LiveServer(app) as srv, srv.client() as c:
        assert c.get("/threaded").status_code == 200
        assert srv.blocking_reports() == []
        assert c.get("/blocking").status_code == 200
        assert len(srv.blocking_reports()) == 1 and "CPU" in srv.blocking_reports()[0]
