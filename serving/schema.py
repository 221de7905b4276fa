"""Keeps an existing database in step with the code's tables: creates missing tables and adds
missing columns (additive changes only), so a data dir from an earlier version keeps working.

Columns are only ever added with a default or as nullable; nothing is renamed or dropped. Larger
changes in production belong in reviewed migrations.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.schema import Column

log = logging.getLogger(__name__)


def _default_sql(column: Column, engine: Engine) -> str:
    default = column.default
    arg = getattr(default, "arg", None)
    if arg is None or callable(arg):
        return ""
    if isinstance(arg, bool):
        return (
            " DEFAULT " + ("TRUE" if arg else "FALSE")
            if engine.dialect.name != "sqlite"
            else f" DEFAULT {int(arg)}"
        )
    if isinstance(arg, int | float):
        return f" DEFAULT {arg}"
    if isinstance(arg, str):
        return " DEFAULT '" + arg.replace("'", "''") + "'"
    return ""


def sync_schema(engine: Engine, metadatas: Iterable[MetaData]) -> list[str]:
    """Creates missing tables and adds missing columns; returns the columns it added."""
    added: list[str] = []
    for metadata in metadatas:
        metadata.create_all(engine)
        inspector = inspect(engine)
        for table in metadata.sorted_tables:
            existing = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in existing:
                    continue
                col_type = column.type.compile(dialect=engine.dialect)
                default = _default_sql(column, engine)
                ddl = f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {col_type}{default}'
                with engine.begin() as conn:
                    conn.execute(text(ddl))
                if column.index:
                    with engine.begin() as conn:
                        conn.execute(
                            text(
                                f'CREATE INDEX IF NOT EXISTS ix_{table.name}_{column.name} ON {table.name} ("{column.name}")'
                            )
                        )
                added.append(f"{table.name}.{column.name}")
                log.warning("database upgraded: added column %s.%s", table.name, column.name)
    return added
