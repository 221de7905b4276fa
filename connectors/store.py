"""Case storage for handoffs (caseworker queue, 12345 tickets, platform declarations).

SQLAlchemy 2.0 with its own ``DeclarativeBase`` so the tables can live in the app's database without
sharing metadata with other packages. Contact and ID numbers are stored only Fernet-encrypted; the
verification code only as an HMAC. Methods are synchronous: async callers use ``anyio.to_thread``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from connectors.messages import CASE_STATUS_LABELS
from connectors.types import (
    AuthorRole,
    Case,
    CaseKind,
    CaseMessage,
    CaseStatus,
    CaseStatusView,
    ContactInfo,
)

_CASE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O/1/I: read aloud over the phone
# Wrong verification codes a case accepts per window; then it refuses lookups until the window ends.
# Never a permanent lock: the citizen's right code works again after at most one window.
MAX_VERIFY_FAILURES = 10
VERIFY_WINDOW = timedelta(minutes=15)


class ConsentRequired(PermissionError):
    """Contact or ID data was given for a handoff without the citizen's explicit consent."""


class CaseNotFound(LookupError):
    pass


class CaseStateError(ValueError):
    """The requested transition is not allowed from the case's current status."""


class CaseNotAssigned(PermissionError):
    """Only the caseworker who took the case (or an admin) may reply to or close it."""


class VerifyThrottled(PermissionError):
    """Too many wrong verification codes for this case in the current window."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many wrong codes; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class ConnectorsBase(DeclarativeBase):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


class CaseRow(ConnectorsBase):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_no: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    workflow_id: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    summary: Mapped[str] = mapped_column(Text, default="")
    appeal_type: Mapped[str] = mapped_column(String(8), default="")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    checklist: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    contact_masked: Mapped[str] = mapped_column(String(128), default="")
    contact_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    id_number_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    verify_code_hash: Mapped[str] = mapped_column(String(64))
    verify_failures: Mapped[int] = mapped_column(Integer, default=0)
    # When the current window of wrong codes began (None: no wrong code counted).
    verify_window_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    external_ref: Mapped[str] = mapped_column(String(64), default="")
    # The citizen's chat session, so a caseworker's reply can be delivered into that conversation.
    session_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    assigned_to: Mapped[str | None] = mapped_column(String(64), nullable=True)


class CaseMessageRow(ConnectorsBase):
    __tablename__ = "case_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContactRevealRow(ConnectorsBase):
    """Who saw a citizen's contact data, when and why (the audit trail of every reveal)."""

    __tablename__ = "contact_reveals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_no: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def create_tables(engine: Engine) -> None:
    ConnectorsBase.metadata.create_all(engine)


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)  # SQLite drops the zone


def _to_case(row: CaseRow) -> Case:
    return Case(
        case_no=row.case_no,
        kind=row.kind,  # type: ignore[arg-type]
        workflow_id=row.workflow_id,
        status=row.status,  # type: ignore[arg-type]
        priority=row.priority,
        summary=row.summary,
        answers=dict(row.answers or {}),
        checklist=row.checklist,
        contact_masked=row.contact_masked,
        appeal_type=row.appeal_type,
        external_ref=row.external_ref,
        session_id=row.session_id,
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
        assigned_to=row.assigned_to,
    )


class CaseRepository:
    """Cases and their messages.

    Args:
        engine: a SQLAlchemy engine (SQLite embedded, PostgreSQL in production).
        fernet_key: urlsafe-base64 32-byte key for data at rest (see ``pii.fernet_key``).
        clock: UTC "now" (injectable for tests).
    """

    def __init__(
        self, engine: Engine, fernet_key: str | bytes, *, clock: Callable[[], datetime] = _now
    ) -> None:
        key = fernet_key.encode() if isinstance(fernet_key, str) else fernet_key
        self._engine = engine
        self._fernet = Fernet(key)
        self._hmac_key = hashlib.sha256(b"govchat.case-verify.v1" + key).digest()
        self._clock = clock

    # -------------------------------------------------------------- create

    def _code_hash(self, case_no: str, code: str) -> str:
        return hmac.new(self._hmac_key, f"{case_no}:{code}".encode(), hashlib.sha256).hexdigest()

    def _case_no(self) -> str:
        suffix = "".join(secrets.choice(_CASE_ALPHABET) for _ in range(4))
        return f"HB{self._clock():%Y%m%d}-{suffix}"

    def create(
        self,
        *,
        kind: CaseKind,
        workflow_id: str = "",
        summary: str = "",
        answers: dict[str, Any] | None = None,
        checklist: dict[str, Any] | None = None,
        priority: int = 1,
        appeal_type: str = "",
        contact: ContactInfo | None = None,
        consent: bool = False,
        external_ref: str = "",
        session_id: str = "",
    ) -> tuple[Case, str]:
        """Store a new case; returns it with its one-time verification code (6 digits).

        Raises:
            ConsentRequired: contact or ID data without ``consent=True``.
        """
        if contact is not None and not contact.is_empty and not consent:
            raise ConsentRequired("personal data for a handoff needs the citizen's explicit consent")
        code = f"{secrets.randbelow(1_000_000):06d}"
        now = self._clock()
        contact_enc = id_enc = None
        masked = ""
        if contact is not None and not contact.is_empty:
            masked = contact.masked()
            if contact.name or contact.phone:
                plain = ContactInfo(name=contact.name, phone=contact.phone).model_dump_json()
                contact_enc = self._fernet.encrypt(plain.encode()).decode()
            if contact.id_number:
                id_enc = self._fernet.encrypt(contact.id_number.encode()).decode()
        for _ in range(8):
            case_no = self._case_no()
            row = CaseRow(
                case_no=case_no,
                kind=kind,
                workflow_id=workflow_id,
                status="open",
                priority=priority,
                summary=summary,
                appeal_type=appeal_type,
                answers=answers or {},
                checklist=checklist,
                contact_masked=masked,
                contact_encrypted=contact_enc,
                id_number_encrypted=id_enc,
                verify_code_hash=self._code_hash(case_no, code),
                verify_failures=0,
                external_ref=external_ref,
                session_id=session_id,
                created_at=now,
                updated_at=now,
            )
            try:
                with Session(self._engine) as s, s.begin():
                    s.add(row)
                    s.flush()
                    case = _to_case(row)
                return case, code
            except IntegrityError:
                continue  # case number collision: draw another
        raise RuntimeError("could not allocate a unique case number")

    # -------------------------------------------------------------- read

    def _row(self, s: Session, case_no: str) -> CaseRow:
        row = s.scalar(select(CaseRow).where(CaseRow.case_no == case_no))
        if row is None:
            raise CaseNotFound(case_no)
        return row

    def get(self, case_no: str) -> Case | None:
        with Session(self._engine) as s:
            row = s.scalar(select(CaseRow).where(CaseRow.case_no == case_no))
            return _to_case(row) if row else None

    def find_by_external_ref(self, kind: CaseKind, external_ref: str) -> Case | None:
        """The case recording a given platform 办件 or remote ticket (to keep retries from duplicating)."""
        if not external_ref:
            return None
        with Session(self._engine) as s:
            row = s.scalar(select(CaseRow).where(CaseRow.kind == kind, CaseRow.external_ref == external_ref))
            return _to_case(row) if row else None

    def list_queue(
        self,
        *,
        statuses: Sequence[CaseStatus] = ("open", "taken", "replied"),
        kind: CaseKind | None = None,
        limit: int = 50,
    ) -> list[Case]:
        """The console queue: most urgent first, then oldest first."""
        q = select(CaseRow).where(CaseRow.status.in_(list(statuses)))
        if kind is not None:
            q = q.where(CaseRow.kind == kind)
        q = q.order_by(CaseRow.priority.desc(), CaseRow.created_at.asc(), CaseRow.id.asc()).limit(limit)
        with Session(self._engine) as s:
            return [_to_case(r) for r in s.scalars(q)]

    def messages(self, case_no: str) -> list[CaseMessage]:
        with Session(self._engine) as s:
            row = self._row(s, case_no)
            rows = s.scalars(
                select(CaseMessageRow)
                .where(CaseMessageRow.case_id == row.id)
                .order_by(CaseMessageRow.created_at, CaseMessageRow.id)
            )
            return [
                CaseMessage(case_no=case_no, role=m.role, text=m.text, created_at=_utc(m.created_at))  # type: ignore[arg-type]
                for m in rows
            ]

    # -------------------------------------------------------------- transitions

    def take(self, case_no: str, caseworker: str) -> Case:
        with Session(self._engine) as s, s.begin():
            row = self._row(s, case_no)
            if row.status == "closed":
                raise CaseStateError(f"{case_no} is closed")
            if row.assigned_to and row.assigned_to != caseworker:
                raise CaseStateError(f"{case_no} is already taken by another caseworker")
            row.assigned_to = caseworker
            if row.status == "open":
                row.status = "taken"
            row.updated_at = self._clock()
            s.flush()
            return _to_case(row)

    @staticmethod
    def _check_actor(row: CaseRow, actor: str | None) -> None:
        """``actor`` (a caseworker's username) must be the one who took the case; None is an admin."""
        if actor is not None and row.assigned_to != actor:
            holder = f"taken by {row.assigned_to}" if row.assigned_to else "not taken yet"
            raise CaseNotAssigned(f"{row.case_no} is {holder}")

    def add_message(
        self, case_no: str, role: AuthorRole, text: str, *, actor: str | None = None
    ) -> CaseMessage:
        """Append to the case record; a caseworker's message marks the case as replied.

        ``actor`` (the replying caseworker) must have taken the case; None skips the check (admins,
        the citizen's own messages)."""
        now = self._clock()
        with Session(self._engine) as s, s.begin():
            row = self._row(s, case_no)
            if row.status == "closed":
                raise CaseStateError(f"{case_no} is closed")
            self._check_actor(row, actor)
            s.add(CaseMessageRow(case_id=row.id, role=role, text=text, created_at=now))
            if role == "caseworker":
                row.status = "replied"
            row.updated_at = now
        return CaseMessage(case_no=case_no, role=role, text=text, created_at=now)

    def close(self, case_no: str, *, actor: str | None = None) -> Case:
        with Session(self._engine) as s, s.begin():
            row = self._row(s, case_no)
            self._check_actor(row, actor)
            row.status = "closed"
            row.updated_at = self._clock()
            s.flush()
            return _to_case(row)

    # -------------------------------------------------------------- citizen access

    def lookup_status(self, case_no: str, verify_code: str) -> CaseStatusView | None:
        """Status for a citizen holding the case number and code; None for any mismatch, and while the
        case refuses lookups after too many wrong codes (see ``check_status``)."""
        try:
            return self.check_status(case_no, verify_code)
        except VerifyThrottled:
            return None

    def check_status(self, case_no: str, verify_code: str) -> CaseStatusView | None:
        """Like ``lookup_status``, but says when the case is throttled.

        The comparison is constant-time. ``MAX_VERIFY_FAILURES`` wrong codes within ``VERIFY_WINDOW``
        make the case refuse every lookup (the right code too) until that window ends.

        Raises:
            VerifyThrottled: the case is in a throttled window (with the seconds left).
        """
        now = self._clock()
        with Session(self._engine) as s, s.begin():
            row = s.scalar(select(CaseRow).where(CaseRow.case_no == case_no.strip().upper()))
            expected = row.verify_code_hash if row else self._code_hash("-", "-")
            given = self._code_hash(case_no.strip().upper(), verify_code.strip())
            ok = hmac.compare_digest(expected, given)
            if row is None:
                return None
            start = _utc(row.verify_window_start) if row.verify_window_start else None
            if start is None or now - start >= VERIFY_WINDOW:  # (a lock from before windows too)
                row.verify_failures, row.verify_window_start, start = 0, None, None
            if start is not None and row.verify_failures >= MAX_VERIFY_FAILURES:
                left = (start + VERIFY_WINDOW - now).total_seconds()
                raise VerifyThrottled(max(1, int(left + 0.999)))
            if not ok:
                row.verify_failures += 1
                row.verify_window_start = start or now
                return None
            last = s.scalar(
                select(CaseMessageRow.text)
                .where(CaseMessageRow.case_id == row.id, CaseMessageRow.role == "caseworker")
                .order_by(CaseMessageRow.created_at.desc(), CaseMessageRow.id.desc())
                .limit(1)
            )
            return CaseStatusView(
                case_no=row.case_no,
                kind=row.kind,  # type: ignore[arg-type]
                status=row.status,  # type: ignore[arg-type]
                status_label=CASE_STATUS_LABELS[row.status],
                updated_at=_utc(row.updated_at),
                last_reply=last,
                external_ref=row.external_ref,
            )

    def reveal_contact(
        self, case_no: str, *, actor: str | None = None, role: str = "", reason: str = ""
    ) -> ContactInfo | None:
        """Decrypt a case's contact data (None when the citizen gave none, i.e. did not consent).

        With ``actor`` (a person asking through the API) the case must be taken by that actor unless the
        role is admin, and the reveal is written to ``contact_reveals`` with the reason before the data
        is returned; without it (internal use, e.g. the 12345 connector) nothing is checked or logged.

        Raises:
            CaseNotFound: no such case.
            CaseNotAssigned: ``actor`` is a caseworker who has not taken the case.
        """
        with Session(self._engine) as s, s.begin():
            row = self._row(s, case_no)
            if not row.contact_encrypted and not row.id_number_encrypted:
                return None
            if actor is not None:
                if role != "admin" and row.assigned_to != actor:
                    raise CaseNotAssigned(f"{case_no} is not taken by {actor}")
                s.add(
                    ContactRevealRow(
                        case_no=row.case_no, actor=actor, role=role, reason=reason, created_at=self._clock()
                    )
                )
            info = ContactInfo()
            if row.contact_encrypted:
                info = ContactInfo.model_validate_json(self._fernet.decrypt(row.contact_encrypted.encode()))
            if row.id_number_encrypted:
                number = self._fernet.decrypt(row.id_number_encrypted.encode()).decode()
                info = info.model_copy(update={"id_number": number})
            return info

    def attach_contact(self, case_no: str, contact: ContactInfo) -> Case:
        """Adds contact data the citizen gave after the case was made (consent given with it in the
        chat); encrypted like at creation, masked in every view."""
        with Session(self._engine) as s, s.begin():
            row = self._row(s, case_no)
            plain = ContactInfo(name=contact.name, phone=contact.phone).model_dump_json()
            row.contact_encrypted = self._fernet.encrypt(plain.encode()).decode()
            row.contact_masked = contact.masked()
            row.updated_at = self._clock()
            s.flush()
            return _to_case(row)

    def contact_reveals(self, case_no: str) -> list[dict[str, Any]]:
        """The audit trail of a case's contact reveals, oldest first."""
        with Session(self._engine) as s:
            rows = s.scalars(
                select(ContactRevealRow)
                .where(ContactRevealRow.case_no == case_no)
                .order_by(ContactRevealRow.created_at, ContactRevealRow.id)
            )
            return [
                {"actor": r.actor, "role": r.role, "reason": r.reason, "at": _utc(r.created_at).isoformat()}
                for r in rows
            ]

    def contact_case_for_session(self, session_id: str) -> str | None:
        """The newest case of this chat session that holds contact data the citizen consented to give."""
        if not session_id:
            return None
        with Session(self._engine) as s:
            return s.scalar(
                select(CaseRow.case_no)
                .where(CaseRow.session_id == session_id, CaseRow.contact_encrypted.is_not(None))
                .order_by(CaseRow.created_at.desc())
                .limit(1)
            )
