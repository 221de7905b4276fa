"""Sessions as JSON files under the data dir: the embedded default for the CLI.

`govchat ask --session S` runs one process per call, so in-process memory would forget the
conversation between calls; without Redis, a file per session keeps it. Writes are atomic (temp
file + rename) and ``lock`` takes an OS file lock, so two processes never interleave one session.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from assistant.memory.base import SessionLockTimeout, SessionState, Turn


class FileSessionStore:
    def __init__(self, directory: Path, ttl_s: float, max_turns: int, *, lock_wait_s: float = 30.0) -> None:
        if ttl_s <= 0 or max_turns < 1:
            raise ValueError("ttl_s and max_turns must be positive")
        self._dir = directory
        self._ttl_s = ttl_s
        self._max_turns = max_turns
        self._lock_wait_s = lock_wait_s

    def _path(self, session_id: str, suffix: str = ".json") -> Path:
        return self._dir / (hashlib.sha256(session_id.encode("utf-8")).hexdigest()[:32] + suffix)

    def _read(self, session_id: str) -> dict[str, Any]:
        path = self._path(session_id)
        try:
            if time.time() - path.stat().st_mtime > self._ttl_s:
                return {}
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # unknown, expired or unreadable: a fresh session, never an error
        return data if isinstance(data, dict) else {}

    def _write(self, session_id: str, data: dict[str, Any]) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        path = self._path(session_id)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)

    async def load(self, session_id: str) -> SessionState:
        data = await anyio.to_thread.run_sync(self._read, session_id)
        try:
            history = tuple(Turn.from_json(raw) for raw in data.get("history", []))
            return SessionState.from_fields_json(data.get("fields", {}), history)
        except (ValueError, KeyError, TypeError):
            return SessionState()

    def _append(self, session_id: str, turn: Turn) -> None:
        data = self._read(session_id)
        history = [*data.get("history", []), turn.to_json()][-self._max_turns :]
        self._write(session_id, {"history": history, "fields": data.get("fields", {})})

    def _save_state(self, session_id: str, state: SessionState) -> None:
        data = self._read(session_id)
        self._write(session_id, {"history": data.get("history", []), "fields": state.fields_json()})

    # File I/O runs in a worker thread: no blocking calls inside the event loop.
    async def append(self, session_id: str, turn: Turn) -> None:
        await anyio.to_thread.run_sync(self._append, session_id, turn)

    async def save_state(self, session_id: str, state: SessionState) -> None:
        await anyio.to_thread.run_sync(self._save_state, session_id, state)

    async def delete(self, session_id: str) -> None:
        await anyio.to_thread.run_sync(lambda: self._path(session_id).unlink(missing_ok=True))

    @asynccontextmanager
    async def lock(self, session_id: str) -> AsyncIterator[None]:
        self._dir.mkdir(parents=True, exist_ok=True)
        handle = open(self._path(session_id, ".lock"), "a+")  # noqa: SIM115 - held across the yield
        try:
            deadline = time.monotonic() + self._lock_wait_s
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise SessionLockTimeout("session busy") from None
                    await anyio.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            handle.close()
