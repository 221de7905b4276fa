"""The handoff interface every backend implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from connectors.store import ConsentRequired
from connectors.types import Handoff, HandoffKind, HandoffRequest


@runtime_checkable
class HandoffConnector(Protocol):
    """Hands a citizen's request over to a real service channel and says what happened."""

    kind: HandoffKind

    async def submit(self, request: HandoffRequest) -> Handoff:
        """Perform the handoff. Raises ``ConsentRequired`` for personal data without consent."""
        ...


def require_consent(request: HandoffRequest) -> None:
    """Personal data leaves the conversation only with the citizen's explicit consent."""
    if request.contact is not None and not request.contact.is_empty and not request.consent:
        raise ConsentRequired("personal data for a handoff needs the citizen's explicit consent")
