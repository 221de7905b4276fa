"""12345 hotline ticket (工单): posted to the configured endpoint if any, always recorded as a case.

The posted 工单 carries only the masked contact; the full contact stays encrypted in the local case
for authorised callback.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio
import httpx

from connectors import messages as msg
from connectors.handoff.base import require_consent
from connectors.store import CaseRepository
from connectors.types import Handoff, HandoffKind, HandoffRequest


def ticket_payload(request: HandoffRequest) -> dict[str, Any]:
    """The 工单 record: 诉求类型, content and masked contact (no clear personal data)."""
    return {
        "SQLX": request.appeal_type,  # 诉求类型 咨询/求助/投诉/举报/建议
        "content": request.content or request.summary,
        "summary": request.summary,
        "workflow_id": request.workflow_id,
        "region_code": request.region_code,
        "contact_masked": request.contact.masked() if request.contact else "",
        "source": "govchat",
    }


class Ticket12345Connector:
    """Creates a ``ticket_12345`` case and, when ``endpoint_url`` is set, posts the 工单 there.

    A failing endpoint does not lose the ticket: it is stored locally and the message says so.
    """

    kind: HandoffKind = "ticket_12345"

    def __init__(
        self,
        repository: CaseRepository,
        *,
        endpoint_url: str = "",
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._repo = repository
        self._url = endpoint_url
        self._timeout = timeout_s
        self._transport = transport

    async def _post(self, payload: dict[str, Any]) -> str:
        async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
            resp = await client.post(self._url, json=payload)
            resp.raise_for_status()
            data = resp.json()
        return str(data.get("ticket_no") or data.get("id") or "") if isinstance(data, dict) else ""

    async def submit(self, request: HandoffRequest) -> Handoff:
        require_consent(request)
        remote_ref, remote_failed = "", False
        if self._url:
            try:
                remote_ref = await self._post(ticket_payload(request))
            except (httpx.HTTPError, ValueError):
                remote_failed = True
        create = partial(
            self._repo.create,
            session_id=request.session_id,
            kind="ticket_12345",
            workflow_id=request.workflow_id,
            # What the ticket is about first, in the citizen's words, then the conversation before it.
            summary="\n".join(
                p for p in (f"诉求：{request.content}" if request.content else "", request.summary) if p
            ),
            answers=dict(request.answers),
            checklist=request.checklist.to_dict() if request.checklist else None,
            priority=request.priority,
            appeal_type=request.appeal_type,
            contact=request.contact,
            consent=request.consent,
            external_ref=remote_ref,
        )
        case, code = await anyio.to_thread.run_sync(create)
        message = msg.HANDOFF_TICKET.format(appeal_type=request.appeal_type, case_no=case.case_no, code=code)
        if remote_failed:
            message += msg.HANDOFF_TICKET_REMOTE_FAILED
        return Handoff(
            kind="ticket_12345",
            message=message,
            reference=remote_ref or case.case_no,
            case_no=case.case_no,
            verify_code=code,
        )
