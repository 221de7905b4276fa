"""Caseworker queue handoff: a case in the database for the caseworker console."""

from __future__ import annotations

from functools import partial

import anyio

from connectors import messages as msg
from connectors.handoff.base import require_consent
from connectors.store import CaseRepository
from connectors.types import Handoff, HandoffKind, HandoffRequest


class CaseworkConnector:
    """Creates a ``caseworker`` case: summary, collected answers, checklist, masked contact, priority."""

    kind: HandoffKind = "caseworker"

    def __init__(self, repository: CaseRepository) -> None:
        self._repo = repository

    async def submit(self, request: HandoffRequest) -> Handoff:
        require_consent(request)
        create = partial(
            self._repo.create,
            session_id=request.session_id,
            kind="caseworker",
            workflow_id=request.workflow_id,
            summary=request.summary or request.content,
            answers=dict(request.answers),
            checklist=request.checklist.to_dict() if request.checklist else None,
            priority=request.priority,
            contact=request.contact,
            consent=request.consent,
        )
        case, code = await anyio.to_thread.run_sync(create)
        return Handoff(
            kind="caseworker",
            message=msg.HANDOFF_CASE.format(case_no=case.case_no, code=code),
            reference=case.case_no,
            case_no=case.case_no,
            verify_code=code,
        )
