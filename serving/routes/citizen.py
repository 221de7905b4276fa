"""Citizen endpoints (anonymous; signed session tokens; per-IP and per-session rate limits)."""

from __future__ import annotations

import time
from pathlib import PurePath
from typing import Any

import anyio
from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse

from assistant.audit import LEVEL_STARS, UnknownTurn
from assistant.pii import mask_text
from connectors.store import ConsentRequired, VerifyThrottled
from serving import messages
from serving.deps import Ctx, IpLimited, client_ip, count_failure, limit_session, throttled_for
from serving.errors import ApiError
from serving.schemas import CaseStatusRequest, ChatRequest, FeedbackRequest, HandoffRequestBody
from serving.sse import reply_events, result_json, stream_response, turn_events

router = APIRouter(prefix="/api", tags=["citizen"], dependencies=[IpLimited])


@router.post("/chat")
async def chat(body: ChatRequest, ctx: Ctx) -> dict[str, Any]:
    sid, token = ctx.tokens.resolve(body.session)
    await limit_session(ctx, sid)
    result = await ctx.services.assistant.turn(sid, body.message)
    ctx.observe_turn(result)
    return result_json(result, token)


@router.post("/chat/stream")
async def chat_stream(body: ChatRequest, ctx: Ctx) -> EventSourceResponse:
    sid, token = ctx.tokens.resolve(body.session)
    await limit_session(ctx, sid)
    return stream_response(ctx, turn_events(ctx, sid, token, body.message))


@router.get("/history")
async def history(ctx: Ctx, session: str | None = Query(default=None, max_length=200)) -> dict[str, Any]:
    sid, token = ctx.tokens.resolve(session)
    turns = await ctx.services.assistant.history(sid)
    return {"session": token, "turns": turns}


@router.get("/events")
async def events(
    ctx: Ctx,
    session: str | None = Query(default=None, max_length=200),
    since: float | None = Query(default=None, ge=0),
    last_event_id: str | None = Header(default=None),
) -> EventSourceResponse:
    sid, _ = ctx.tokens.resolve(session)
    start = since
    if start is None and last_event_id:
        try:
            start = float(last_event_id)
        except ValueError:
            start = None
    return stream_response(ctx, reply_events(ctx, sid, start if start is not None else time.time()))


@router.post("/feedback")
async def feedback(body: FeedbackRequest, ctx: Ctx) -> dict[str, Any]:
    stars = body.stars if body.stars is not None else LEVEL_STARS.get(body.level or "")
    if stars is None:
        raise ApiError(422, "invalid_input", messages.RATING_REQUIRED)
    sid = ctx.tokens.verify(body.session)
    if sid is None:
        raise ApiError(404, "not_found", messages.UNKNOWN_TURN)
    comment = ctx.services.assistant.guard.check(body.comment).masked_text if body.comment else ""
    try:
        rated = await anyio.to_thread.run_sync(
            lambda: ctx.services.audit.rate(body.turn_id, stars, comment, session_id=sid)
        )
    except UnknownTurn:
        raise ApiError(404, "not_found", messages.UNKNOWN_TURN) from None
    # A call-back is promised only when one is possible: the citizen consented to leave a contact.
    case_no = None
    if rated["needs_followup"]:
        case_no = await anyio.to_thread.run_sync(ctx.services.cases.contact_case_for_session, sid)
    return {**rated, "callback": case_no is not None}


@router.post("/handoff")
async def handoff(body: HandoffRequestBody, ctx: Ctx) -> dict[str, Any]:
    contact = body.contact if body.contact is not None and not body.contact.is_empty else None
    if contact is not None and not body.consent:
        raise ApiError(400, "consent_required", messages.CONSENT_REQUIRED)
    sid, token = ctx.tokens.resolve(body.session)
    await limit_session(ctx, sid)
    try:
        result = await ctx.services.assistant.request_handoff(
            sid, body.kind, contact=contact, consent=body.consent, content=body.content
        )
    except ConsentRequired:
        raise ApiError(400, "consent_required", messages.CONSENT_REQUIRED) from None
    ctx.observe_turn(result)
    return result_json(result, token)


def _case_throttled(seconds: int) -> ApiError:
    minutes = max(1, (seconds + 59) // 60)
    return ApiError(
        429, "rate_limited", messages.CASE_THROTTLED.format(minutes=minutes), {"Retry-After": str(seconds)}
    )


@router.post("/cases/status")
async def case_status(request: Request, body: CaseStatusRequest, ctx: Ctx) -> dict[str, Any]:
    """Wrong codes are throttled per client and per case, each in windows that expire."""
    api = ctx.settings.api
    ip = client_ip(request, api.trust_proxy)
    wait = await throttled_for(ctx, "casecode-ip", ip, api.case_code_failures_per_ip)
    if wait is not None:
        raise _case_throttled(wait)
    try:
        view = await anyio.to_thread.run_sync(ctx.services.cases.check_status, body.case_no, body.verify_code)
    except VerifyThrottled as exc:
        raise _case_throttled(exc.retry_after_s) from None
    if view is None:
        await count_failure(ctx, "casecode-ip", ip, api.case_code_failures_per_ip, api.case_code_window_s)
        raise ApiError(404, "not_found", messages.CASE_NOT_FOUND)
    return {
        "case_no": view.case_no,
        "status": view.status,
        "status_label": view.status_label,
        "updated_at": view.updated_at.isoformat(),
        "last_reply": mask_text(view.last_reply) if view.last_reply else view.last_reply,
    }


@router.get("/sources/{doc_id}")
async def source(doc_id: str, ctx: Ctx) -> dict[str, Any]:
    registry = ctx.services.kb.registry
    record = await anyio.to_thread.run_sync(registry.get, doc_id)
    if record is None:
        raise ApiError(404, "not_found", messages.DOC_NOT_FOUND)
    chunks = await anyio.to_thread.run_sync(registry.document_chunks, doc_id)
    return {
        "doc_id": record.doc_id,
        "title": record.title,
        "doc_type": record.doc_type,
        "status": record.status,
        # A link when the document names one; never the server's file path.
        "source": record.metadata.get("url")
        or record.metadata.get("source_url")
        or PurePath(record.source).name,
        "chunks": [{"chunk_id": c.chunk_id, "section": c.section, "text": c.text} for c in chunks],
    }


@router.get("/items")
async def items(ctx: Ctx) -> list[dict[str, Any]]:
    flows = ctx.services.assistant.flows
    guides = ctx.services.guides
    workflows = flows.workflows if flows is not None else []
    return [
        {"id": w.id, "name": w.name, "audience": guides[w.guide_id].audience if w.guide_id in guides else ""}
        for w in workflows
    ]
