"""Schema-driven fuzzing of the live HTTP API (Schemathesis): every operation of the OpenAPI schema gets
generated requests, valid (positive) and invalid (negative), and no answer may be a server error.

The suite runs a short pass (``tests/integration/test_api_fuzz.py``); this script runs a longer one
against a real ``govchat serve`` on PostgreSQL + Redis and prints its figures:

    python -m evals.fuzz_api [--examples 200] [--seed 1] [--out fuzz.json]

It needs the test services on loopback (``GOVCHAT_TEST_POSTGRES_URL`` / ``GOVCHAT_TEST_REDIS_URL``,
defaults ``postgresql+psycopg://postgres@127.0.0.1:5432/test`` and ``redis://127.0.0.1:6379/15``).
Staff routes are called with a fresh admin token per request (logout revokes one), so the fuzzer
reaches the handlers behind the authentication gate.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

# Staff-only prefixes: the fuzzer presents an admin token there.
STAFF_PREFIXES = ("/api/admin", "/api/cases/{", "/api/followups", "/api/auth/me", "/api/auth/logout")
# Operations that start background work: a few examples are enough.
# (Logins verify an argon2 hash; an event stream is read for its first 0.1 s.)
EXPENSIVE = {
    ("POST", "/api/admin/reindex"): 2,
    ("POST", "/api/admin/documents"): 8,
    ("POST", "/api/auth/login"): 20,
    ("POST", "/api/auth/token"): 20,
    ("GET", "/api/events"): 20,
}


@dataclass
class FuzzReport:
    requests: int = 0
    seconds: float = 0.0
    by_status: Counter[int] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    request_seconds: Counter[str] = field(default_factory=Counter)  # time on the wire, per operation
    server_errors: list[str] = field(default_factory=list)  # "METHOD path -> status: curl"

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 1),
            "requests_per_s": round(self.requests / self.seconds, 1) if self.seconds else 0.0,
            "seconds_on_the_wire": round(sum(self.request_seconds.values()), 1),
            "server_errors": len(self.server_errors),
            "operations": len(self.by_operation),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "server_error_samples": self.server_errors[:20],
        }


def _is_staff(path: str) -> bool:
    return path.startswith(STAFF_PREFIXES) and path != "/api/cases/status"


def _sender(
    base_url: str,
    report: FuzzReport,
    lock: threading.Lock,
    generating: threading.Lock,
    label: str,
    auth: Callable[[], dict[str, str]] | None,
    timeout_s: float,
) -> Callable[[Any], None]:
    """The body Hypothesis runs for each generated case of one operation: send it and record.

    Hypothesis runs while its thread holds ``generating`` (its engine parses source with ``ast``, which
    is not thread-safe on CPython 3.11); only the request itself runs without it."""
    session = requests.Session()

    def send(case: Any) -> None:
        headers = auth() if auth is not None else None
        sent = time.perf_counter()
        error = ""
        generating.release()  # the request may overlap another thread's generation
        try:
            status = case.call(
                base_url=base_url, session=session, headers=headers, timeout=timeout_s
            ).status_code
        except requests.RequestException as exc:
            status, error = 599, f"{label} -> {type(exc).__name__}"
        finally:
            generating.acquire()
        with lock:
            report.request_seconds[label] += time.perf_counter() - sent
            report.requests += 1
            report.by_status[status] += 1
            report.by_operation[label] += 1
            if error:
                report.server_errors.append(error)
            elif status >= 500:
                report.server_errors.append(f"{label} -> {status}: {case.as_curl_command(headers=headers)}")

    return send


def fuzz(
    base_url: str,
    *,
    examples: int,
    admin_headers: Callable[[], dict[str, str]],
    seed: int = 0,
    timeout_s: float = 30.0,
    workers: int = 2,
) -> FuzzReport:
    """Every operation × (positive, negative) generation, ``examples`` each (fewer for EXPENSIVE),
    operations spread over ``workers`` threads (generation and the server's work overlap)."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(f"{base_url}/api/openapi.json")
    report = FuzzReport()
    lock, generating = threading.Lock(), threading.Lock()
    started = time.perf_counter()

    def run_operation(operation: Any) -> None:
        key = (operation.method.upper(), operation.path)
        label = f"{key[0]} {key[1]}"
        # An event stream never ends by itself: its status and first bytes are the answer.
        wait = 0.1 if operation.path == "/api/events" else timeout_s
        auth = admin_headers if _is_staff(operation.path) else None
        send = _sender(base_url, report, lock, generating, label, auth, wait)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run = settings(
                max_examples=max(1, EXPENSIVE.get(key, examples) // 2),
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )(given(case=operation.as_strategy(generation_mode=mode))(send))
            with generating:
                try:
                    hypothesis_seed(seed)(run)()
                except Unsatisfiable:  # nothing to make invalid (an operation without inputs)
                    continue

    operations = [result.ok() for result in schema.get_all_operations()]
    # The slowest operations first, so the threads finish together.
    operations.sort(key=lambda op: (op.method.upper(), op.path) not in EXPENSIVE)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fuzz") as pool:
        for future in [pool.submit(run_operation, op) for op in operations]:
            future.result()
    report.seconds = time.perf_counter() - started
    return report


# --- the standalone run: a real `govchat serve` on PostgreSQL + Redis ----------------------------------
@contextmanager
def _pg_schema(url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text

    schema = f"fuzz_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def served(data_dir: Path, db_url: str, redis_url: str) -> Iterator[str]:
    """``govchat serve`` in a child process; yields its base URL once /readyz answers."""
    port = _free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "GOVCHAT_ENV": "test",
        "GOVCHAT_DATA_DIR": str(data_dir),
        "GOVCHAT_DB__URL": db_url,
        "GOVCHAT_REDIS__URL": redis_url,
        "GOVCHAT_AUTH__SECRET_KEY": "fuzz-" + uuid.uuid4().hex,
        "GOVCHAT_RETRIEVAL__EMBEDDER": "hashing",
        "GOVCHAT_API__RATE_PER_IP": "1000000",
        "GOVCHAT_API__RATE_PER_SESSION": "1000000",
        "GOVCHAT_API__RATE_LOGIN_PER_IP": "1000000",
        "GOVCHAT_API__RATE_KEY_PREFIX": f"govchat:fuzz:{uuid.uuid4().hex[:8]}:",
        "GOVCHAT_API__SSE_PING_S": "0",
    }
    cmd = [sys.executable, "-m", "serving.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {data_dir / 'server.log'}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def fuzz_live_server(*, examples: int, seed: int = 1) -> FuzzReport:
    """A fresh ``govchat serve`` on its own PostgreSQL schema and Redis key prefix, fuzzed."""
    from sqlalchemy import create_engine

    from serving.users import UserStore

    pg = os.environ.get("GOVCHAT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("GOVCHAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    with (
        tempfile.TemporaryDirectory(prefix="govchat-fuzz-") as tmp,
        _pg_schema(pg) as db_url,
        served(Path(tmp), db_url, redis_url) as url,
    ):
        engine = create_engine(db_url)
        users = UserStore(engine)
        users.add_user("fuzz-admin", "admin", "fuzz-admin-password")
        try:
            return fuzz(
                url,
                examples=examples,
                seed=seed,
                admin_headers=lambda: {"Authorization": f"Bearer {users.issue_for('fuzz-admin', 'token')}"},
            )
        finally:
            engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="generated requests per operation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here too")
    args = parser.parse_args(argv)
    report = fuzz_live_server(examples=args.examples, seed=args.seed)
    figures = {"examples_per_operation": args.examples, "seed": args.seed, **report.to_json()}
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    if args.out:
        args.out.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 1 if report.server_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
