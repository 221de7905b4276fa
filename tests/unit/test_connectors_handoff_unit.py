"""Handoff pieces that need no network: deep link tokens, signing, the circuit breaker, code tables, PII."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest
from cryptography.fernet import Fernet

from connectors.handoff import codes, signing
from connectors.handoff.base import HandoffConnector
from connectors.handoff.deeplink import DeepLinkConnector, TokenExpired, TokenInvalid, qr_svg
from connectors.handoff.fake import FakeHandoffConnector
from connectors.handoff.platform_client import idempotency_key
from connectors.pii import (
    fernet_key,
    id_checksum_ok,
    mask_id_number,
    mask_name,
    mask_phone,
    normalise_id_number,
    normalise_phone,
)
from connectors.resilience import CircuitBreaker, CircuitOpen
from connectors.store import ConsentRequired
from connectors.types import ContactInfo, HandoffRequest

pytestmark = pytest.mark.unit

VALID_ID = "11010519491231002X"  # the GB 11643 standard's own example number


class Clock:
    def __init__(self, t: float = 1_760_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _link(clock: Clock, secret: str = "s3cret", ttl: int = 3600) -> DeepLinkConnector:
    return DeepLinkConnector(
        secret=secret,
        h5_url_template="https://zwfw.hubei.gov.cn/ehb/item?code={item_code}&token={token}",
        miniprogram_path_template="pages/item/index?code={item_code}&token={token}",
        token_ttl_s=ttl,
        clock=clock,
    )


def _request(**kw: Any) -> HandoffRequest:
    base: dict[str, Any] = {
        "session_id": "sess-1",
        "workflow_id": "birth",
        "workflow_name": "新生儿出生“一件事”",
        "item_code": "HB-YJS/001",
        "region_code": "420600",
        "answers": {"huji": "hubei", "married": True},
    }
    base.update(kw)
    return HandoffRequest.model_validate(base)


def _submit(connector: Any, request: HandoffRequest) -> Any:
    return anyio.run(connector.submit, request)


def test_deep_link_carries_item_code_and_a_verifiable_token() -> None:
    clock = Clock()
    link = _link(clock)
    handoff = _submit(link, _request())
    assert isinstance(link, HandoffConnector)
    assert handoff.kind == "online_link"
    assert handoff.url.startswith("https://zwfw.hubei.gov.cn/ehb/item?code=HB-YJS%2F001&token=")
    assert handoff.miniprogram_path.startswith("pages/item/index?code=HB-YJS%2F001&token=")
    assert handoff.qr_text == handoff.url
    token = handoff.url.split("token=")[1]
    payload = link.verify_token(token)
    assert payload["code"] == "HB-YJS/001" and payload["wf"] == "birth"
    assert payload["ans"] == {"huji": "hubei", "married": True} and payload["rg"] == "420600"
    assert "sess-1" not in json.dumps(payload)  # only a one-way reference to the session
    assert handoff.expires_at is not None and handoff.expires_at.timestamp() == clock.t + 3600
    assert "1小时内有效" in handoff.message


def test_token_expires_after_ttl() -> None:
    clock = Clock()
    link = _link(clock, ttl=600)
    token = link.make_token({"code": "X"})
    clock.t += 599
    assert link.verify_token(token) == {"code": "X"}
    clock.t += 2
    with pytest.raises(TokenExpired):
        link.verify_token(token)


def test_tampered_or_foreign_tokens_are_rejected() -> None:
    clock = Clock()
    link = _link(clock)
    token = link.make_token({"code": "X"})
    _, _, rest = token.partition(".")
    forged_body = base64.urlsafe_b64encode(json.dumps({"code": "Y"}).encode()).decode().rstrip("=")
    for bad in (
        forged_body + "." + rest,
        token[:-2] + ("aa" if not token.endswith("aa") else "bb"),
        "garbage",
        "",
    ):
        with pytest.raises(TokenInvalid):
            link.verify_token(bad)
    with pytest.raises(TokenInvalid):
        _link(clock, secret="other").verify_token(token)


def test_no_personal_data_in_the_token_and_consent_enforced() -> None:
    link = _link(Clock())
    contact = ContactInfo(name="张三", phone="13812345678", id_number=VALID_ID)
    with pytest.raises(ConsentRequired):
        _submit(link, _request(contact=contact))
    handoff = _submit(link, _request(contact=contact, consent=True))
    payload = link.verify_token(handoff.url.split("token=")[1])
    dumped = json.dumps(payload, ensure_ascii=False)
    assert "13812345678" not in dumped and VALID_ID not in dumped and "张三" not in dumped


def test_bad_templates_and_missing_secret_fail_at_construction() -> None:
    with pytest.raises(ValueError, match="only use"):
        DeepLinkConnector(secret="s", h5_url_template="https://x/{item}", miniprogram_path_template="p")
    with pytest.raises(ValueError, match="secret"):
        DeepLinkConnector(secret="", h5_url_template="u", miniprogram_path_template="p")


def test_qr_svg_is_an_svg_document() -> None:
    svg = qr_svg("https://zwfw.hubei.gov.cn/ehb/item?code=X")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg


def test_fake_connector_records_and_checks_consent() -> None:
    fake = FakeHandoffConnector("caseworker")
    assert _submit(fake, _request()).reference == "FAKE-0001"
    with pytest.raises(ConsentRequired):
        _submit(fake, _request(contact=ContactInfo(phone="13812345678")))
    assert len(fake.requests) == 1


# ------------------------------------------------------------------ signing and idempotency


def test_signature_round_trip_and_tampering() -> None:
    body = b'{"SXBM":"X"}'
    headers = signing.signed_headers("app", "key", "POST", "/api/v1/banjian", body, now=1000.0)
    assert signing.verify("key", "POST", "/api/v1/banjian", headers, body, now=1000.0)
    assert not signing.verify("key", "POST", "/api/v1/banjian", headers, b'{"SXBM":"Y"}', now=1000.0)
    assert not signing.verify("key", "GET", "/api/v1/banjian", headers, body, now=1000.0)
    assert not signing.verify("key", "POST", "/api/v1/other", headers, body, now=1000.0)
    assert not signing.verify("wrong", "POST", "/api/v1/banjian", headers, body, now=1000.0)
    assert not signing.verify("key", "POST", "/api/v1/banjian", headers, body, now=1000.0 + 301)
    assert not signing.verify("key", "POST", "/api/v1/banjian", {}, body, now=1000.0)
    again = signing.signed_headers("app", "key", "POST", "/api/v1/banjian", body, now=1000.0)
    assert again[signing.NONCE] != headers[signing.NONCE]


def test_idempotency_key_is_stable_per_session_and_workflow() -> None:
    assert idempotency_key("s1", "birth") == idempotency_key("s1", "birth")
    assert idempotency_key("s1", "birth") != idempotency_key("s2", "birth")
    assert idempotency_key("s1", "birth") != idempotency_key("s1", "retirement")
    assert len(idempotency_key("s1", "birth")) == 32


# ------------------------------------------------------------------ circuit breaker


def test_breaker_opens_after_threshold_then_half_opens() -> None:
    clock = Clock(0.0)
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    with pytest.raises(CircuitOpen):
        breaker.check()
    clock.t = 10.0
    assert breaker.state == "half_open"
    assert breaker.allow()  # one trial
    assert not breaker.allow()  # and only one
    breaker.record_failure()
    assert breaker.state == "open"
    clock.t = 20.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow()


def test_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout_s=1, clock=Clock(0.0))
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


# ------------------------------------------------------------------ 办件 code tables


@pytest.mark.parametrize(
    ("record", "stage", "label"),
    [
        ({}, "declared", "已申报"),
        ({"YSLZTDM": "1"}, "pre_accepted", "预受理通过"),
        ({"YSLZTDM": "2"}, "pre_rejected", "预受理不受理"),
        ({"YSLZTDM": "3"}, "pre_correction", "预受理补交补正"),
        ({"YSLZTDM": "1", "SLZTDM": "1"}, "accepted", "已受理"),
        ({"YSLZTDM": "1", "SLZTDM": "1", "SPHJDM": "2"}, "in_review", "审查中（审核）"),
        ({"YSLZTDM": "1", "SLZTDM": "3"}, "correction", "补齐补正"),
        ({"YSLZTDM": "1", "SLZTDM": "4"}, "rejected", "不予受理"),
        ({"SLZTDM": "2"}, "rejected", "不予受理"),
        ({"SLZTDM": "1", "BJJGDM": "0"}, "completed", "已办结（出证办结）"),
        ({"SLZTDM": "1", "BJJGDM": 7}, "completed", "已办结（不予许可）"),
    ],
)
def test_stage_of_status_record(record: dict[str, object], stage: str, label: str) -> None:
    assert codes.stage_of(record) == stage
    assert codes.describe(record) == label


# ------------------------------------------------------------------ PII


def test_id_number_checksum_and_normalisation() -> None:
    assert id_checksum_ok(VALID_ID)
    assert not id_checksum_ok("110105194912310021")
    assert normalise_id_number(" 11010519491231002x ") == VALID_ID
    for bad in ("123", "11010519491231002Y", "' OR 1=1 --"):
        with pytest.raises(ValueError):
            normalise_id_number(bad)


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
    ],
)
def test_phone_normalisation(raw: str, phone: str) -> None:
    assert normalise_phone(raw) == phone


@pytest.mark.parametrize("bad", ["12345", "23812345678", "1381234567a", ""])
def test_bad_phones_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        normalise_phone(bad)


def test_masks() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number(VALID_ID) == "110***********002X"
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧***" and mask_name("") == ""
    info = ContactInfo(name="张三", phone="13812345678", id_number=VALID_ID)
    assert info.masked() == "张* 138****5678 110***********002X"
    with pytest.raises(ValueError):
        ContactInfo(phone="12345")


def test_fernet_key_from_settings() -> None:
    explicit = Fernet.generate_key().decode()
    assert fernet_key(explicit, "ignored") == explicit.encode()
    derived = fernet_key("", "app-secret")
    assert derived == fernet_key("", "app-secret") != fernet_key("", "other-secret")
    Fernet(derived)  # a valid key
    with pytest.raises(ValueError):
        fernet_key("not-a-key", "")
    with pytest.raises(ValueError):
        fernet_key("", "")
