"""An in-memory ``HandoffConnector`` for pipeline tests: records requests, returns canned handoffs."""

from __future__ import annotations

from connectors.handoff.base import require_consent
from connectors.types import Handoff, HandoffKind, HandoffRequest


class FakeHandoffConnector:
    def __init__(self, kind: HandoffKind = "caseworker", *, fail: Exception | None = None) -> None:
        self.kind: HandoffKind = kind
        self.requests: list[HandoffRequest] = []
        self._fail = fail

    async def submit(self, request: HandoffRequest) -> Handoff:
        require_consent(request)
        self.requests.append(request)
        if self._fail is not None:
            raise self._fail
        ref = f"FAKE-{len(self.requests):04d}"
        return Handoff(
            kind=self.kind, message=f"fake handoff {ref}", reference=ref, case_no=ref, verify_code="000000"
        )
