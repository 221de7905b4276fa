"""Events a streamed turn emits (mapped 1:1 to SSE events by the API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

EventName = Literal["token", "citation", "workflow", "handoff", "done", "error"]


@dataclass(frozen=True)
class TurnEvent:
    event: EventName
    data: dict[str, Any]
