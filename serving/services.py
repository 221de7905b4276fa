"""Composition root: builds every long-lived service once, for the API and the CLI alike."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from retrieval.factory import build_knowledge_base
from retrieval.knowledge_base import KnowledgeBase
from serving.settings import Settings


def make_engine(url: str) -> Engine:
    """SQLite gets WAL and a busy timeout so the API and an ingest job can share the file."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    kb: KnowledgeBase

    def close(self) -> None:
        self.engine.dispose()


def build_services(settings: Settings) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    kb = build_knowledge_base(settings.retrieval, settings.data_dir, engine)
    return Services(settings=settings, engine=engine, kb=kb)
