"""The serving package's own tables (staff users, credentials, background jobs).

A separate ``DeclarativeBase`` keeps these tables out of the other packages' metadata; all of them live
in the app's one database (SQLite embedded, PostgreSQL in production) and are created at start-up.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase


class ServingBase(DeclarativeBase):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(dt: datetime) -> datetime:
    """SQLite returns naive datetimes; every timestamp here is UTC."""
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def create_tables(engine: Engine) -> None:
    # Importing the modules registers their tables on ServingBase.metadata.
    import serving.jobs
    import serving.users  # noqa: F401

    ServingBase.metadata.create_all(engine)
