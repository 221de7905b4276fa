"""The OpenAI-compatible surface: ``/v1/models`` and ``/v1/chat/completions`` over the assistant.

The last user message is the question; the conversation itself lives in govchat's session memory,
kept by ``metadata.session`` (the signed token govchat returns). The ``user`` field names a session
only for an authenticated caller (an API key or staff bearer token), and only within that caller's
own namespace: a client-chosen string never reaches another caller's session, and an anonymous
caller's ``user`` is ignored (each such request without ``metadata.session`` starts a fresh session).
Responses carry an extension object ``govchat`` (citations, intent, mode, workflow, handoff, session).

Streaming sends text deltas as they are produced. The final answer is authoritative (an uncited LLM
answer may be replaced): when it extends what was streamed, the rest is sent as a last delta; when it
differs otherwise, the final chunk says ``govchat.replaced: true`` and carries ``govchat.answer``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import ServerSentEvent

from assistant.audit import AuditWriteFailed
from assistant.types import TurnResult
from serving import messages
from serving.context import AppContext
from serving.schemas import ChatCompletionRequest
from serving.sse import event, result_json
from serving.users import Credential

log = logging.getLogger(__name__)

MODEL_ID = "govchat"


def models_json() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "govchat"}],
    }


def session_for(ctx: AppContext, req: ChatCompletionRequest, caller: Credential | None) -> tuple[str, str]:
    """(session id, signed token): ``metadata.session`` when valid; else, for an authenticated caller,
    the session its ``user`` string names within its own namespace; else a fresh session."""
    token = str((req.metadata or {}).get("session") or "")
    sid = ctx.tokens.verify(token)
    if sid is None and req.user and caller is not None:
        sid = ctx.tokens.for_client_user(f"staff-user:{caller.user.id}", req.user)
    if sid is None:
        return ctx.tokens.resolve(None)
    return sid, ctx.tokens.sign(sid)


def extension(result: TurnResult, token: str) -> dict[str, Any]:
    data = result_json(result, token)
    keys = ("citations", "intent", "mode", "workflow", "flow", "handoff", "notices", "session", "turn_id")
    return {k: data[k] for k in keys}


def _usage() -> dict[str, int]:
    # Token counts are not tracked through the extractive path; zeros keep SDK models valid.
    return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def completion_json(result: TurnResult, token: str, model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{result.turn_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model or MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.answer},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": _usage(),
        "govchat": extension(result, token),
    }


def _chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None, **extra: Any) -> ServerSentEvent:
    body: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
    body.update(extra)
    return event(None, body)


async def completion_chunks(
    ctx: AppContext, session_id: str, token: str, question: str, model: str
) -> AsyncIterator[ServerSentEvent]:
    model = model or MODEL_ID
    cid = f"chatcmpl-{session_id[:8]}{int(time.time() * 1000)}"
    yield _chunk(cid, model, {"role": "assistant", "content": ""}, None)
    streamed: list[str] = []
    try:
        async for ev in ctx.services.assistant.stream(session_id, question):
            if ev.event == "token":
                text = str(ev.data.get("text", ""))
                streamed.append(text)
                yield _chunk(cid, model, {"content": text}, None)
            elif ev.event == "done":
                result: TurnResult = ev.data["result"]
                ctx.observe_turn(result)
                sent = "".join(streamed)
                ext = extension(result, token)
                if result.answer != sent and result.answer.startswith(sent):
                    yield _chunk(cid, model, {"content": result.answer[len(sent) :]}, None)
                elif result.answer != sent:
                    ext.update(replaced=True, answer=result.answer)
                yield _chunk(cid, model, {}, "stop", govchat=ext)
    except Exception as exc:  # the response has started: report in-band, never a stack trace
        log.exception("streamed completion failed")
        failed = messages.AUDIT_FAILED if isinstance(exc, AuditWriteFailed) else messages.STREAM_FAILED
        yield event(None, {"error": {"message": failed, "type": "server_error"}})
    yield event(None, "[DONE]")
