"""Caseworker endpoints (role caseworker or admin). Replying to and closing a case need its taker (or
an admin): taking a case is enforced, not advisory."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query

from connectors.types import CaseStatus
from serving.auth import Caseworker
from serving.deps import Ctx
from serving.schemas import ContactRevealRequest, FollowupActionRequest, ReplyRequest

router = APIRouter(prefix="/api", tags=["caseworker"])
CaseNo = Path(min_length=1, max_length=32)


@router.get("/cases")
async def list_cases(
    _: Caseworker, ctx: Ctx, status: CaseStatus | None = Query(default=None)
) -> list[dict[str, Any]]:
    return await ctx.desk.queue(status)


@router.get("/cases/{case_no}")
async def get_case(_: Caseworker, ctx: Ctx, case_no: str = CaseNo) -> dict[str, Any]:
    return await ctx.desk.detail(case_no)


@router.post("/cases/{case_no}/take")
async def take_case(user: Caseworker, ctx: Ctx, case_no: str = CaseNo) -> dict[str, Any]:
    return await ctx.desk.take(case_no, user.username)


@router.post("/cases/{case_no}/draft")
async def draft_reply(_: Caseworker, ctx: Ctx, case_no: str = CaseNo) -> dict[str, Any]:
    return await ctx.desk.draft(case_no)


@router.post("/cases/{case_no}/reply")
async def reply(body: ReplyRequest, user: Caseworker, ctx: Ctx, case_no: str = CaseNo) -> dict[str, Any]:
    return await ctx.desk.reply(case_no, body.text, user)


@router.post("/cases/{case_no}/close")
async def close_case(user: Caseworker, ctx: Ctx, case_no: str = CaseNo) -> dict[str, Any]:
    return await ctx.desk.close(case_no, user)


@router.post("/cases/{case_no}/contact")
async def reveal_contact(
    body: ContactRevealRequest, user: Caseworker, ctx: Ctx, case_no: str = CaseNo
) -> dict[str, Any]:
    return await ctx.desk.reveal_contact(case_no, user, body.reason)


@router.get("/followups")
async def followups(_: Caseworker, ctx: Ctx) -> list[dict[str, Any]]:
    return await ctx.desk.followups()


FollowupId = Path(min_length=1, max_length=36)
FollowupKind = Path(pattern="^(note|reply|resolve)$")


@router.post("/followups/{followup_id}/{kind}")
async def followup_action(
    body: FollowupActionRequest, user: Caseworker, ctx: Ctx, followup_id: str = FollowupId,
    kind: str = FollowupKind,
) -> dict[str, Any]:  # fmt: skip
    return await ctx.desk.followup_action(followup_id, kind, body.text, user)
