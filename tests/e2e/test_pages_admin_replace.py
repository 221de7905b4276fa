"""Admin page, real Chromium: an upload named like an existing document is added beside it (and says
so); replacing a document is its own button, and the page names what will be replaced before it does."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e._pages_fixtures import DESKTOP, GovchatServer, launch_browser, run_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GovchatServer]:
    with run_server(tmp_path_factory.mktemp("govchat-e2e-replace")) as s:
        yield s


@pytest.fixture
def admin_page(server: GovchatServer) -> Iterator[Page]:
    with launch_browser() as browser:
        b: Browser = browser
        ctx = b.new_context(viewport=DESKTOP, base_url=server.base_url, locale="zh-CN")
        ctx.set_default_timeout(20_000)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        name, password = server.users["admin"]
        page.goto("/admin")
        expect(page).to_have_url(re.compile(r"/login\?next="))
        expect(page.locator("body[data-ready]")).to_be_attached()
        page.get_by_label("用户名").fill(name)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        expect(page).to_have_url(re.compile(r"/admin($|[?#])"))
        yield page
        ctx.close()
        assert errors == []


def _notice(tmp_path: Path, name: str, title: str, fee: str) -> Path:
    path = tmp_path / name
    path.write_text(f"# {title}\n\n## 收费标准\n\n办理{title}，工本费为{fee}元。\n", encoding="utf-8")
    return path


def test_same_name_upload_is_added_and_replace_is_announced(admin_page: Page, tmp_path: Path) -> None:
    page = admin_page
    tag = uuid.uuid4().hex[:4].upper()
    title = f"白鹭湖游船年卡办理须知{tag}"
    first = tmp_path / "a"
    first.mkdir()
    page.locator("#upload-file").set_input_files(str(_notice(first, "附件1.md", title, "六十")))
    page.get_by_role("button", name="上传并入库").click()
    expect(page.locator(".job").first).to_have_attribute("data-status", "done", timeout=60_000)

    # A second 附件1.md is a new document; the job card says which one it did not replace.
    second = tmp_path / "b"
    second.mkdir()
    other = f"青山湖骑行证办理须知{tag}"
    page.locator("#upload-file").set_input_files(str(_notice(second, "附件1.md", other, "十")))
    page.get_by_role("button", name="上传并入库").click()
    job = page.locator(".job").first
    expect(job).to_have_attribute("data-status", "done", timeout=60_000)
    expect(job).to_contain_text("将新增为文档")
    expect(job).to_contain_text(f"已有同名文档“{title}”")
    expect(page.locator("#doc-table tbody tr").filter(has_text=title)).to_have_count(1)
    expect(page.locator("#doc-table tbody tr").filter(has_text=other)).to_have_count(1)

    # Replacing: the row's own button, and a confirmation that names the document first.
    row = page.locator("#doc-table tbody tr").filter(has_text=title)
    with page.expect_file_chooser() as chooser:
        row.get_by_role("button", name=re.compile("^替换")).click()
    chooser.value.set_files(str(_notice(tmp_path, "修订.md", title, "八十")))
    confirm = page.locator("dialog.confirm")
    expect(confirm).to_contain_text(f"替换“{title}”")
    expect(confirm).to_contain_text("v1")
    confirm.get_by_role("button", name="替换").click()
    job = page.locator(".job").first
    expect(job).to_have_attribute("data-status", "done", timeout=60_000)
    expect(job).to_contain_text(f"将替换：{title}")
    expect(job).to_contain_text("替换 1")
    expect(row).to_contain_text("v2")
