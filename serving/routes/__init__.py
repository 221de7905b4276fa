"""Thin routers: validate, call a service, map the result to JSON or SSE."""

from __future__ import annotations

from fastapi import APIRouter


def all_routers() -> list[APIRouter]:
    from serving.routes import admin, auth, cases, citizen, openai, ops, pages

    return [ops.router, citizen.router, auth.router, cases.router, admin.router, openai.router, pages.router]
