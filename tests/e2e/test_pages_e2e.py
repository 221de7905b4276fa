"""The three web pages against the real server in headless Chromium: what citizens, caseworkers and
admins see and do (issue [4] scenarios 1-6)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import qrcode
import qrcode.constants
import qrcode.util
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.e2e._pages_fixtures import (
    DESKTOP,
    MOBILE,
    GovchatServer,
    launch_browser,
    run_server,
    shot,
)

pytestmark = pytest.mark.e2e

CASE_NO = re.compile(r"^HB\d{8}-[A-Z0-9]{4}$")
BIRTH_ANSWERS = ["是", "父母至少一方为湖北户籍", "是", "武汉市", "否"]
FOLLOW_UP = "给宝宝上户口要带哪些材料"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GovchatServer]:
    with run_server(tmp_path_factory.mktemp("govchat-e2e")) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_browser() as b:
        yield b


class PageErrors:
    """Uncaught script errors and CSP refusals: a page that breaks silently fails the test."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: (
                self.errors.append(f"console: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )
        return page


@pytest.fixture
def errors() -> Iterator[PageErrors]:
    watcher = PageErrors()
    yield watcher
    assert watcher.errors == []


def _context(browser: Browser, server: GovchatServer, viewport: ViewportSize, **kw: Any) -> BrowserContext:
    ctx = browser.new_context(
        viewport=viewport, base_url=server.base_url, locale="zh-CN", device_scale_factor=1, **kw
    )
    ctx.set_default_timeout(15_000)
    return ctx


@pytest.fixture
def citizen(browser: Browser, server: GovchatServer, errors: PageErrors) -> Iterator[Page]:
    ctx = _context(browser, server, MOBILE, has_touch=True, is_mobile=True)
    yield errors.watch(ctx.new_page())
    ctx.close()


@pytest.fixture
def staff(browser: Browser, server: GovchatServer, errors: PageErrors) -> Iterator[Page]:
    ctx = _context(browser, server, DESKTOP)
    yield errors.watch(ctx.new_page())
    ctx.close()


# --- helpers ------------------------------------------------------------------------------------
def answered(page: Page) -> Any:
    return page.locator('.msg.assistant[data-turn-id]:not([data-turn-id=""])')


def ask(page: Page, text: str) -> Any:
    """Types a question, sends it with Enter and returns the finished assistant turn."""
    before = answered(page).count()
    page.locator("#input").fill(text)
    page.locator("#input").press("Enter")
    expect(answered(page)).to_have_count(before + 1)
    return answered(page).last


def tap(page: Page, button: Any) -> Any:
    """Clicks a button that starts a turn and returns the finished assistant turn."""
    before = answered(page).count()
    button.click()
    expect(answered(page)).to_have_count(before + 1)
    return answered(page).last


def login(page: Page, role: str, server: GovchatServer, landing: str) -> None:
    name, password = server.users[role]
    page.goto(landing)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.locator("body[data-ready]")).to_be_attached()  # the form's script is bound
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(re.escape(landing) + r"($|[?#])"))


def birth_checklist_via_api(http: httpx.Client) -> str:
    """A citizen session that answered every 新生儿出生 question and got the checklist."""
    session = None
    for message in ["我要办新生儿出生一件事", *BIRTH_ANSWERS]:
        r = http.post("/api/chat", json={"session": session, "message": message})
        assert r.status_code == 200, r.text
        session = r.json()["session"]
    assert r.json()["flow"]["kind"] == "checklist", r.json()
    return str(session)


def birth_case_via_api(server: GovchatServer) -> tuple[str, str, str]:
    """A citizen session that finished 新生儿出生, asked a question and then chose 窗口帮办:
    (session token, case no, verification code). The caseworker's draft answers that question."""
    with server.api() as http:
        session = birth_checklist_via_api(http)
        r = http.post("/api/chat", json={"session": session, "message": FOLLOW_UP})
        assert r.status_code == 200, r.text
        r = http.post("/api/handoff", json={"session": session, "kind": "caseworker", "consent": False})
        assert r.status_code == 200, r.text
        handoff = r.json()["handoff"]
        assert CASE_NO.match(handoff["case_no"]), handoff
        return session, handoff["case_no"], handoff["verify_code"]


# --- scenario 1 ---------------------------------------------------------------------------------
def test_citizen_sees_cited_answer_and_highlighted_source(citizen: Page) -> None:
    page = citizen
    page.goto("/")
    turn = ask(page, "生孩子上户口要带什么材料")
    text = turn.locator(".answer-text").first
    expect(text).to_contain_text("居民户口簿")
    cite = text.locator("button.cite").first
    expect(cite).to_have_text(re.compile(r"^\[\d+\]$"))
    expect(turn.locator(".sources")).to_contain_text("新生儿出生")
    shot(page, "01-chat-answer")

    cite.click()
    dialog = page.locator("#source-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#source-title")).to_contain_text("新生儿出生")
    passage = dialog.locator(".chunk.highlight")
    expect(passage).to_have_count(1)
    expect(passage).to_contain_text("居民户口簿")
    expect(passage).to_be_in_viewport()
    expect(passage).to_be_focused()
    shot(page, "02-source-highlight")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


# --- scenario 2 ---------------------------------------------------------------------------------
def test_birth_flow_to_checklist_and_caseworker_handoff(citizen: Page) -> None:
    page = citizen
    page.goto("/")
    chip = page.get_by_role("button", name="开始办理新生儿出生“一件事”")
    turn = tap(page, chip)
    expect(turn).to_contain_text("宝宝是在湖北省内")
    for answer in BIRTH_ANSWERS:
        if answer == "武汉市":  # a region: no buttons, the citizen types it
            expect(turn.locator(".choices")).to_have_count(0)
            turn = ask(page, answer)
        else:
            turn = tap(page, turn.locator(".choices").get_by_role("button", name=answer, exact=True))

    card = turn.locator(".checklist-card")
    expect(card).to_be_visible()
    expect(card.locator(".situation")).to_contain_text("武汉市")
    materials = card.locator(".material")
    expect(materials.first).to_be_visible()
    assert materials.count() >= 3
    expect(card.locator(".mark").filter(has_text="必要").first).to_be_visible()
    expect(card).to_contain_text("可免提交")
    expect(card.locator(".not-needed")).to_contain_text("银行卡")  # no 生育津贴 asked for
    expect(card).to_contain_text("收费标准")
    expect(card).to_contain_text("办理渠道")

    card.get_by_role("button", name=re.compile("窗口")).click()
    dialog = page.locator("#caseworker-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("姓名（选填）").fill("张三")
    dialog.get_by_label("手机号（选填）").fill("13912345678")
    dialog.get_by_role("button", name="确认转人工帮办").click()
    # Contact without consent never leaves the page.
    expect(dialog.locator("#cw-error")).to_contain_text("勾选同意")
    expect(dialog).to_be_visible()
    dialog.get_by_label(re.compile("我同意")).check()
    turn = tap(page, dialog.get_by_role("button", name="确认转人工帮办"))

    handoff = turn.locator(".handoff-card")
    expect(handoff).to_be_visible()
    case_no = handoff.locator(".case-no").inner_text().strip()
    code = handoff.locator(".verify-code").inner_text().strip()
    assert CASE_NO.match(case_no), case_no
    assert re.fullmatch(r"\d{6}", code), code
    handoff.scroll_into_view_if_needed()
    shot(page, "03-handoff-case")
    # A tall phone screen shows the whole checklist and the handoff card together (README shot).
    page.set_viewport_size({"width": MOBILE["width"], "height": 2200})
    page.evaluate("document.getElementById('log').scrollTop = 1e6")
    shot(page, "03-checklist-handoff")
    page.set_viewport_size(MOBILE)

    # The citizen can look the case up with the number and code.
    page.get_by_role("button", name="查办件").click()
    page.get_by_label("办件编号").fill(case_no)
    page.get_by_label("查询验证码").fill(code)
    page.locator("#status-form").get_by_role("button", name="查询").click()
    expect(page.locator("#status-result .status-label")).to_have_text("待受理")


def test_online_link_handoff_shows_link_and_scannable_qr(server: GovchatServer, citizen: Page) -> None:
    with server.api() as http:
        session = birth_checklist_via_api(http)
    citizen.context.add_init_script(f"localStorage.setItem('govchat.session', {session!r});")
    citizen.goto("/")
    turn = ask(citizen, "我想在线上办理")
    card = turn.locator(".handoff-card")
    link = card.get_by_role("link", name="打开办理链接")
    expect(link).to_be_visible()
    href = link.get_attribute("href") or ""
    assert href.startswith("https://zwfw.hubei.gov.cn/"), href
    figure = card.locator("figure.qr-figure")
    expect(figure.locator("svg")).to_be_visible()
    qr_text = figure.get_attribute("data-qr-text") or ""
    assert qr_text == href
    # The drawn modules are exactly the reference encoder's symbol for the link (same mask).
    path = figure.locator("svg path").get_attribute("d") or ""
    drawn = {(int(x) - 4, int(y) - 4) for x, y in re.findall(r"M(\d+) (\d+)", path)}
    mask = citizen.evaluate("(t) => GovQR.encode(t).mask", qr_text)
    ref = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=mask)
    ref.add_data(qrcode.util.QRData(qr_text.encode("utf-8"), mode=qrcode.util.MODE_8BIT_BYTE))
    ref.make(fit=True)
    expected = {(x, y) for y, row in enumerate(ref.get_matrix()) for x, dark in enumerate(row) if dark}
    assert drawn == expected
    figure.scroll_into_view_if_needed()
    shot(citizen, "03b-online-link-qr")


# --- scenario 3 ---------------------------------------------------------------------------------
def test_caseworker_reply_reaches_citizen_live(
    browser: Browser, server: GovchatServer, citizen: Page, staff: Page
) -> None:
    session, case_no, code = birth_case_via_api(server)
    with server.api() as http:  # after the handoff the citizen asks about something else
        time.sleep(2.5)
        r = http.post("/api/chat", json={"session": session, "message": "另外问下 退休要准备哪些材料"})
        assert r.status_code == 200, r.text
    citizen.context.add_init_script(f"localStorage.setItem('govchat.session', {session!r});")
    citizen.goto("/")
    expect(citizen.locator(".msg.user").first).to_contain_text("新生儿出生")  # history restored

    page = staff
    login(page, "caseworker", server, "/console")
    item = page.locator(f'.queue-item[data-case-no="{case_no}"]')
    expect(item).to_be_visible()
    expect(item).to_contain_text("待受理")
    item.click()
    detail = page.locator("#detail")
    expect(detail.locator("h2")).to_contain_text(case_no)
    expect(detail).to_contain_text("已收集的情况")
    expect(detail.locator(".answers")).to_contain_text("武汉市")
    expect(detail.locator(".cl-materials li").first).to_be_visible()
    expect(detail.locator(".transcript").first).to_contain_text("我要办新生儿出生一件事")
    expect(detail.locator(".transcript").first).not_to_contain_text("退休")
    expect(detail.locator(".transcript.follow-ups")).to_contain_text("退休要准备哪些材料")

    detail.get_by_role("button", name="接单").click()
    expect(detail.locator("h2 .status")).to_have_text("办理中")
    detail.get_by_role("button", name="起草回复").click()
    reply = detail.locator("#reply-text")
    expect(reply).not_to_have_value("")
    expect(detail.locator("#draft-citations li").first).to_contain_text("新生儿出生")
    assert "居民户口簿" in reply.input_value() and "退休" not in reply.input_value()
    reply.fill(
        "您好，已收到您的新生儿出生帮办申请，请携带材料到武汉市政务服务中心综合窗口办理。\n"
        + reply.input_value()
    )
    page.evaluate(
        "window.scrollTo(0, 0); document.getElementById('toast').textContent = '';"
        " document.getElementById('reply-text').scrollTop = 0"
    )
    shot(page, "04-console", full_page=True)
    detail.get_by_role("button", name="发送回复").click()
    expect(detail.locator("h2 .status")).to_have_text("已答复")

    staff_msg = citizen.locator(".msg.caseworker")
    expect(staff_msg).to_have_count(1, timeout=10_000)
    expect(staff_msg).to_contain_text("请携带材料到武汉市政务服务中心综合窗口办理")
    expect(staff_msg.locator(".who")).to_have_text("工作人员")

    detail.get_by_role("button", name="办结").click()
    expect(detail.locator("h2 .status")).to_have_text("已办结")
    expect(detail.locator("#reply-text")).to_have_count(0)
    citizen.get_by_role("button", name="查办件").click()
    citizen.get_by_label("办件编号").fill(case_no)
    citizen.get_by_label("查询验证码").fill(code)
    citizen.locator("#status-form").get_by_role("button", name="查询").click()
    result = citizen.locator("#status-result")
    expect(result.locator(".status-label")).to_have_text("已办结")
    expect(result).to_contain_text("请携带材料到武汉市政务服务中心综合窗口办理")


# --- scenario 4 ---------------------------------------------------------------------------------
def test_admin_upload_makes_new_content_answerable(
    server: GovchatServer, staff: Page, citizen: Page, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:4].upper()
    title = f"萤火虫湖湿地公园年票办理指南{tag}"
    doc = tmp_path / f"firefly-lake-{tag}.md"
    doc.write_text(
        f"# {title}\n\n## 申请材料\n\n办理萤火虫湖湿地公园年票，需携带本人居民身份证原件和一张两寸蓝底照片，"
        "年票工本费为八十八元。\n\n## 办理地点\n\n萤火虫湖湿地公园游客中心二号窗口，每周三上午受理年票申请。\n",
        encoding="utf-8",
    )
    page = staff
    login(page, "admin", server, "/admin")
    page.locator("#upload-file").set_input_files(str(doc))
    page.get_by_role("button", name="上传并入库").click()
    job = page.locator(".job").first
    expect(job).to_have_attribute("data-status", "done", timeout=60_000)
    expect(job).to_contain_text("新增 1")
    row = page.locator("#doc-table tbody tr").filter(has_text=title)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("有效")
    shot(page, "05-admin-documents")

    citizen.goto("/")
    turn = ask(citizen, "萤火虫湖湿地公园年票要带什么材料")
    expect(turn.locator(".answer-text").first).to_contain_text("两寸蓝底照片")
    expect(turn.locator(".sources")).to_contain_text(title)

    # Retire, then delete after confirming: the document leaves the list and the answers.
    row.get_by_role("button", name=re.compile("^废止")).click()
    page.locator("dialog.confirm").get_by_role("button", name="废止").click()
    expect(row).to_contain_text("已废止")
    row.get_by_role("button", name=re.compile("^删除")).click()
    confirm = page.locator("dialog.confirm")
    expect(confirm).to_contain_text("不可恢复")
    confirm.get_by_role("button", name="删除").click()
    expect(row).to_have_count(0)
    turn = ask(citizen, "萤火虫湖湿地公园年票要带什么材料")
    expect(turn.locator(".answer-text").first).not_to_contain_text("两寸蓝底照片")
    expect(turn).not_to_contain_text(title)


def test_admin_synonyms_invalid_yaml_is_refused(server: GovchatServer, staff: Page) -> None:
    page = staff
    login(page, "admin", server, "/admin")
    page.get_by_role("tab", name="同义词").click()
    editor = page.get_by_label("同义词（YAML）")
    expect(editor).not_to_have_value("")
    original = editor.input_value()
    editor.fill("groups: [unclosed")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator("#synonyms-error")).to_contain_text("保存失败")
    page.get_by_role("button", name="重新加载").click()
    expect(editor).to_have_value(original)  # the file on disk was left untouched


# --- scenario 5 ---------------------------------------------------------------------------------
def test_elder_mode_and_keyboard_only_use(citizen: Page) -> None:
    page = citizen
    page.goto("/")
    font = "() => parseFloat(getComputedStyle(document.body).fontSize)"
    assert page.evaluate(font) < 20
    toggle = page.get_by_role("button", name="适老化")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_class(re.compile(r"\belder\b"))
    assert page.evaluate(font) >= 20
    page.reload()
    expect(page.locator("html")).to_have_class(re.compile(r"\belder\b"))  # persisted
    expect(page.locator("#elder-toggle")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate(font) >= 20

    # Keyboard only: Tab from the top of the page reaches the input, with a visible focus ring.
    page.locator("body").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == "input":
            break
    expect(page.locator("#input")).to_be_focused()
    page.keyboard.type("社保卡丢了怎么补办")
    before = answered(page).count()
    page.keyboard.press("Enter")
    expect(page.locator(".msg.user").last).to_contain_text("社保卡丢了怎么补办")
    expect(answered(page)).to_have_count(before + 1)
    expect(page.locator("#input")).to_have_value("")
    # The focused control shows a visible ring when reached by keyboard.
    page.keyboard.press("Shift+Tab")
    ring = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert ring not in ("none", ""), ring
    shot(page, "06-elder-mode")

    # 新对话 forgets the conversation and its session token.
    page.get_by_role("button", name="新对话").click()
    expect(page.locator(".msg.user")).to_have_count(0)
    assert page.evaluate("() => localStorage.getItem('govchat.session')") is None
    expect(page.locator("#input")).to_be_focused()


# --- scenario 6 ---------------------------------------------------------------------------------
def test_very_dissatisfied_rating_reaches_staff_followups(
    server: GovchatServer, citizen: Page, staff: Page
) -> None:
    question = f"公积金提取需要多久到账{uuid.uuid4().hex[:4]}"
    citizen.goto("/")
    turn = ask(citizen, question)
    rate = turn.locator("details.rate")
    rate.locator("summary").click()
    rate.get_by_label("非常不满意（1星）").check()
    rate.get_by_placeholder("意见建议（选填）").fill("说得不清楚，没告诉我到账时间")
    rate.get_by_role("button", name="提交评价").click()
    expect(rate.locator(".rate-done")).to_contain_text("非常不满意")
    # No contact was left with consent: no phone call is promised, the answer comes in this chat.
    expect(rate.locator(".rate-result")).to_contain_text("在本对话中回复您")
    expect(rate.locator(".rate-result")).not_to_contain_text("联系回访跟进")

    login(staff, "admin", server, "/console")  # admins may use the console too
    staff.get_by_role("tab", name=re.compile("差评回访")).click()
    entry = staff.locator("#followups .followup").filter(has_text=question)
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("非常不满意")
    expect(entry).to_contain_text("说得不清楚")
    expect(entry.locator(".fu-callback")).to_contain_text("未授权留下联系方式")
    entry.get_by_label("回访内容").fill("您好，公积金提取一般3个工作日内到账，以当地公积金中心为准。")
    entry.get_by_role("button", name="回复到对话").click()
    expect(entry.locator(".fu-log")).to_contain_text("回复到对话")
    staff_msg = citizen.locator(".msg.caseworker")
    expect(staff_msg).to_contain_text("3个工作日内到账", timeout=10_000)  # reached the citizen's chat live

    staff.goto("/admin#analytics")
    expect(staff.locator("#stat-questions")).not_to_have_text("—")
    expect(staff.locator("#chart-days svg rect.bar").first).to_be_attached()
    expect(staff.locator("#followups")).to_contain_text(question)

    staff.goto("/console")
    staff.get_by_role("tab", name=re.compile("差评回访")).click()
    entry.get_by_role("button", name="办结").click()
    expect(entry).to_have_count(0)  # resolved: off the list


def test_caseworker_reveals_a_consented_contact_with_a_reason(server: GovchatServer, staff: Page) -> None:
    phone = "13712345678"
    with server.api() as http:
        session = http.post("/api/chat", json={"message": "社保卡丢了怎么补办"}).json()["session"]
        r = http.post("/api/handoff", json={
            "session": session, "kind": "caseworker", "consent": True, "contact": {"name": "赵女士", "phone": phone},
        })  # fmt: skip
        case_no = r.json()["handoff"]["case_no"]
    login(staff, "caseworker", server, "/console")
    staff.locator(f'.queue-item[data-case-no="{case_no}"]').click()
    detail = staff.locator("#detail")
    expect(detail.locator(".meta")).not_to_contain_text(phone)  # masked until asked for
    detail.get_by_role("button", name="接单").click()
    expect(detail.locator("h2 .status")).to_have_text("办理中")
    detail.get_by_role("button", name="查看联系方式").click()  # no reason yet: refused, nothing shown
    expect(detail.locator("#contact-revealed")).not_to_contain_text(phone)
    detail.get_by_label("查看联系方式的原因").fill("电话回访核实补卡材料")
    detail.get_by_role("button", name="查看联系方式").click()
    revealed = detail.locator("#contact-revealed")
    expect(revealed.locator(".contact-phone")).to_have_text(phone)
    expect(revealed.locator(".reveal-trail")).to_contain_text("电话回访核实补卡材料")


def test_12345_from_the_checklist_asks_what_the_problem_is(server: GovchatServer, citizen: Page) -> None:
    with server.api() as http:
        session = birth_checklist_via_api(http)
    page = citizen  # a phone
    page.context.add_init_script(f"localStorage.setItem('govchat.session', {session!r});")
    page.goto("/")
    card = page.locator(".checklist-card").last
    expect(card).to_be_visible()
    card.get_by_role("button", name=re.compile("12345")).click()
    dialog = page.locator("#caseworker-dialog")
    expect(dialog.locator("#cw-title")).to_have_text("登记12345工单")
    dialog.get_by_role("button", name="确认登记12345工单").click()
    expect(dialog.locator("#cw-error")).to_contain_text("说明要反映的问题")  # nothing filed yet
    dialog.get_by_label("要反映的问题（必填）").fill("医院说出生证明要等两周才能开，想问能否加快")
    turn = tap(page, dialog.get_by_role("button", name="确认登记12345工单"))
    handoff = turn.locator(".handoff-card")
    expect(handoff).to_be_visible()
    case_no = handoff.locator(".case-no").inner_text().strip()
    name, password = server.users["caseworker"]
    with server.api() as http:
        token = http.post("/api/auth/token", json={"username": name, "password": password}).json()["token"]
        case = http.get(f"/api/cases/{case_no}", headers={"Authorization": f"Bearer {token}"}).json()["case"]
    assert case["kind"] == "ticket_12345" and case["workflow_id"] == "birth"
    assert case["summary"].startswith("诉求：医院说出生证明要等两周")


def test_a_reload_keeps_the_cards_and_personal_data_is_masked_in_my_own_bubble(citizen: Page) -> None:
    page = citizen  # phone browsers reload tabs often
    page.goto("/")
    turn = ask(page, "开饭馆要办哪些证 我身份证号是110101199003074258")
    mine = page.locator(".msg.user").last
    expect(mine.locator(".user-text")).not_to_contain_text("199003074258")  # masked once the server has it
    expect(mine.locator(".pii-hint")).to_contain_text("请勿在对话中提供身份证号")
    expect(turn.locator(".cite").first).to_be_visible()
    chip = page.get_by_role("button", name="开始办理新生儿出生“一件事”")
    flow_turn = tap(page, chip)
    expect(flow_turn.locator(".choices .btn").first).to_be_visible()

    page.reload()
    restored = page.locator(".msg.assistant")
    expect(restored.locator(".cite").first).to_be_visible()  # citations clickable again
    expect(restored.last.locator(".choices .btn").first).to_be_visible()  # the question's buttons too
    expect(page.locator(".msg.user .user-text").first).not_to_contain_text("199003074258")
    restored.locator(".cite").first.click()
    expect(page.locator("#source-dialog")).to_be_visible()
