"""A live API server on the production topology's stores: PostgreSQL (own schema) and Redis.

Module-scoped servers need a schema that outlives one test, so this is a context manager rather than
the function-scoped ``pg_url`` fixture. Redis keys get a per-server prefix, so counters never leak
between servers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from tests.integration._api_fixtures import LiveServer, api_settings, start_app
from tests.paths import POSTGRES_URL, REDIS_URL


@contextmanager
def pg_schema() -> Iterator[str]:
    """A database URL whose search path is a fresh PostgreSQL schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def pg_redis_server(
    data_dir: Path, *, api: dict[str, Any] | None = None, **overrides: Any
) -> Iterator[LiveServer]:
    """The app on uvicorn with PostgreSQL and Redis; fails the test if a route blocked the loop."""
    api_fields = {"rate_key_prefix": f"govchat:test:{uuid.uuid4().hex[:8]}:"}
    api_fields.update(api or {})
    env = overrides.pop("env", "test")
    with pg_schema() as db_url:
        settings = api_settings(
            data_dir, api=api_fields, db={"url": db_url}, redis={"url": REDIS_URL}, **overrides
        ).model_copy(update={"env": env})
        with start_app(settings) as server:
            yield server
        assert not server.blocking_reports(), server.blocking_reports()
