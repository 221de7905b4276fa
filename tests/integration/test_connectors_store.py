"""CaseRepository on real SQLite and PostgreSQL, and the casework / 12345 connectors that write to it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from cryptography.fernet import Fernet, InvalidToken
from fastapi import FastAPI, Request
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from connectors.handoff.casework import CaseworkConnector
from connectors.handoff.ticket12345 import Ticket12345Connector
from connectors.store import (
    MAX_VERIFY_FAILURES,
    VERIFY_WINDOW,
    CaseNotAssigned,
    CaseNotFound,
    CaseRepository,
    CaseStateError,
    ConsentRequired,
    VerifyThrottled,
    create_tables,
)
from connectors.types import ContactInfo, HandoffRequest
from tests.integration._connectors_fixtures import closed_port_url, serve

pytestmark = pytest.mark.integration

KEY = Fernet.generate_key()
ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = create_engine(db_url)
    create_tables(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def repo(engine: Engine) -> CaseRepository:
    return CaseRepository(engine, KEY, clock=Clock())


CONTACT = ContactInfo(name="张三", phone=PHONE, id_number=ID_NUMBER)


def test_create_encrypts_personal_data_at_rest(repo: CaseRepository, engine: Engine) -> None:
    case, code = repo.create(
        kind="caseworker",
        workflow_id="birth",
        summary="咨询出生一件事，需要帮办",
        answers={"huji": "hubei"},
        checklist={"materials": ["结婚证"]},
        priority=2,
        contact=CONTACT,
        consent=True,
    )
    assert re.fullmatch(r"HB20261125-[A-HJ-NP-Z2-9]{4}", case.case_no)
    assert re.fullmatch(r"\d{6}", code)
    assert case.status == "open" and case.priority == 2 and case.kind == "caseworker"
    assert case.contact_masked == "张* 138****5678 110***********002X"
    public = case.to_public()
    assert "contact_encrypted" not in public and "id_number_encrypted" not in public
    assert PHONE not in str(public) and ID_NUMBER not in str(public)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT contact_encrypted, id_number_encrypted, verify_code_hash FROM cases WHERE case_no = :n"
            ),
            {"n": case.case_no},
        ).one()
    raw = " ".join(str(v) for v in row)
    assert PHONE not in raw and ID_NUMBER not in raw and "张三" not in raw and code not in raw
    assert repo.reveal_contact(case.case_no) == CONTACT
    other_key = CaseRepository(engine, Fernet.generate_key())
    with pytest.raises(InvalidToken):  # another key cannot read the data
        other_key.reveal_contact(case.case_no)


def test_personal_data_needs_consent(repo: CaseRepository) -> None:
    with pytest.raises(ConsentRequired):
        repo.create(kind="caseworker", contact=ContactInfo(phone=PHONE))
    case, _ = repo.create(kind="caseworker", summary="无联系方式", contact=ContactInfo())
    assert case.contact_masked == "" and repo.reveal_contact(case.case_no) is None


def test_status_lookup_needs_the_right_code(repo: CaseRepository) -> None:
    case, code = repo.create(kind="ticket_12345", appeal_type="投诉", summary="窗口态度差")
    view = repo.lookup_status(case.case_no, code)
    assert view is not None and view.status == "open" and view.status_label == "待受理"
    assert repo.lookup_status(case.case_no.lower(), f" {code} ") is not None
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert repo.lookup_status(case.case_no, wrong) is None
    assert repo.lookup_status("HB20261125-ZZZZ", code) is None
    assert repo.lookup_status(case.case_no, "") is None


def test_lookup_is_throttled_after_repeated_wrong_codes_but_never_locked_for_good(engine: Engine) -> None:
    clock = Clock()
    repo = CaseRepository(engine, KEY, clock=clock)
    case, code = repo.create(kind="caseworker")
    for _ in range(MAX_VERIFY_FAILURES):
        assert repo.lookup_status(case.case_no, "000000" if code != "000000" else "111111") is None
    assert repo.lookup_status(case.case_no, code) is None  # even the right code, within the window
    with pytest.raises(VerifyThrottled) as throttled:
        repo.check_status(case.case_no, code)
    assert 0 < throttled.value.retry_after_s <= VERIFY_WINDOW.total_seconds()
    clock.now += VERIFY_WINDOW
    view = repo.lookup_status(case.case_no, code)  # the window ended: the right code works again
    assert view is not None and view.case_no == case.case_no


def test_caseworker_lifecycle(repo: CaseRepository) -> None:
    case, code = repo.create(kind="caseworker", workflow_id="retirement", summary="退休一件事帮办")
    taken = repo.take(case.case_no, "worker-1")
    assert taken.status == "taken" and taken.assigned_to == "worker-1"
    assert repo.take(case.case_no, "worker-1").status == "taken"  # idempotent for the same person
    with pytest.raises(CaseStateError):
        repo.take(case.case_no, "worker-2")
    repo.add_message(case.case_no, "citizen", "请问需要带户口簿吗？")
    with pytest.raises(CaseNotAssigned):  # taking is enforced: only the holder replies or closes
        repo.add_message(case.case_no, "caseworker", "我来答", actor="worker-2")
    with pytest.raises(CaseNotAssigned):
        repo.close(case.case_no, actor="worker-2")
    repo.add_message(case.case_no, "caseworker", "省外户籍需要带户口簿。", actor="worker-1")
    messages = repo.messages(case.case_no)
    assert [(m.role, m.text) for m in messages] == [
        ("citizen", "请问需要带户口簿吗？"),
        ("caseworker", "省外户籍需要带户口簿。"),
    ]
    view = repo.lookup_status(case.case_no, code)
    assert view is not None and view.status == "replied" and view.last_reply == "省外户籍需要带户口簿。"
    closed = repo.close(case.case_no)
    assert closed.status == "closed" and closed.updated_at > case.updated_at
    with pytest.raises(CaseStateError):
        repo.add_message(case.case_no, "caseworker", "too late")
    with pytest.raises(CaseStateError):
        repo.take(case.case_no, "worker-1")
    with pytest.raises(CaseNotFound):
        repo.take("HB00000000-AAAA", "worker-1")


def test_queue_is_most_urgent_then_oldest(repo: CaseRepository) -> None:
    low, _ = repo.create(kind="caseworker", priority=0)
    old, _ = repo.create(kind="caseworker", priority=1)
    urgent, _ = repo.create(kind="ticket_12345", priority=3)
    new, _ = repo.create(kind="caseworker", priority=1)
    done, _ = repo.create(kind="caseworker", priority=3)
    repo.close(done.case_no)
    queue = [c.case_no for c in repo.list_queue()]
    assert queue == [urgent.case_no, old.case_no, new.case_no, low.case_no]
    assert [c.case_no for c in repo.list_queue(kind="ticket_12345")] == [urgent.case_no]
    assert [c.case_no for c in repo.list_queue(statuses=("closed",))] == [done.case_no]
    assert repo.get(old.case_no) == repo.list_queue()[1]
    assert repo.get("HB00000000-AAAA") is None


def test_case_number_collision_draws_again(repo: CaseRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    numbers = iter(["HB20261125-AAAA", "HB20261125-AAAA", "HB20261125-BBBB"])
    monkeypatch.setattr(repo, "_case_no", lambda: next(numbers))
    first, _ = repo.create(kind="caseworker")
    second, _ = repo.create(kind="caseworker")
    assert (first.case_no, second.case_no) == ("HB20261125-AAAA", "HB20261125-BBBB")


def test_find_by_external_ref(repo: CaseRepository) -> None:
    case, _ = repo.create(kind="platform", external_ref="SANDBOX-1")
    assert repo.find_by_external_ref("platform", "SANDBOX-1") == case
    assert repo.find_by_external_ref("caseworker", "SANDBOX-1") is None
    assert repo.find_by_external_ref("platform", "") is None


# ------------------------------------------------------------------ connectors that write cases


def _request(**kw: Any) -> HandoffRequest:
    base: dict[str, Any] = {
        "session_id": "s-1",
        "workflow_id": "birth",
        "workflow_name": "新生儿出生“一件事”",
        "answers": {"huji": "hubei"},
        "summary": "市民咨询出生一件事并要求帮办",
        "content": "孩子出生想一次办完落户和医保",
        "contact": CONTACT,
        "consent": True,
        "priority": 2,
    }
    base.update(kw)
    return HandoffRequest.model_validate(base)


def test_casework_connector_creates_a_queue_case(repo: CaseRepository) -> None:
    handoff = anyio.run(CaseworkConnector(repo).submit, _request())
    assert handoff.kind == "caseworker" and handoff.case_no == handoff.reference
    assert handoff.case_no in handoff.message and handoff.verify_code in handoff.message
    case = repo.get(handoff.case_no)
    assert case is not None and case.kind == "caseworker" and case.priority == 2
    assert case.answers == {"huji": "hubei"} and case.contact_masked.startswith("张*")
    assert repo.lookup_status(handoff.case_no, handoff.verify_code) is not None
    with pytest.raises(ConsentRequired):
        anyio.run(CaseworkConnector(repo).submit, _request(consent=False))


def test_ticket_is_stored_as_a_12345_case_without_endpoint(repo: CaseRepository) -> None:
    handoff = anyio.run(Ticket12345Connector(repo).submit, _request(appeal_type="投诉"))
    case = repo.get(handoff.case_no)
    assert case is not None and case.kind == "ticket_12345" and case.appeal_type == "投诉"
    assert "投诉" in handoff.message


def test_ticket_is_posted_to_the_configured_endpoint(repo: CaseRepository) -> None:
    received: list[dict[str, Any]] = []
    app = FastAPI()

    @app.post("/tickets")
    async def create_ticket(request: Request) -> dict[str, str]:
        received.append(await request.json())
        return {"ticket_no": "12345-0001"}

    with serve(app) as base:
        connector = Ticket12345Connector(repo, endpoint_url=f"{base}/tickets")
        handoff = anyio.run(connector.submit, _request(appeal_type="建议"))
    assert handoff.reference == "12345-0001"
    assert received[0]["SQLX"] == "建议" and received[0]["content"] == "孩子出生想一次办完落户和医保"
    assert received[0]["contact_masked"] == "张* 138****5678 110***********002X"
    assert PHONE not in str(received) and ID_NUMBER not in str(received)
    case = repo.get(handoff.case_no)
    assert case is not None and case.external_ref == "12345-0001"


def test_ticket_survives_an_unreachable_endpoint(repo: CaseRepository) -> None:
    connector = Ticket12345Connector(repo, endpoint_url=f"{closed_port_url()}/tickets", timeout_s=2)
    handoff = anyio.run(connector.submit, _request(appeal_type="求助"))
    assert "暂时无法连接" in handoff.message
    assert repo.get(handoff.case_no) is not None
