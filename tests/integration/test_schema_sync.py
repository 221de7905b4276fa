"""A database created by an earlier version keeps working: missing columns are added at start-up."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text

from connectors.store import ConnectorsBase
from serving.schema import sync_schema

pytestmark = pytest.mark.integration


def test_missing_columns_are_added_and_rows_survive(db_url: str):
    engine = create_engine(db_url)
    with engine.begin() as conn:  # the cases table as an older release created it
        conn.execute(
            text("CREATE TABLE cases (id INTEGER PRIMARY KEY, case_no VARCHAR(32), kind VARCHAR(16))")
        )
        conn.execute(
            text("INSERT INTO cases (id, case_no, kind) VALUES (1, 'HB20260101-AAAA', 'caseworker')")
        )
    added = sync_schema(engine, [ConnectorsBase.metadata])
    assert "cases.session_id" in added and "cases.summary" in added
    columns = {c["name"] for c in inspect(engine).get_columns("cases")}
    assert {"session_id", "verify_code_hash", "external_ref"} <= columns
    with engine.connect() as conn:
        row = conn.execute(text("SELECT case_no, session_id FROM cases")).one()
    assert row[0] == "HB20260101-AAAA" and row[1] in ("", None)
    assert sync_schema(engine, [ConnectorsBase.metadata]) == []  # idempotent
    engine.dispose()
