"""End-to-end plumbing: the real `govchat serve` in a subprocess on a free port, staff accounts made
with the real CLI, and Debian's Chromium driven by Playwright.

Imported explicitly by the e2e modules (the lead owns tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import ViewportSize

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("GOVCHAT_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
MOBILE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 860}
STAFF = {
    "caseworker": ("e2e_caseworker", "Cw-e2e-pass-2468"),
    "admin": ("e2e_admin", "Admin-e2e-pass-1357"),
}


@contextlib.contextmanager
def launch_browser() -> Iterator[Any]:
    """Headless Debian Chromium (Playwright's own browser download does not work offline)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: run `make browser` (apt-get install chromium)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _env(data_dir: Path) -> dict[str, str]:
    """A clean environment: no developer GOVCHAT_* settings, no LLM, no Redis, hashing embedder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVCHAT_")}
    env.update(
        {
            "GOVCHAT_DATA_DIR": str(data_dir),
            "GOVCHAT_RETRIEVAL__EMBEDDER": "hashing",
            "GOVCHAT_LLM__BASE_URL": "",
            "GOVCHAT_REDIS__URL": "",
            "GOVCHAT_LOG_LEVEL": "INFO",
            # Every browser in the suite shares 127.0.0.1: keep the per-IP limit out of the way.
            "GOVCHAT_API__RATE_PER_IP": "100000",
            "GOVCHAT_API__RATE_PER_SESSION": "100000",
            "GOVCHAT_API__EVENTS_POLL_S": "0.5",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONPATH": str(REPO),
        }
    )
    return env


@dataclass
class GovchatServer:
    base_url: str
    data_dir: Path
    env: dict[str, str]
    log_path: Path
    users: dict[str, tuple[str, str]] = field(default_factory=dict)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Runs `govchat ARGS` against the same data dir as the server."""
        return subprocess.run(
            [sys.executable, "-m", "serving.cli", *args],
            env=self.env,
            cwd=self.data_dir.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30)

    def log_tail(self, n: int = 60) -> str:
        lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(lines[-n:])


@contextlib.contextmanager
def run_server(root: Path) -> Iterator[GovchatServer]:
    """`govchat serve` on a free port with staff users; yields once /readyz answers 200."""
    data_dir = root / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = ARTIFACTS / "server.log"
    server = GovchatServer(f"http://127.0.0.1:{port}", data_dir, _env(data_dir), log_path, dict(STAFF))
    for role, (name, password) in STAFF.items():
        server.cli("user", "add", name, "--role", role, "--password", password)
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "serving.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=server.env,
            cwd=root,  # never pick up a developer's .env from the repo
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(server, proc)
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _wait_ready(server: GovchatServer, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"govchat serve exited ({proc.returncode}):\n{server.log_tail()}")
        try:
            r = httpx.get(f"{server.base_url}/readyz", timeout=2)
            if r.status_code == 200:
                return
            last = f"{r.status_code} {r.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.3)
    raise RuntimeError(f"govchat serve not ready after 90 s ({last}):\n{server.log_tail()}")


def shot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Keeps a screenshot as a test artifact (test-artifacts/e2e/, gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
