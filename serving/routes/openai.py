"""OpenAI-compatible endpoints (anonymous like the citizen chat; same rate limits). An API key or staff
bearer token, when sent, scopes the ``user`` field's sessions to that caller."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from serving import messages
from serving.auth import OptionalBearer
from serving.deps import Ctx, IpLimited, limit_session
from serving.errors import ApiError
from serving.openai_compat import completion_chunks, completion_json, models_json, session_for
from serving.schemas import ChatCompletionRequest
from serving.sse import stream_response

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[IpLimited])


@router.get("/models")
async def models() -> dict[str, Any]:
    return models_json()


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, ctx: Ctx, caller: OptionalBearer
) -> dict[str, Any] | EventSourceResponse:
    question = body.question()
    if question is None:
        raise ApiError(400, "no_user_message", messages.NO_USER_MESSAGE)
    sid, token = session_for(ctx, body, caller)
    await limit_session(ctx, sid)
    if body.stream:
        return stream_response(ctx, completion_chunks(ctx, sid, token, question, body.model), sep="\n")
    result = await ctx.services.assistant.turn(sid, question)
    ctx.observe_turn(result)
    return completion_json(result, token, body.model)
