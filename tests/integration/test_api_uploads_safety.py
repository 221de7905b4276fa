"""Issue 9 over the real API on PostgreSQL + Redis: uploads get unique document ids (replacing is an
explicit, announced admin action), and hostile files (zip bombs, parsers that never finish) fail
their job with a clear reason inside a killable worker process."""

from __future__ import annotations

import io
import resource
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import httpx
import pytest

from tests.integration._api_fixtures import LiveServer, add_staff, bearer, wait_job
from tests.integration._live_pg import pg_redis_server

pytestmark = pytest.mark.integration

PW = "correct horse battery"
BIRTH_QUESTION = "生孩子上户口要带什么"


def _attachment(topic: str) -> bytes:
    return (
        f"# 湖北省{topic}补贴申领通知\n\n## 申领材料\n\n申领{topic}补贴，需提交{topic}补贴申请表和本人银行卡复印件。\n"
    ).encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with pg_redis_server(tmp_path_factory.mktemp("uploads-safety")) as srv:
        add_staff(srv, "boss", "admin", PW)
        yield srv


@pytest.fixture
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with bearer(server, "boss", PW) as c:
        yield c


def _upload(admin: httpx.Client, name: str, content: bytes, replace: str | None = None) -> dict[str, Any]:
    params = {"replace": replace} if replace else None
    r = admin.post("/api/admin/documents", files={"file": (name, content)}, params=params)
    assert r.status_code == 202, r.text
    return r.json()  # type: ignore[no-any-return]


def _docs(admin: httpx.Client) -> dict[str, dict[str, Any]]:
    return {d["doc_id"]: d for d in admin.get("/api/admin/documents").json()}


def _cited(server: LiveServer, question: str) -> list[str]:
    with server.client() as citizen:
        answer = citizen.post("/api/chat", json={"message": question}).json()
    return [c["doc_id"] for c in answer["citations"]]


# --- 5. upload id collisions ---------------------------------------------------------------------
def test_a_second_upload_with_the_same_name_is_a_new_document(
    server: LiveServer, admin: httpx.Client
) -> None:
    first = _upload(admin, "附件1.md", _attachment("萤石养殖"))
    assert wait_job(admin, first["job_id"])["status"] == "done"
    second = _upload(admin, "附件1.md", _attachment("蓝莓种植"))
    assert second["doc_id"] != first["doc_id"] and second["replaces"] is None
    assert {"doc_id": first["doc_id"], "title": "湖北省萤石养殖补贴申领通知"} in second["same_name"]
    job = wait_job(admin, second["job_id"])
    assert job["status"] == "done" and job["report"]["added"] == [second["doc_id"]]
    docs = _docs(admin)
    assert docs[first["doc_id"]]["version"] == 1 and docs[second["doc_id"]]["version"] == 1
    assert first["doc_id"] in _cited(server, "萤石养殖补贴要交什么材料")
    assert second["doc_id"] in _cited(server, "蓝莓种植补贴要交什么材料")


def test_an_upload_named_like_a_shipped_guide_does_not_replace_it(
    server: LiveServer, admin: httpx.Client
) -> None:
    before = _docs(admin)["birth"]
    assert before["chunk_count"] > 5 and "birth" in _cited(server, BIRTH_QUESTION)
    r = _upload(
        admin, "birth.md", "# 出生证明遗失补办说明\n\n出生证明遗失的，可向签发医院申请补办。\n".encode()
    )
    assert r["doc_id"] != "birth" and r["replaces"] is None
    assert [d["doc_id"] for d in r["same_name"]] == ["birth"]  # shown, not replaced
    assert wait_job(admin, r["job_id"])["status"] == "done"
    after = _docs(admin)
    assert after["birth"]["chunk_count"] == before["chunk_count"]
    assert after["birth"]["version"] == before["version"] and r["doc_id"] in after
    assert "birth" in _cited(server, BIRTH_QUESTION)


def test_replacing_is_explicit_and_announced_before_the_job_runs(
    server: LiveServer, admin: httpx.Client
) -> None:
    original = _upload(admin, "通知.md", _attachment("油茶种植"))
    assert wait_job(admin, original["job_id"])["status"] == "done"
    doc_id = original["doc_id"]
    missing = admin.post(
        "/api/admin/documents", files={"file": ("x.md", b"# x\n\nx\n")}, params={"replace": "no-such-doc"}
    )
    assert missing.status_code == 404
    r = _upload(
        admin,
        "通知（修订）.md",
        _attachment("油茶种植").replace("银行卡".encode(), "社保卡".encode()),
        replace=doc_id,
    )
    assert r["doc_id"] == doc_id
    assert r["replaces"] == {
        "doc_id": doc_id,
        "title": "湖北省油茶种植补贴申领通知",
        "doc_type": "policy",
        "version": 1,
        "chunk_count": 1,
        "status": "有效",
        "updated_at": r["replaces"]["updated_at"],
    }
    job = wait_job(admin, r["job_id"])
    assert job["status"] == "done" and job["report"]["replaced"] == [doc_id]
    assert _docs(admin)[doc_id]["version"] == 2


def test_the_same_content_uploaded_again_is_not_added_twice(admin: httpx.Client) -> None:
    content = _attachment("茶叶加工")
    first = _upload(admin, "tea.md", content)
    assert wait_job(admin, first["job_id"])["status"] == "done"
    again = _upload(admin, "tea-copy.md", content)
    job = wait_job(admin, again["job_id"])
    assert job["status"] == "done" and job["report"]["unchanged"] == [first["doc_id"]]
    assert again["doc_id"] not in _docs(admin)


# --- 6. decompression amplification and slow parsers ----------------------------------------------
def _docx_with_body(body_xml: str) -> bytes:
    """A real .docx (python-docx's template) whose document body is replaced by ``body_xml``."""
    template = io.BytesIO()
    docx.Document().save(template)
    out = io.BytesIO()
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                head, _, rest = data.decode().partition("<w:body>")
                data = (head + "<w:body>" + body_xml + rest[rest.index("<w:sectPr") :]).encode()
            dst.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def test_a_docx_zip_bomb_fails_its_job_fast_with_a_clear_reason(
    server: LiveServer, admin: httpx.Client
) -> None:
    bomb = _docx_with_body("<w:p/>" * 2_000_000)
    assert len(bomb) < 64 * 1024  # tens of KB on the wire, megabytes of XML inside
    docs_before = set(_docs(admin))
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    job = wait_job(admin, _upload(admin, "bomb.docx", bomb)["job_id"], timeout_s=60)
    assert job["status"] == "failed" and "50000" in job["error"] and "paragraphs" in job["error"]
    assert time.monotonic() - started < 30
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mb < 100, f"the server grew by {grown_mb:.0f} MB"
    assert set(_docs(admin)) == docs_before


def test_a_parse_past_its_deadline_is_killed_and_the_next_upload_works(tmp_path: Path) -> None:
    slow = _docx_with_body(
        "".join(f"<w:p><w:r><w:t>第{i}条 内容{i}</w:t></w:r></w:p>" for i in range(40_000))
    )
    with pg_redis_server(tmp_path, api={"parse_timeout_s": 0.3, "sample_if_empty": False}) as srv:
        add_staff(srv, "boss", "admin", PW)
        with bearer(srv, "boss", PW) as admin:
            job = wait_job(admin, _upload(admin, "slow.docx", slow)["job_id"], timeout_s=60)
            assert job["status"] == "failed" and "0.3 s" in job["error"], job
            ok = wait_job(admin, _upload(admin, "ok.md", _attachment("香菇种植"))["job_id"], timeout_s=60)
            assert ok["status"] == "done", ok
