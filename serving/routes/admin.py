"""Admin endpoints (role admin): documents and ingestion jobs, synonyms, analytics, eval reports."""

from __future__ import annotations

from typing import Any

import anyio
import yaml
from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from retrieval.lexical.synonyms import SynonymsError
from serving import messages
from serving.admin_ops import (
    check_upload,
    document_json,
    replaced_json,
    safe_filename,
    same_name_json,
    save_upload,
)
from serving.auth import Admin
from serving.context import AppContext
from serving.deps import Ctx
from serving.errors import ApiError
from serving.ingest_job import upload_doc_id
from serving.jobs import JobKind, JobRecord, QueueUnavailable, new_job_id
from serving.schemas import SynonymsRequest

router = APIRouter(prefix="/api/admin", tags=["admin"])


async def submit_job(
    ctx: AppContext, kind: JobKind, payload: dict[str, Any], job_id: str, by: str
) -> JobRecord:
    try:
        return await anyio.to_thread.run_sync(
            lambda: ctx.jobs.submit(kind, payload, job_id=job_id, created_by=by)
        )
    except QueueUnavailable:
        raise ApiError(503, "queue_unavailable", messages.QUEUE_DOWN) from None


@router.get("/documents")
async def list_documents(_: Admin, ctx: Ctx) -> list[dict[str, Any]]:
    records = await anyio.to_thread.run_sync(ctx.services.kb.documents)
    return [document_json(r) for r in records]


@router.post("/documents", status_code=202)
async def upload_document(
    user: Admin,
    ctx: Ctx,
    file: UploadFile = File(...),
    replace: str | None = Query(default=None, min_length=1, max_length=128),
) -> dict[str, Any]:
    """A new document with its own id; with ``replace=<doc_id>``, a new version of that document.

    The response says which id the upload gets, which document it replaces (title, version, chunks),
    and which live documents share its file name (they are *not* replaced)."""
    head = await file.read(8192)
    await file.seek(0)
    check_upload(file.filename or "", head, ctx.settings.api.upload_suffixes)
    records = await anyio.to_thread.run_sync(ctx.services.kb.documents)
    target = next((r for r in records if r.doc_id == replace), None) if replace else None
    if replace and target is None:
        raise ApiError(404, "not_found", messages.DOC_NOT_FOUND)
    job_id = new_job_id()
    dest = ctx.settings.data_dir / "uploads" / job_id / safe_filename(file.filename or "upload")
    await anyio.to_thread.run_sync(save_upload, file.file, dest, ctx.settings.api.max_upload_bytes)
    doc_id = target.doc_id if target else upload_doc_id(dest.name, job_id)
    payload = {"paths": [str(dest)], "filename": dest.name, "doc_ids": {str(dest): doc_id}}
    job = await submit_job(ctx, "ingest", {**payload, "replace": target is not None}, job_id, user.username)
    return {
        "job_id": job.id,
        "status": job.status,
        "doc_id": doc_id,
        "replaces": replaced_json(target) if target else None,
        "same_name": same_name_json(records, dest.name, exclude=doc_id),
    }


@router.post("/documents/{doc_id}/retire")
async def retire_document(doc_id: str, _: Admin, ctx: Ctx) -> dict[str, Any]:
    if not await anyio.to_thread.run_sync(ctx.services.kb.retire, doc_id):
        raise ApiError(404, "not_found", messages.DOC_NOT_FOUND)
    return {"doc_id": doc_id, "status": "废止"}


@router.delete("/documents/{doc_id}")
async def delete_document(doc_id: str, _: Admin, ctx: Ctx) -> dict[str, Any]:
    if not await anyio.to_thread.run_sync(ctx.services.kb.delete, doc_id):
        raise ApiError(404, "not_found", messages.DOC_NOT_FOUND)
    return {"doc_id": doc_id, "deleted": True}


@router.post("/reindex", status_code=202)
async def reindex(user: Admin, ctx: Ctx) -> dict[str, Any]:
    job = await submit_job(ctx, "reindex", {}, new_job_id(), user.username)
    return {"job_id": job.id, "status": job.status}


@router.get("/jobs")
async def list_jobs(_: Admin, ctx: Ctx, limit: int = Query(default=50, ge=1, le=500)) -> list[dict[str, Any]]:
    jobs = await anyio.to_thread.run_sync(ctx.job_store.recent, limit)
    return [j.to_json() for j in jobs]


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, _: Admin, ctx: Ctx) -> dict[str, Any]:
    job = await anyio.to_thread.run_sync(ctx.job_store.get, job_id)
    if job is None:
        raise ApiError(404, "not_found", messages.JOB_NOT_FOUND)
    return job.to_json()


@router.get("/synonyms")
async def get_synonyms(_: Admin, ctx: Ctx) -> dict[str, Any]:
    return {"text": await anyio.to_thread.run_sync(ctx.synonyms.text)}


@router.put("/synonyms")
async def put_synonyms(body: SynonymsRequest, _: Admin, ctx: Ctx) -> dict[str, Any]:
    try:
        count = await anyio.to_thread.run_sync(ctx.synonyms.replace, body.text)
    except (SynonymsError, yaml.YAMLError) as exc:
        raise ApiError(
            422, "invalid_synonyms", messages.SYNONYMS_INVALID.format(detail=str(exc)[:300])
        ) from None
    return {"ok": True, "variants": count}


@router.get("/analytics")
async def analytics(_: Admin, ctx: Ctx, days: int = Query(default=30, ge=1, le=366)) -> dict[str, Any]:
    return await anyio.to_thread.run_sync(ctx.services.audit.analytics, days)


@router.get("/eval/latest")
async def eval_latest(_: Admin, ctx: Ctx) -> JSONResponse:
    report = await anyio.to_thread.run_sync(ctx.evals.latest)
    if report is None:
        raise ApiError(404, "not_found", messages.EVAL_MISSING)
    return JSONResponse(report)


@router.get("/eval/files/{path:path}")
async def eval_file(path: str, _: Admin, ctx: Ctx) -> FileResponse:
    found = await anyio.to_thread.run_sync(ctx.evals.file, path)
    if found is None:
        raise ApiError(404, "not_found", messages.NOT_FOUND)
    return FileResponse(found, media_type="image/png")
