"""Schema-driven fuzzing (Schemathesis) of a live ``govchat serve`` on PostgreSQL + Redis: every OpenAPI
operation gets valid and invalid generated requests, staff routes with an admin token; none may answer
with a server error. ``python -m evals.fuzz_api`` runs the longer version and prints its figures."""

from __future__ import annotations

import pytest

from evals.fuzz_api import fuzz_live_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_thousand_generated_requests_get_no_server_error() -> None:
    report = fuzz_live_server(examples=60, seed=20261204)
    figures = report.to_json()
    assert report.requests >= 1000, figures
    assert figures["operations"] >= 30, figures  # every operation of the schema was exercised
    assert not report.server_errors, "\n".join(report.server_errors[:10])
