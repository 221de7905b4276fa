"""Staff accounts and their credentials: argon2 password hashes, login sessions, bearer tokens, API keys.

Only hashes are stored: passwords as argon2, tokens and keys as SHA-256 of the random secret (they carry
256 bits of entropy, so a fast hash is enough and lookups stay indexed). Methods are synchronous;
async callers use ``anyio.to_thread``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from serving.db import ServingBase, as_utc, utcnow

Role = Literal["caseworker", "admin"]
ROLES: tuple[Role, ...] = ("caseworker", "admin")
CredentialKind = Literal["session", "token", "apikey"]
API_KEY_PREFIX = "gck_"


class UserRow(ServingBase):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CredentialRow(ServingBase):
    __tablename__ = "staff_credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    csrf_token: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    role: Role

    def may(self, role: Role) -> bool:
        """Admins may do everything a caseworker may."""
        return self.role == "admin" or self.role == role


@dataclass(frozen=True)
class Credential:
    """A resolved credential: who, how, and (for cookie sessions) the CSRF token it requires."""

    user: StaffUser
    kind: CredentialKind
    csrf_token: str


class UserExists(ValueError):
    pass


class UnknownUser(LookupError):
    pass


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _user(row: UserRow) -> StaffUser:
    return StaffUser(row.id, row.username, row.role)  # type: ignore[arg-type]


class UserStore:
    def __init__(self, engine: Engine, hasher: PasswordHasher | None = None) -> None:
        self._engine = engine
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    @property
    def _dummy_hash(self) -> str:
        """Verified against when the user does not exist, so both paths cost one argon2 verify.
        Made on first use: hashing costs tens of milliseconds that start-up need not pay."""
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_hex(16))
        return self._dummy

    def add_user(self, username: str, role: Role, password: str) -> StaffUser:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not username.strip() or len(username) > 64:
            raise ValueError("username must be 1..64 characters")
        if len(password) < 8:
            raise ValueError("password must have at least 8 characters")
        row = UserRow(
            username=username.strip(),
            role=role,
            password_hash=self._hasher.hash(password),
            active=True,
            created_at=utcnow(),
        )
        try:
            with Session(self._engine) as s, s.begin():
                s.add(row)
                s.flush()
                return _user(row)
        except IntegrityError as exc:
            raise UserExists(username) from exc

    def get(self, username: str) -> StaffUser | None:
        with Session(self._engine) as s:
            row = s.scalar(select(UserRow).where(UserRow.username == username, UserRow.active.is_(True)))
            return _user(row) if row else None

    def authenticate(self, username: str, password: str) -> StaffUser | None:
        """The user when the password matches; None otherwise (in about the same time either way)."""
        with Session(self._engine) as s:
            row = s.scalar(select(UserRow).where(UserRow.username == username, UserRow.active.is_(True)))
            stored = row.password_hash if row else self._dummy_hash
            try:
                self._hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return None
            if row is None:
                return None
            if self._hasher.check_needs_rehash(stored):
                with s.begin():
                    row.password_hash = self._hasher.hash(password)
            return _user(row)

    def issue(
        self, user: StaffUser, kind: CredentialKind, ttl_s: int | None = None
    ) -> tuple[str, Credential]:
        """A new random secret for ``user``; returns the secret (shown once) and the credential."""
        raw = (API_KEY_PREFIX if kind == "apikey" else "") + secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24) if kind == "session" else ""
        now = utcnow()
        with Session(self._engine) as s, s.begin():
            s.add(
                CredentialRow(
                    user_id=user.id,
                    kind=kind,
                    secret_hash=_digest(raw),
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + timedelta(seconds=ttl_s) if ttl_s else None,
                    revoked=False,
                )
            )
        return raw, Credential(user, kind, csrf)

    def issue_for(self, username: str, kind: CredentialKind, ttl_s: int | None = None) -> str:
        user = self.get(username)
        if user is None:
            raise UnknownUser(username)
        return self.issue(user, kind, ttl_s)[0]

    def resolve(self, raw: str, kinds: tuple[CredentialKind, ...]) -> Credential | None:
        """The live credential for a presented secret, or None (unknown, expired, revoked, inactive)."""
        if not raw or len(raw) > 200:
            return None
        with Session(self._engine) as s:
            found = s.execute(
                select(CredentialRow, UserRow)
                .join(UserRow, UserRow.id == CredentialRow.user_id)
                .where(CredentialRow.secret_hash == _digest(raw))
            ).first()
            if found is None:
                return None
            cred, user = found
            if cred.revoked or not user.active or cred.kind not in kinds:
                return None
            if cred.expires_at is not None and as_utc(cred.expires_at) <= utcnow():
                return None
            return Credential(_user(user), cred.kind, cred.csrf_token)  # type: ignore[arg-type]

    def revoke(self, raw: str) -> bool:
        with Session(self._engine) as s, s.begin():
            result = s.execute(
                update(CredentialRow)
                .where(CredentialRow.secret_hash == _digest(raw), CredentialRow.revoked.is_(False))
                .values(revoked=True)
            )
            return bool(getattr(result, "rowcount", 0))
