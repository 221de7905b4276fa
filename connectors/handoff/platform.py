"""Provincial platform handoff: declare the 办件 and keep a local case so the citizen can query it."""

from __future__ import annotations

from functools import partial

import anyio

from connectors import messages as msg
from connectors.handoff.base import require_consent
from connectors.handoff.platform_client import PlatformClient, PlatformStatus, idempotency_key
from connectors.store import CaseRepository
from connectors.types import ContactInfo, Handoff, HandoffKind, HandoffRequest


class PlatformConnector:
    """``HandoffConnector`` over ``PlatformClient``; with a repository, also records a platform case.

    Args:
        client: the platform API client.
        repository: where to record the case (None: no local record, no status lookup by case number).
        applicant_type: SQRLX for declarations (1 自然人, 2 法人).
    """

    kind: HandoffKind = "platform"

    def __init__(
        self, client: PlatformClient, repository: CaseRepository | None = None, *, applicant_type: str = "1"
    ) -> None:
        self._client = client
        self._repo = repository
        self._applicant_type = applicant_type

    async def submit(self, request: HandoffRequest) -> Handoff:
        require_consent(request)
        status = await self._client.declare(
            item_code=request.item_code or request.workflow_id,
            item_name=request.workflow_name,
            applicant=request.contact or ContactInfo(),
            answers=request.answers,
            idempotency_key=idempotency_key(request.session_id, request.workflow_id),
            region_code=request.region_code,
            workflow_id=request.workflow_id,
            applicant_type=self._applicant_type,
        )
        message = msg.HANDOFF_PLATFORM.format(
            name=request.workflow_name, sblsh=status.sblsh, status=status.label
        )
        if status.sandbox:
            message += msg.HANDOFF_PLATFORM_SANDBOX
        case_no = code = ""
        if self._repo is not None:
            case_no, code = await anyio.to_thread.run_sync(partial(self._record, request, status))
            if code:
                message += msg.HANDOFF_QUERY.format(case_no=case_no, code=code)
        return Handoff(
            kind="platform",
            message=message,
            reference=status.sblsh,
            case_no=case_no,
            verify_code=code,
            sandbox=status.sandbox,
        )

    def _record(self, request: HandoffRequest, status: PlatformStatus) -> tuple[str, str]:
        assert self._repo is not None
        existing = self._repo.find_by_external_ref("platform", status.sblsh)
        if existing is not None:  # a repeated declaration: the citizen already holds the code
            return existing.case_no, ""
        case, code = self._repo.create(
            session_id=request.session_id,
            kind="platform",
            workflow_id=request.workflow_id,
            summary=request.summary,
            answers=dict(request.answers),
            checklist=request.checklist.to_dict() if request.checklist else None,
            priority=request.priority,
            contact=request.contact,
            consent=request.consent,
            external_ref=status.sblsh,
        )
        return case.case_no, code

    async def status(self, case_no: str, verify_code: str) -> PlatformStatus | None:
        """The live 办件 status for a citizen holding the case number and verification code."""
        if self._repo is None:
            return None
        view = await anyio.to_thread.run_sync(self._repo.lookup_status, case_no, verify_code)
        if view is None or view.kind != "platform" or not view.external_ref:
            return None
        return await self._client.status(view.external_ref)
