"""The `govchat` CLI contract that admins, scripts and the eval harness rely on (ARCHITECTURE.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import POLICY_DOC

pytestmark = pytest.mark.integration


def govchat(
    data_dir: Path, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GOVCHAT_DATA_DIR": str(data_dir),
        "GOVCHAT_RETRIEVAL__EMBEDDER": "hashing",
        "GOVCHAT_LOG_LEVEL": "ERROR",
        "HF_HUB_OFFLINE": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "serving.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=check,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    out = govchat(path, "ingest", "--sample", str(POLICY_DOC), "--json")
    report = json.loads(out.stdout)
    assert len(report["added"]) >= 20 and report["failed"] == []
    return path


def test_ingest_is_idempotent_and_reports_bad_files(data_dir: Path, tmp_path: Path):
    again = json.loads(govchat(data_dir, "ingest", "--sample", "--json").stdout)
    assert again["added"] == [] and again["replaced"] == [] and len(again["unchanged"]) >= 19
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 garbage")
    out = govchat(data_dir, "ingest", str(bad), check=False)
    assert out.returncode == 1 and "broken.pdf" in out.stderr
    missing = govchat(data_dir, "ingest", str(tmp_path / "nope.md"), check=False)
    assert missing.returncode == 2 and "nope.md" in missing.stderr


def test_search_json_has_the_contract_fields(data_dir: Path):
    out = json.loads(govchat(data_dir, "search", "生孩子上户口要带什么材料", "-k", "3", "--json").stdout)
    assert out["has_evidence"] is True and len(out["hits"]) == 3
    hit = out["hits"][0]
    assert {"doc_id", "title", "section", "snippet", "score", "source"} <= set(hit)
    assert hit["doc_id"] == "birth"


def test_search_jsonl_reads_text_and_json_lines(data_dir: Path):
    lines = "\n".join(
        ["开饭馆要办哪些证", json.dumps({"query": "退休了公积金怎么取"}, ensure_ascii=False), "", "{bad json"]
    )
    out = govchat(data_dir, "search", "--jsonl", "-k", "2", stdin=lines).stdout.splitlines()
    rows = [json.loads(line) for line in out]
    assert len(rows) == 3  # the blank line is skipped
    assert rows[0]["hits"][0]["doc_id"] == "open_restaurant"
    assert rows[1]["query"] == "退休了公积金怎么取" and rows[1]["hits"][0]["doc_id"] == "retirement"
    assert rows[2]["query"] == "{bad json"  # not JSON: searched as text, never a crash


def test_docs_retire_and_delete(data_dir: Path):
    listed = [json.loads(line) for line in govchat(data_dir, "docs", "list").stdout.splitlines()]
    assert any(d["doc_id"] == "birth" and d["status"] == "有效" for d in listed)
    assert govchat(data_dir, "docs", "delete", "no-such-doc", check=False).returncode == 1
