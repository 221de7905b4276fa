"""Shared fixtures: real services on loopback, the sample KB, the tiny offline embedding model."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "GOVCHAT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("GOVCHAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real sentence-transformers folder built offline from the sample KB's own text."""
    from retrieval.factory import SAMPLE_KB_DIR
    from tests.tiny_model import build_tiny_sentence_transformer

    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLE_KB_DIR.rglob("*")) if p.is_file()]
    lines = [line for t in texts for line in t.splitlines() if line.strip()]
    return build_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny-st"), lines)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema per test, dropped afterwards (tables never collide between tests)."""
    from sqlalchemy import create_engine, text

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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Runs a test against both databases the product supports."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
    else:
        yield request.getfixturevalue("pg_url")
