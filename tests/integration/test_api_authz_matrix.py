"""The authorization matrix, generated from the app's own route table: every route × (anonymous, another
citizen, caseworker, admin, API key) on a live production-mode server (PostgreSQL + Redis).

``ACCESS`` classifies every route. A route that is not in it fails the test, so a new route cannot ship
without someone deciding who may call it; a route whose guard does not match its class fails too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI

from tests.integration._api_fixtures import LiveServer, add_staff
from tests.integration._live_pg import pg_redis_server

pytestmark = pytest.mark.integration

PUBLIC, STAFF, CASEWORKER, ADMIN = "public", "staff", "caseworker", "admin"
IDENTITIES = ("anonymous", "citizen", "caseworker", "admin", "apikey")
# Who is admitted per class (the API key belongs to a caseworker account).
ADMITTED = {
    PUBLIC: set(IDENTITIES),
    STAFF: {"caseworker", "admin", "apikey"},
    CASEWORKER: {"caseworker", "admin", "apikey"},
    ADMIN: {"admin"},
}

ACCESS: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): ADMIN,  # production: an admin (or the metrics token)
    ("POST", "/api/chat"): PUBLIC,
    ("POST", "/api/chat/stream"): PUBLIC,
    ("GET", "/api/history"): PUBLIC,
    ("GET", "/api/events"): PUBLIC,
    ("POST", "/api/feedback"): PUBLIC,
    ("POST", "/api/handoff"): PUBLIC,
    ("POST", "/api/cases/status"): PUBLIC,
    ("GET", "/api/sources/{doc_id}"): PUBLIC,
    ("GET", "/api/items"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/token"): PUBLIC,
    ("POST", "/api/auth/logout"): STAFF,
    ("GET", "/api/auth/me"): STAFF,
    ("GET", "/api/cases"): CASEWORKER,
    ("GET", "/api/cases/{case_no}"): CASEWORKER,
    ("POST", "/api/cases/{case_no}/take"): CASEWORKER,
    ("POST", "/api/cases/{case_no}/draft"): CASEWORKER,
    ("POST", "/api/cases/{case_no}/reply"): CASEWORKER,
    ("POST", "/api/cases/{case_no}/close"): CASEWORKER,
    ("POST", "/api/cases/{case_no}/contact"): CASEWORKER,
    ("GET", "/api/followups"): CASEWORKER,
    ("POST", "/api/followups/{followup_id}/{kind}"): CASEWORKER,
    ("GET", "/api/admin/documents"): ADMIN,
    ("POST", "/api/admin/documents"): ADMIN,
    ("POST", "/api/admin/documents/{doc_id}/retire"): ADMIN,
    ("DELETE", "/api/admin/documents/{doc_id}"): ADMIN,
    ("POST", "/api/admin/reindex"): ADMIN,
    ("GET", "/api/admin/jobs"): ADMIN,
    ("GET", "/api/admin/jobs/{job_id}"): ADMIN,
    ("GET", "/api/admin/synonyms"): ADMIN,
    ("PUT", "/api/admin/synonyms"): ADMIN,
    ("GET", "/api/admin/analytics"): ADMIN,
    ("GET", "/api/admin/eval/latest"): ADMIN,
    ("GET", "/api/admin/eval/files/{path:path}"): ADMIN,
    ("GET", "/v1/models"): PUBLIC,
    ("POST", "/v1/chat/completions"): PUBLIC,
    ("GET", "/"): PUBLIC,  # pages are static shells; their data comes from the guarded API
    ("GET", "/console"): PUBLIC,
    ("GET", "/admin"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("MOUNT", "/static"): PUBLIC,
}
# Exact statuses where admission is not the whole story: only the session that owns a turn may rate it.
EXACT = {
    ("POST", "/api/feedback"): {
        "citizen": 404,
        **dict.fromkeys(("anonymous", "caseworker", "admin", "apikey"), 422),
    }
}
PARAMS = {
    "case_no": "HB00000000-ZZZZ",
    "doc_id": "no-such-doc",
    "job_id": "0" * 32,
    "path:path": "none.png",
    "path": "none.png",
}
PASSWORD = "correct horse battery"


def route_table(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) for every route the app serves, included routers flattened."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI keeps included routes flat in app.routes
        routes: Any = app.routes
    else:
        routes = iter_route_contexts(app.routes)
    table: set[tuple[str, str]] = set()
    for route in routes:
        methods = getattr(route, "methods", None)
        path = getattr(route, "path", None) or ""
        if not methods:
            table.add(("MOUNT", path))
        else:
            table |= {(m, path) for m in methods if m not in ("HEAD", "OPTIONS")}
    return table


@dataclass
class World:
    server: LiveServer
    owner_turn: str  # a turn of another citizen (not the matrix's citizen)
    citizen_session: str
    api_key: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    api = {"cookie_secure": False, "metrics_token": "matrix-metrics-token"}
    with pg_redis_server(tmp_path_factory.mktemp("authz"), api=api, env="production") as srv:
        for name, role in (("m-cw", "caseworker"), ("m-admin", "admin"), ("m-key", "caseworker")):
            add_staff(srv, name, role, PASSWORD)
        with srv.client() as c:
            owner = c.post("/api/chat", json={"message": "电子证照怎么用"}).json()
            citizen = c.post("/api/chat", json={"message": "你好"}).json()
        yield World(srv, owner["turn_id"], citizen["session"], srv.ctx.users.issue_for("m-key", "apikey"))


def _headers(world: World, identity: str) -> dict[str, str]:
    users = world.server.ctx.users
    if identity in ("caseworker", "admin"):  # a fresh token each time: logout revokes the one it used
        token = users.issue_for("m-cw" if identity == "caseworker" else "m-admin", "token")
        return {"Authorization": f"Bearer {token}"}
    if identity == "apikey":
        return {"Authorization": f"Bearer {world.api_key}"}
    return {}


def _body(world: World, path: str, session: str | None) -> dict[str, Any] | None:
    bodies: dict[str, dict[str, Any]] = {
        "/api/chat": {"message": "你好", "session": session},
        "/api/chat/stream": {"message": "你好", "session": session},
        "/api/feedback": {"session": session, "turn_id": world.owner_turn, "stars": 5},
        "/api/handoff": {"session": session, "kind": "online_link"},
        "/api/cases/status": {"case_no": PARAMS["case_no"], "verify_code": "123456"},
        "/api/auth/login": {"username": "m-cw", "password": PASSWORD},
        "/api/auth/token": {"username": "m-cw", "password": PASSWORD},
        "/api/cases/{case_no}/reply": {"text": "您好"},
        "/v1/chat/completions": {"messages": [{"role": "user", "content": "你好"}]},
    }
    return {k: v for k, v in bodies[path].items() if v is not None} if path in bodies else None


def _call(world: World, method: str, path: str, identity: str) -> int:
    session = world.citizen_session if identity == "citizen" else None
    url = path
    for name, value in PARAMS.items():
        url = url.replace("{" + name + "}", value)
    params = {"session": session} if session and path in ("/api/history", "/api/events") else None
    body = _body(world, path, session)
    with world.server.client(headers=_headers(world, identity)) as c:
        if path == "/api/events":  # an endless stream: the status line is the answer
            with c.stream(method, url, params=params) as r:
                return r.status_code
        return c.request(method, url, params=params, json=body).status_code


def test_every_route_is_classified(world: World) -> None:
    served = route_table(world.server.app)
    unclassified = sorted(served - set(ACCESS))
    assert not unclassified, f"new routes need an entry in ACCESS (who may call them?): {unclassified}"
    assert not sorted(set(ACCESS) - served), "ACCESS names routes the app no longer serves"


@pytest.mark.parametrize("identity", IDENTITIES)
def test_route_matrix(world: World, identity: str) -> None:
    failures: list[str] = []
    for method, path in sorted(route_table(world.server.app)):
        if method == "MOUNT":
            with world.server.client() as c:
                status = c.get(path + "/common.js").status_code
        else:
            status = _call(world, method, path, identity)
        klass = ACCESS.get((method, path), "unclassified")
        exact = EXACT.get((method, path), {}).get(identity)
        if klass != "unclassified" and identity in ADMITTED[klass]:
            ok = status == exact if exact else status not in (401, 403) and status < 500
        else:
            denied = 401 if identity in ("anonymous", "citizen") else 403
            ok = status == denied
        if not ok:
            failures.append(f"{method} {path} as {identity}: {status} ({klass})")
    assert not failures, "\n".join(failures)
