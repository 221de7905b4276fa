"""Paths and service URLs the tests share (importable as ``tests.paths``)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The real public Hubei policy ships in the sample knowledge base (with its issuer and dates as metadata),
# so the tests need nothing outside the repository.
POLICY_DOC = (
    REPO / "retrieval" / "sample_kb" / "policies" / "hubei-ai-industry-implementation-opinions-2025.md"
)
POSTGRES_URL = os.environ.get(
    "GOVCHAT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("GOVCHAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
