"""Server-sent event streams (sse-starlette): a chat turn, and caseworker replies for a session.

Cancellation: when the client goes away, sse-starlette cancels the task that iterates these
generators; the ``CancelledError`` travels into ``Assistant.stream`` and from there into the LLM
client's stream, which closes the upstream request.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from sse_starlette import EventSourceResponse, ServerSentEvent

from assistant.types import TurnResult
from serving import messages
from serving.context import AppContext

log = logging.getLogger(__name__)


def event(name: str | None, data: Any, event_id: str | None = None) -> ServerSentEvent:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return ServerSentEvent(data=payload, event=name, id=event_id)


def result_json(result: TurnResult, token: str) -> dict[str, Any]:
    """The contract's TurnResult JSON, with the signed token in place of the raw session id."""
    data = result.to_json()
    data["session"] = token
    return data


def stream_response(
    ctx: AppContext, events: AsyncIterator[ServerSentEvent], *, sep: str | None = None
) -> EventSourceResponse:
    ping = ctx.settings.api.sse_ping_s
    return EventSourceResponse(
        events,
        ping=ping,
        ping_message_factory=lambda: event("ping", {"ts": time.time()}),
        sep=sep,
        headers={"Cache-Control": "no-store"},
    )


async def turn_events(
    ctx: AppContext, session_id: str, token: str, message: str
) -> AsyncIterator[ServerSentEvent]:
    """session, token…, workflow, citation…, handoff, done (or error)."""
    yield event("session", {"session": token})
    try:
        async for ev in ctx.services.assistant.stream(session_id, message):
            if ev.event == "done":
                result: TurnResult = ev.data["result"]
                ctx.observe_turn(result)
                yield event("done", {"result": result_json(result, token)})
            else:
                yield event(ev.event, ev.data)
    except Exception:  # the response has started: report in-band, never a stack trace
        log.exception("streamed turn failed")
        yield event("error", {"message": messages.STREAM_FAILED})


async def reply_events(ctx: AppContext, session_id: str, since: float) -> AsyncIterator[ServerSentEvent]:
    """``reply`` events for caseworker replies newer than ``since`` (polls the session history)."""
    seen = since
    poll = ctx.settings.api.events_poll_s
    while True:
        try:
            history = await ctx.services.assistant.history(session_id)
        except Exception as exc:
            log.warning("reading session history for events failed: %s", type(exc).__name__)
            history = []
        for turn in history:
            ts = float(turn.get("ts") or 0)
            if turn.get("role") == "caseworker" and ts > seen:
                seen = ts
                meta = turn.get("meta") or {}
                data = {"case_no": meta.get("case_no", ""), "text": turn.get("content", ""), "ts": ts}
                yield event("reply", data, event_id=repr(ts))
        await anyio.sleep(poll)
