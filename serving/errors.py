"""One error shape for the whole API: ``{"error": {"code", "message"}}`` with a proper status.

Handlers map FastAPI/Starlette exceptions and anything unexpected to that shape; a stack trace never
reaches a client (it goes to the log with the request id).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.audit import AuditWriteFailed
from serving import messages

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "not_logged_in",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_type",
    422: "invalid_input",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    """Raised by routes and dependencies; rendered as the contract's error JSON."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _describe(errors: list[Any]) -> tuple[str, str]:
    """A short, readable summary of pydantic errors: ``field: problem; ...``."""
    if any(e.get("type") == "json_invalid" for e in errors):
        return "invalid_json", messages.INVALID_JSON
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{loc or 'body'}: {e.get('msg', 'invalid')}")
    return "invalid_input", messages.INVALID_INPUT.format(detail="; ".join(parts))


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    code, message = _describe(list(exc.errors()))
    return error_response(422, code, message)


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404:
        message = messages.ROUTE_NOT_FOUND
    elif status == 405:
        message = messages.METHOD_NOT_ALLOWED
    elif isinstance(exc.detail, str) and exc.detail:
        message = exc.detail
    else:
        message = messages.INTERNAL
    return error_response(status, _STATUS_CODES.get(status, "error"), message, dict(exc.headers or {}))


async def _audit_failed(_: Request, exc: Exception) -> JSONResponse:
    log.error("turn refused: its audit record could not be written (%s)", exc)
    return error_response(503, "audit_failed", messages.AUDIT_FAILED)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    return error_response(500, "internal", messages.INTERNAL)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(AuditWriteFailed, _audit_failed)
    app.add_exception_handler(Exception, _unexpected)
