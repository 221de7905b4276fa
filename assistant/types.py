"""Domain types of a conversation turn (pure data)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Intent(StrEnum):
    CONSULT = "consult"
    TRANSACT = "transact"
    HUMAN = "human"
    COMPLAINT = "complaint"
    CHITCHAT = "chitchat"
    OUT_OF_SCOPE = "out_of_scope"
    REFUSE = "refuse"


class Mode(StrEnum):
    LLM = "llm"
    EXTRACTIVE = "extractive"
    FIXED = "fixed"


@dataclass(frozen=True)
class RouteDecision:
    intent: Intent
    confidence: float
    workflow_id: str | None = None
    reason: str = ""
    # For chitchat: which fixed reply (greeting / thanks / goodbye / identity).
    reply: str | None = None


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    title: str
    section: str
    chunk_id: str
    snippet: str
    note: str = ""  # provenance for the citizen (本条参考外省做法…), shown in the source view

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TurnResult:
    session_id: str
    turn_id: str
    answer: str
    citations: tuple[Citation, ...]
    intent: str
    confidence: float
    mode: str
    workflow: dict[str, Any] | None = None
    flow: dict[str, Any] | None = None  # the current flow step card (question / checklist), if any
    handoff: dict[str, Any] | None = None
    notices: tuple[str, ...] = ()
    question: str = ""  # the standalone question actually searched (after condensing)
    has_evidence: bool = False  # a consult answer grounded in retrieved passages
    timings_ms: dict[str, float] = field(default_factory=dict)
    said: str = ""  # the citizen's message as stored (personal data masked): what their bubble shows
    personal_data: bool = False  # the message carried personal data (the page shows a gentle hint)

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session_id,
            "turn_id": self.turn_id,
            "answer": self.answer,
            "citations": [c.to_json() for c in self.citations],
            "intent": self.intent,
            "confidence": round(self.confidence, 3),
            "mode": self.mode,
            "workflow": self.workflow,
            "flow": self.flow,
            "handoff": self.handoff,
            "notices": list(self.notices),
            "question": self.question,
            "has_evidence": self.has_evidence,
            "said": self.said,
            "personal_data": self.personal_data,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }
