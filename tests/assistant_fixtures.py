"""Builds real services (SQLite, Chroma on a temp dir, hashing embedder) over the sample KB + policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.llm.base import ChatModel
from retrieval.config import RetrievalSettings
from retrieval.factory import SAMPLE_KB_DIR
from serving.services import Services, build_services
from serving.settings import Settings
from tests.paths import POLICY_DOC


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        retrieval=RetrievalSettings(embedder="hashing"),
        **overrides,
    )


def make_services(
    data_dir: Path, *, llm: ChatModel | None = None, ingest: bool = True, **overrides: Any
) -> Services:
    services = build_services(make_settings(data_dir, **overrides), llm=llm)
    if ingest:
        report = services.kb.ingest_paths([SAMPLE_KB_DIR, POLICY_DOC])
        assert not report.failed, report.failed
    return services
