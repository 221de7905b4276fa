"""The SessionStore interface and the session domain types.

A session is what the assistant remembers between two turns of one conversation: the (masked) history, the
一件事 being discussed, the workflow engine's opaque state and free-form data. Stores forget a session after
a TTL; an unknown or expired session simply loads as a fresh one, so callers never special-case it.

History and state are written separately on purpose: ``append`` adds one turn, ``save_state`` writes
``topic``/``flow``/``data``. A pipeline that appends the user turn and later saves a state it loaded before
cannot overwrite that turn.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class SessionStoreUnavailable(RuntimeError):
    """The backing service cannot be reached (the resilient store falls back on this)."""


class SessionLockTimeout(TimeoutError):
    """Another turn of the same session held the lock for too long (tell the citizen to wait)."""


@dataclass(frozen=True)
class Turn:
    """One message of a conversation. ``content`` is masked text; ``meta`` must be JSON-serialisable."""

    role: str
    content: str
    ts: float
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"role": self.role, "content": self.content, "ts": self.ts, "meta": self.meta},
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Turn:
        obj = json.loads(raw)
        if not isinstance(obj, dict):
            raise ValueError("turn is not a JSON object")
        meta = obj.get("meta") or {}
        if not isinstance(meta, dict):
            raise ValueError("turn meta is not an object")
        return cls(role=str(obj["role"]), content=str(obj["content"]), ts=float(obj["ts"]), meta=meta)


@dataclass
class SessionState:
    """Everything remembered about one session.

    Mutable on purpose: a turn loads it, changes ``topic``/``flow``/``data`` and saves it. Stores hand out
    copies, so changes reach the store only through ``save_state``.

    Attributes:
        history: turns, oldest first, at most the store's ``max_turns``.
        topic: id of the current 一件事 / service guide, or None.
        flow: opaque state owned by the workflow engine, or None when no guided flow runs.
        data: free-form JSON-serialisable values (e.g. answers collected so far).
    """

    history: tuple[Turn, ...] = ()
    topic: str | None = None
    flow: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not self.history and self.topic is None and self.flow is None and not self.data

    def fields_json(self) -> dict[str, str]:
        """The non-history fields, each as a JSON string (the Redis hash layout)."""
        return {
            "topic": json.dumps(self.topic, ensure_ascii=False),
            "flow": json.dumps(self.flow, ensure_ascii=False),
            "data": json.dumps(self.data, ensure_ascii=False),
        }

    @classmethod
    def from_fields_json(cls, fields: Mapping[str, str], history: tuple[Turn, ...] = ()) -> SessionState:
        """Inverse of ``fields_json``; missing fields take their defaults."""
        topic = json.loads(fields["topic"]) if "topic" in fields else None
        flow = json.loads(fields["flow"]) if "flow" in fields else None
        data = json.loads(fields["data"]) if "data" in fields else {}
        if topic is not None and not isinstance(topic, str):
            raise ValueError("topic is not a string")
        if flow is not None and not isinstance(flow, dict):
            raise ValueError("flow is not an object")
        if not isinstance(data, dict):
            raise ValueError("data is not an object")
        return cls(history=history, topic=topic, flow=flow, data=data)


@runtime_checkable
class SessionStore(Protocol):
    """Per-session memory with a TTL refreshed on every write.

    Implementations: ``RedisSessionStore`` (production, shared by replicas), ``InMemorySessionStore``
    (single process), ``ResilientSessionStore`` (Redis with an in-memory fallback).
    """

    async def load(self, session_id: str) -> SessionState:
        """The session's state; a fresh empty state when unknown, expired or unreadable."""
        ...

    async def append(self, session_id: str, turn: Turn) -> None:
        """Add a turn, trim history to the newest ``max_turns`` and refresh the TTL."""
        ...

    async def save_state(self, session_id: str, state: SessionState) -> None:
        """Write ``topic``, ``flow`` and ``data`` (``state.history`` is ignored) and refresh the TTL."""
        ...

    def lock(self, session_id: str) -> AbstractAsyncContextManager[None]:
        """Serialise turns of one session: ``async with store.lock(sid): ...``.

        Raises:
            SessionLockTimeout: the lock could not be taken in time.
        """
        ...

    async def delete(self, session_id: str) -> None:
        """Forget the session (a no-op when unknown)."""
        ...
