"""The caseworker console's operations over the case store and the assistant.

Case storage is synchronous SQL, so every call goes through ``anyio.to_thread``; errors surface as
``ApiError`` with the contract's statuses.
"""

from __future__ import annotations

from typing import Any

import anyio

from assistant.audit import UnknownFollowup
from assistant.copilot import case_question, draft_reply, split_at_handoff
from assistant.pii import mask_text
from connectors.store import CaseNotAssigned, CaseNotFound, CaseStateError
from connectors.types import Case, CaseMessage, CaseStatus
from serving import messages
from serving.errors import ApiError
from serving.services import Services
from serving.users import StaffUser

CASE_STATUSES: tuple[CaseStatus, ...] = ("open", "taken", "replied", "closed")


def _message_json(m: CaseMessage) -> dict[str, Any]:
    return {"role": m.role, "text": m.text, "created_at": m.created_at.isoformat()}


def _not_found() -> ApiError:
    return ApiError(404, "not_found", messages.NOT_FOUND)


def _state(exc: CaseStateError) -> ApiError:
    return ApiError(409, "case_state", messages.CASE_STATE.format(detail=str(exc)))


def _not_assignee(exc: CaseNotAssigned) -> ApiError:
    return ApiError(403, "not_assignee", messages.NOT_ASSIGNEE.format(detail=str(exc)))


def _actor(user: StaffUser) -> str | None:
    """Whose assignment a reply or close must match: the caseworker's own; admins may act on any case."""
    return None if user.role == "admin" else user.username


class CaseDesk:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._cases = services.cases

    async def _get(self, case_no: str) -> Case:
        case = await anyio.to_thread.run_sync(self._cases.get, case_no)
        if case is None:
            raise _not_found()
        return case

    async def queue(self, status: CaseStatus | None) -> list[dict[str, Any]]:
        statuses: tuple[CaseStatus, ...] = (status,) if status else ("open", "taken", "replied")
        cases = await anyio.to_thread.run_sync(lambda: self._cases.list_queue(statuses=statuses, limit=200))
        return [c.to_public() for c in cases]

    async def detail(self, case_no: str) -> dict[str, Any]:
        """The case, its messages, the conversation up to the handoff, and the turns after it apart."""
        case = await self._get(case_no)
        msgs = await anyio.to_thread.run_sync(self._cases.messages, case_no)
        transcript = await self._services.assistant.history(case.session_id) if case.session_id else []
        before, after = split_at_handoff(transcript, case.created_at)
        return {
            "case": case.to_public(),
            "messages": [_message_json(m) for m in msgs],
            "transcript": before,
            "follow_ups": after,
        }

    async def take(self, case_no: str, username: str) -> dict[str, Any]:
        try:
            case = await anyio.to_thread.run_sync(self._cases.take, case_no, username)
        except CaseNotFound:
            raise _not_found() from None
        except CaseStateError as exc:
            raise _state(exc) from None
        return case.to_public()

    async def close(self, case_no: str, user: StaffUser) -> dict[str, Any]:
        try:
            case = await anyio.to_thread.run_sync(lambda: self._cases.close(case_no, actor=_actor(user)))
        except CaseNotFound:
            raise _not_found() from None
        except CaseNotAssigned as exc:
            raise _not_assignee(exc) from None
        return case.to_public()

    async def draft(self, case_no: str) -> dict[str, Any]:
        """A cited reply about what the case is for (see ``assistant.copilot``)."""
        case = await self._get(case_no)
        msgs = await anyio.to_thread.run_sync(self._cases.messages, case_no)
        transcript = await self._services.assistant.history(case.session_id) if case.session_id else []
        before, _ = split_at_handoff(transcript, case.created_at)
        flows = self._services.assistant.flows
        workflow_name = ""
        if case.workflow_id and flows is not None and case.workflow_id in {w.id for w in flows.workflows}:
            workflow_name = flows.workflow(case.workflow_id).name
        question = case_question(msgs, before, case.summary, workflow_name)
        return await draft_reply(self._services.assistant.consult, case, question)

    async def reply(self, case_no: str, text: str, user: StaffUser) -> dict[str, Any]:
        """Stores the reply on the case and delivers it into the citizen's chat. Only the caseworker
        who took the case (or an admin) may reply."""
        case = await self._get(case_no)
        text = mask_text(text)  # stored, delivered and shown to whoever holds the case code: masked
        try:
            message = await anyio.to_thread.run_sync(
                lambda: self._cases.add_message(case_no, "caseworker", text, actor=_actor(user))
            )
        except CaseStateError as exc:
            raise _state(exc) from None
        except CaseNotAssigned as exc:
            raise _not_assignee(exc) from None
        delivered = False
        if case.session_id:
            await self._services.assistant.deliver_reply(case.session_id, text, case_no)
            delivered = True
        return {"message": _message_json(message), "delivered": delivered}

    # --- contact reveal and follow-ups ----------------------------------------------------------
    async def reveal_contact(self, case_no: str, user: StaffUser, reason: str) -> dict[str, Any]:
        """The citizen's contact for a call-back: only when they consented to give it, only to the
        caseworker who took the case (or an admin), written to the audit trail with the reason first."""
        reason = mask_text(reason.strip())
        try:
            info = await anyio.to_thread.run_sync(
                lambda: self._cases.reveal_contact(
                    case_no, actor=user.username, role=user.role, reason=reason
                )
            )
        except CaseNotFound:
            raise _not_found() from None
        except CaseNotAssigned as exc:
            raise _not_assignee(exc) from None
        if info is None:
            raise ApiError(409, "no_contact", messages.NO_CONTACT)
        trail = await anyio.to_thread.run_sync(self._cases.contact_reveals, case_no)
        return {"contact": {"name": info.name, "phone": info.phone}, "reveals": trail}

    async def followups(self) -> list[dict[str, Any]]:
        """Low ratings to follow up; each says whether a call-back is possible (a case of that chat
        holds contact data the citizen consented to give) and what was done so far."""
        rows = await anyio.to_thread.run_sync(self._services.audit.followups)
        out = []
        for row in rows:
            session_id = row.pop("session_id")
            case_no = await anyio.to_thread.run_sync(self._cases.contact_case_for_session, session_id)
            out.append({**row, "callback_case": case_no})
        return out

    async def followup_action(
        self, followup_id: str, kind: str, text: str, user: StaffUser
    ) -> dict[str, Any]:
        """``note`` (kept on the follow-up), ``reply`` (delivered into the citizen's chat, then kept),
        or ``resolve`` (closes it, with an optional note)."""
        text = mask_text(text.strip())
        if kind in ("note", "reply") and not text:
            raise ApiError(422, "invalid_input", messages.TEXT_REQUIRED)
        audit = self._services.audit
        try:
            session_id = await anyio.to_thread.run_sync(audit.followup_session, followup_id)
        except UnknownFollowup:
            raise _not_found() from None
        if kind == "reply":
            await self._services.assistant.deliver_reply(session_id, text, "")
        return await anyio.to_thread.run_sync(
            lambda: audit.log_followup(followup_id, user.username, kind, text)
        )
