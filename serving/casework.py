"""The caseworker console's operations over the case store and the assistant.

Case storage is synchronous SQL, so every call goes through ``anyio.to_thread``; errors surface as
``ApiError`` with the contract's statuses.
"""

from __future__ import annotations

from typing import Any

import anyio

from assistant.consult import ConsultOutcome
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


def last_citizen_question(
    case_messages: list[CaseMessage], transcript: list[dict[str, Any]], summary: str, workflow_name: str = ""
) -> str:
    """What the draft should answer, in order of preference:

    1. the citizen's last words on the case;
    2. the last chat message the assistant treated as a question (its reply's intent was consult), so
       answers to a flow's question cards ("否", "武汉市") and button presses are skipped;
    3. for a case handed off from a 一件事 flow, how to get that item done;
    4. the summary's last 群众 line, else the whole summary.
    """
    for m in reversed(case_messages):
        if m.role == "citizen" and m.text.strip():
            return m.text.strip()
    for user, reply in zip(reversed(transcript[:-1]), reversed(transcript[1:]), strict=True):
        content = str(user.get("content", "")).strip()
        intent = (reply.get("meta") or {}).get("intent")
        if (
            user.get("role") == "user"
            and reply.get("role") == "assistant"
            and intent == "consult"
            and content
        ):
            return content
    if workflow_name:
        return f"{workflow_name}怎么办理，需要哪些材料"
    for line in reversed(summary.splitlines()):
        if line.startswith("群众：") and line[3:].strip():
            return line[3:].strip()
    return summary.strip()


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
        case = await self._get(case_no)
        msgs = await anyio.to_thread.run_sync(self._cases.messages, case_no)
        transcript = await self._services.assistant.history(case.session_id) if case.session_id else []
        return {
            "case": case.to_public(),
            "messages": [_message_json(m) for m in msgs],
            "transcript": transcript,
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
        """A cited reply to the citizen's last question, drafted from the knowledge base."""
        case = await self._get(case_no)
        msgs = await anyio.to_thread.run_sync(self._cases.messages, case_no)
        transcript = await self._services.assistant.history(case.session_id) if case.session_id else []
        flows = self._services.assistant.flows
        workflow_name = ""
        if case.workflow_id and flows is not None and case.workflow_id in {w.id for w in flows.workflows}:
            workflow_name = flows.workflow(case.workflow_id).name
        question = last_citizen_question(msgs, transcript, case.summary, workflow_name)
        out = ConsultOutcome()
        consult = self._services.assistant.consult
        async for _ in consult.answer(question[:500], [], out, topic=case.workflow_id or None):
            pass
        return {
            "answer": "\n\n".join([*out.notices, out.answer]) if out.notices else out.answer,
            "citations": [c.to_json() for c in out.citations],
            "mode": out.mode.value,
            "question": question,
        }

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
