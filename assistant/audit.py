"""Audit records (one per turn, masked) and 好差评 feedback, in SQL.

Only masked text is ever written here: the pipeline masks before it records, and the tests check
that raw ID and phone numbers never reach these tables.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String, Text, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from assistant.pii import mask_text

# 好差评 five levels (GB/T 39734-2020): stars -> label.
RATING_LEVELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
LEVEL_STARS = {v: k for k, v in RATING_LEVELS.items()}


class AssistantBase(DeclarativeBase):
    pass


class AuditRow(AssistantBase):
    __tablename__ = "audit_records"

    turn_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    question_masked: Mapped[str] = mapped_column(Text)
    standalone_masked: Mapped[str] = mapped_column(Text)
    answer_masked: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(32), index=True)
    workflow_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mode: Mapped[str] = mapped_column(String(16))
    has_evidence: Mapped[bool] = mapped_column(Boolean)
    top_relevance: Mapped[float] = mapped_column(Float)
    retrieved: Mapped[list[str]] = mapped_column(JSON)
    citations: Mapped[list[str]] = mapped_column(JSON)
    pii_kinds: Mapped[list[str]] = mapped_column(JSON)
    prompt_version: Mapped[str] = mapped_column(String(256))
    model: Mapped[str] = mapped_column(String(128))
    timings: Mapped[dict[str, float]] = mapped_column(JSON)


class FeedbackRow(AssistantBase):
    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Unique on new databases (one rating per turn); older ones are kept to one by ``rate`` itself.
    turn_id: Mapped[str] = mapped_column(String(36), index=True, unique=True)
    session_id: Mapped[str] = mapped_column(String(64))
    stars: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(16))
    comment_masked: Mapped[str] = mapped_column(Text)
    needs_followup: Mapped[bool] = mapped_column(Boolean, index=True)
    followup_done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # What staff did about it: [{"by", "text", "at", "kind": note|reply|resolve}], masked text only.
    followup_log: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class UnknownFollowup(LookupError):
    pass


@dataclass(frozen=True)
class AuditEntry:
    turn_id: str
    session_id: str
    question_masked: str
    standalone_masked: str
    answer_masked: str
    intent: str
    workflow_id: str | None
    mode: str
    has_evidence: bool
    top_relevance: float
    retrieved: list[str]
    citations: list[str]
    pii_kinds: list[str]
    prompt_version: str
    model: str
    timings: dict[str, float]

    def __post_init__(self) -> None:
        # Whatever the caller passes, an audit record holds masked text only: the standalone question is
        # rebuilt after masking (condensing, whitespace folding), so it is masked again here.
        for name in ("question_masked", "standalone_masked", "answer_masked"):
            object.__setattr__(self, name, mask_text(getattr(self, name)))


class UnknownTurn(LookupError):
    pass


class AuditWriteFailed(RuntimeError):
    """A turn's audit record could not be written: the turn is an error, never a silent loss."""


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create_tables(self) -> None:
        AssistantBase.metadata.create_all(self._engine)

    def record(self, entry: AuditEntry) -> None:
        with Session(self._engine) as s, s.begin():
            s.add(AuditRow(created_at=datetime.now(UTC), **entry.__dict__))

    def turns(self, session_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        with Session(self._engine) as s:
            q = select(AuditRow).order_by(AuditRow.created_at.desc()).limit(limit)
            if session_id:
                q = q.where(AuditRow.session_id == session_id)
            return [_row_json(r) for r in s.scalars(q)]

    def rate(self, turn_id: str, stars: int, comment_masked: str = "", *, session_id: str) -> dict[str, Any]:
        """Records 好差评 for a turn of ``session_id``; 不满意/非常不满意 opens a follow-up for staff.

        One rating per turn: rating again changes it (and its follow-up) instead of adding another.
        A turn of another session is ``UnknownTurn``, exactly like a turn that does not exist.
        """
        if stars not in RATING_LEVELS:
            raise ValueError("stars must be 1..5")
        with Session(self._engine) as s, s.begin():
            # The row lock serialises two ratings of one turn (PostgreSQL; SQLite serialises writes).
            turn = s.get(AuditRow, turn_id, with_for_update=True)
            if turn is None or not hmac.compare_digest(turn.session_id.encode(), session_id.encode()):
                raise UnknownTurn(turn_id)
            row = s.scalar(
                select(FeedbackRow).where(FeedbackRow.turn_id == turn_id).order_by(FeedbackRow.created_at)
            )
            changed = row is not None
            if row is None:
                row = FeedbackRow(
                    id=str(uuid.uuid4()), turn_id=turn_id, session_id=turn.session_id, followup_done=False
                )
                s.add(row)
            row.stars, row.level, row.comment_masked = stars, RATING_LEVELS[stars], comment_masked
            row.needs_followup = stars <= 2
            row.created_at = datetime.now(UTC)
            return {
                "id": row.id,
                "level": row.level,
                "needs_followup": row.needs_followup,
                "changed": changed,
            }

    def followups(self, *, include_done: bool = False) -> list[dict[str, Any]]:
        """Low ratings staff follow up, oldest first, with what was done about each so far. Each row
        carries its ``session_id`` for the caller (to reach the chat); it must not be shown."""
        with Session(self._engine) as s:
            q = select(FeedbackRow, AuditRow).join(AuditRow, AuditRow.turn_id == FeedbackRow.turn_id)
            q = q.where(FeedbackRow.needs_followup.is_(True))
            if not include_done:
                q = q.where(FeedbackRow.followup_done.is_(False))
            return [
                {
                    "id": f.id,
                    "turn_id": f.turn_id,
                    "session_id": f.session_id,
                    "level": f.level,
                    "comment": f.comment_masked,
                    "question": a.question_masked,
                    "answer": a.answer_masked,
                    "created_at": f.created_at.isoformat(),
                    "done": bool(f.followup_done),
                    "resolved_by": f.resolved_by,
                    "log": list(f.followup_log or []),
                }
                for f, a in s.execute(q.order_by(FeedbackRow.created_at))
            ]

    def followup_session(self, followup_id: str) -> str:
        """The chat session a follow-up belongs to (``UnknownFollowup`` if there is none)."""
        with Session(self._engine) as s:
            row = s.get(FeedbackRow, followup_id)
            if row is None or not row.needs_followup:
                raise UnknownFollowup(followup_id)
            return row.session_id

    def log_followup(self, followup_id: str, actor: str, kind: str, text_masked: str = "") -> dict[str, Any]:
        """Records what staff did (``note``, ``reply`` into the chat, ``resolve``); ``resolve`` closes it."""
        with Session(self._engine) as s, s.begin():
            row = s.get(FeedbackRow, followup_id, with_for_update=True)
            if row is None or not row.needs_followup:
                raise UnknownFollowup(followup_id)
            entry = {"by": actor, "kind": kind, "text": text_masked, "at": datetime.now(UTC).isoformat()}
            row.followup_log = [*(row.followup_log or []), entry]
            if kind == "resolve":
                row.followup_done, row.resolved_by = True, actor
            return {"id": row.id, "done": bool(row.followup_done), "log": list(row.followup_log)}

    def analytics(self, days: int = 30) -> dict[str, Any]:
        """Questions per day, no-evidence rate, top unanswered questions (knowledge gaps), ratings."""
        since = datetime.now(UTC) - timedelta(days=days)
        with Session(self._engine) as s:
            rows = s.execute(
                select(
                    AuditRow.created_at, AuditRow.intent, AuditRow.has_evidence, AuditRow.standalone_masked
                ).where(AuditRow.created_at >= since)
            ).all()
            ratings = dict(
                s.execute(select(FeedbackRow.level, func.count()).group_by(FeedbackRow.level)).all()
            )
        per_day: dict[str, int] = {}
        consult = unanswered = 0
        gaps: dict[str, int] = {}
        for created, intent, evidence, question in rows:
            day = (created.date() if isinstance(created, datetime) else date.today()).isoformat()
            per_day[day] = per_day.get(day, 0) + 1
            if intent == "consult":
                consult += 1
                if not evidence:
                    unanswered += 1
                    gaps[question] = gaps.get(question, 0) + 1
        return {
            "questions": len(rows),
            "per_day": dict(sorted(per_day.items())),
            "no_evidence_rate": round(unanswered / consult, 4) if consult else 0.0,
            "knowledge_gaps": [
                {"question": q, "count": n} for q, n in sorted(gaps.items(), key=lambda kv: -kv[1])[:20]
            ],
            "ratings": {level: int(ratings.get(level, 0)) for level in RATING_LEVELS.values()},
        }


def _row_json(r: AuditRow) -> dict[str, Any]:
    return {
        "turn_id": r.turn_id,
        "session_id": r.session_id,
        "created_at": r.created_at.isoformat(),
        "question": r.question_masked,
        "standalone": r.standalone_masked,
        "answer": r.answer_masked,
        "intent": r.intent,
        "workflow_id": r.workflow_id,
        "mode": r.mode,
        "has_evidence": r.has_evidence,
        "top_relevance": r.top_relevance,
        "retrieved": r.retrieved,
        "citations": r.citations,
        "pii_kinds": r.pii_kinds,
        "prompt_version": r.prompt_version,
        "model": r.model,
        "timings": r.timings,
    }
