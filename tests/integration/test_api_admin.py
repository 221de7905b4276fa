"""Admin API over a real server: uploads become searchable through ingestion jobs, broken uploads fail
cleanly, synonyms, analytics and eval reports. The upload flow runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from retrieval.config import RetrievalSettings
from tests.integration._api_fixtures import LiveServer, add_staff, api_settings, bearer, start_app, wait_job

pytestmark = pytest.mark.integration

PW = "correct horse battery"
NEW_DOC = """# 湖北省量子政务试点管理办法

## 适用范围

本办法适用于湖北省量子政务试点窗口，试点窗口为企业和群众提供量子政务咨询服务。

## 申请材料

申请量子政务试点服务，应当提交量子政务试点申请书和营业执照复印件。
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with start_app(
        api_settings(tmp_path_factory.mktemp("api-admin"), api={"max_upload_bytes": 64 * 1024})
    ) as srv:
        add_staff(srv, "boss", "admin", PW)
        yield srv
    assert not srv.blocking_reports(), srv.blocking_reports()


@pytest.fixture
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with bearer(server, "boss", PW) as c:
        yield c


def _upload(
    client: httpx.Client, name: str, content: bytes, ctype: str = "application/octet-stream"
) -> httpx.Response:
    return client.post("/api/admin/documents", files={"file": (name, content, ctype)})


def _doc_ids(client: httpx.Client) -> set[str]:
    return {d["doc_id"] for d in client.get("/api/admin/documents").json()}


def test_uploaded_document_is_ingested_by_a_job_and_answers_questions(
    server: LiveServer, admin: httpx.Client
) -> None:
    before = _doc_ids(admin)
    r = _upload(admin, "quantum-pilot.md", NEW_DOC.encode())
    assert r.status_code == 202
    doc_id = r.json()["doc_id"]
    assert doc_id.startswith("quantum-pilot-") and r.json()["replaces"] is None
    job = wait_job(admin, r.json()["job_id"])
    assert job["status"] == "done", job
    assert job["progress"] == 1.0 and job["total"] == 1 and job["report"]["added"] == [doc_id]
    assert _doc_ids(admin) - before == {doc_id}
    saved = server.ctx.settings.data_dir / "uploads" / job["id"] / "quantum-pilot.md"
    assert saved.is_file()
    with server.client() as citizen:
        answer = citizen.post("/api/chat", json={"message": "量子政务试点申请要提交什么材料"}).json()
    assert doc_id in [c["doc_id"] for c in answer["citations"]], answer
    jobs = admin.get("/api/admin/jobs").json()
    assert jobs[0]["id"] == job["id"]


def test_broken_upload_fails_its_job_with_a_clear_error_and_leaves_the_kb_alone(admin: httpx.Client) -> None:
    before = admin.get("/api/admin/documents").json()
    r = _upload(admin, "damaged.pdf", b"%PDF-1.4\n this is not really a pdf")
    assert r.status_code == 202
    job = wait_job(admin, r.json()["job_id"])
    assert job["status"] == "failed"
    assert "damaged.pdf" in job["error"] and "PDF" in job["error"].upper()
    assert admin.get("/api/admin/documents").json() == before
    bad_guide = _upload(admin, "broken-guide.yaml", "id: x\nname: 缺字段的指南\n".encode())
    job = wait_job(admin, bad_guide.json()["job_id"])
    assert job["status"] == "failed" and job["error"]
    assert admin.get("/api/admin/documents").json() == before


def test_upload_type_and_size_limits(admin: httpx.Client) -> None:
    r = _upload(admin, "virus.exe", b"MZ\x90\x00")
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_type"
    r = _upload(admin, "fake.pdf", b"<html>not a pdf</html>")
    assert r.status_code == 415
    r = _upload(admin, "binary.txt", b"abc\x00\x01\x02")
    assert r.status_code == 415
    r = _upload(admin, "big.md", ("# 大文件\n\n" + "很长的内容。" * 10_000).encode())  # ~180 KB > 64 KB
    assert r.status_code == 413
    r = _upload(admin, "empty.md", b"")
    assert r.status_code == 400


def test_retire_and_delete_documents(admin: httpx.Client) -> None:
    r = _upload(
        admin,
        "to-retire.md",
        "# 待废止的通知\n\n这是一份将被废止的测试通知，内容涉及测试废止流程。\n".encode(),
    )
    assert wait_job(admin, r.json()["job_id"])["status"] == "done"
    doc_id = r.json()["doc_id"]
    assert admin.post(f"/api/admin/documents/{doc_id}/retire").json()["status"] == "废止"
    doc = next(d for d in admin.get("/api/admin/documents").json() if d["doc_id"] == doc_id)
    assert doc["status"] == "废止"
    assert admin.delete(f"/api/admin/documents/{doc_id}").status_code == 200
    assert doc_id not in _doc_ids(admin)
    assert admin.delete(f"/api/admin/documents/{doc_id}").status_code == 404
    assert admin.post("/api/admin/documents/nope/retire").status_code == 404


def test_reindex_job_rereads_sources(admin: httpx.Client) -> None:
    r = admin.post("/api/admin/reindex")
    assert r.status_code == 202
    job = wait_job(admin, r.json()["job_id"])
    assert job["status"] == "done" and job["kind"] == "reindex"
    assert job["report"]["unchanged"] and not job["report"]["failed"]


def test_synonyms_edit_is_validated_written_and_reloaded(server: LiveServer, admin: httpx.Client) -> None:
    shipped = admin.get("/api/admin/synonyms").json()["text"]
    assert ":" in shipped
    target = server.ctx.settings.data_dir / "synonyms.yaml"
    for bad in ["- just\n- a list\n", "社会保障卡: 社保卡\n", "a: [b\n"]:
        r = admin.put("/api/admin/synonyms", json={"text": bad})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_synonyms"
        assert not target.exists()
    text = shipped + "\n量子政务: [量子办事, 量子服务窗口]\n"
    r = admin.put("/api/admin/synonyms", json={"text": text})
    assert r.status_code == 200 and r.json()["ok"] is True
    assert target.read_text(encoding="utf-8") == text
    assert server.services.kb.synonyms.expand("量子办事要什么").endswith("量子政务")
    assert admin.get("/api/admin/synonyms").json()["text"] == text


def test_analytics_and_eval_reports(server: LiveServer, admin: httpx.Client) -> None:
    with server.client() as citizen:
        citizen.post("/api/chat", json={"message": "电子证照怎么用"})
    stats = admin.get("/api/admin/analytics", params={"days": 7}).json()
    assert stats["questions"] >= 1 and "no_evidence_rate" in stats
    assert admin.get("/api/admin/analytics", params={"days": 0}).status_code == 422
    assert admin.get("/api/admin/eval/latest").status_code == 404
    folder: Path = server.ctx.settings.api.eval_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gold.md").write_text("# 评测报告\n\nhit@5 = 0.9\n", encoding="utf-8")
    (folder / "gold.json").write_text(json.dumps({"hit@5": 0.9}), encoding="utf-8")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    (folder / "gold-recall.png").write_bytes(png)
    report = admin.get("/api/admin/eval/latest").json()
    assert report["markdown"].startswith("# 评测报告") and report["json"] == {"hit@5": 0.9}
    assert report["plots"] == ["/api/admin/eval/files/gold-recall.png"]
    plot = admin.get(report["plots"][0])
    assert plot.status_code == 200 and plot.content == png and plot.headers["content-type"] == "image/png"
    assert admin.get("/api/admin/eval/files/..%2F..%2Fgovchat.sqlite3").status_code == 404
    assert admin.get("/api/admin/eval/files/gold.md").status_code == 404


def test_upload_flow_on_both_databases(db_url: str, tmp_path: Path) -> None:
    settings = api_settings(
        tmp_path,
        db={"url": db_url},
        retrieval=RetrievalSettings(embedder="hashing"),
        api={"sample_if_empty": False},
    )
    with start_app(settings) as srv:
        add_staff(srv, "boss", "admin", PW)
        with bearer(srv, "boss", PW) as admin:
            assert admin.get("/api/admin/documents").json() == []
            r = _upload(admin, "quantum-pilot.md", NEW_DOC.encode())
            job = wait_job(admin, r.json()["job_id"])
            assert job["status"] == "done", job
            doc_id = r.json()["doc_id"]
            assert [d["doc_id"] for d in admin.get("/api/admin/documents").json()] == [doc_id]
            broken = wait_job(admin, _upload(admin, "x.pdf", b"%PDF-1.7 broken").json()["job_id"])
            assert broken["status"] == "failed"
        with srv.client() as citizen:
            answer = citizen.post("/api/chat", json={"message": "量子政务试点申请要提交什么材料"}).json()
            assert [c["doc_id"] for c in answer["citations"]][:1] == [doc_id]
        assert not srv.blocking_reports()
