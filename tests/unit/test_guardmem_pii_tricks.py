"""Personal data written to slip past a masker: invisible characters, odd separators, odd digits.

Every trick of issue 9 (zero-width and format characters, double spaces, ``.`` ``/`` ``，`` and newlines
between digit groups, circled / mathematical-bold / full-width digits) for every kind of number, masked
by span on the original text, over generated messages; ordinary numbers stay readable.
"""

from __future__ import annotations

import random
import time

import pytest

from assistant.guard import Guard
from assistant.pii import PIIKind, find_pii, mask_pii, mask_text
from assistant.pii_fold import fold
from tests.pii_messages import TRICKS, generate, leaks, make_values

pytestmark = pytest.mark.unit

ID, PHONE, CARD = make_values(random.Random(1), 1)
KIND = {ID: PIIKind.ID_NUMBER, PHONE: PIIKind.PHONE, CARD: PIIKind.BANK_CARD}


@pytest.mark.parametrize("trick", sorted(TRICKS))
@pytest.mark.parametrize("value", [ID, PHONE, CARD], ids=["id", "phone", "card"])
def test_every_trick_is_masked_for_every_kind(trick: str, value: str) -> None:
    written = TRICKS[trick](value, random.Random(3))
    text = f"我的号码是{written}，请帮我查一下"
    result = mask_pii(text)
    assert [f.kind for f in result.findings] == [KIND[value]], (trick, written)
    assert not leaks([result.text], [value])
    assert result.text.startswith("我的号码是") and result.text.endswith("，请帮我查一下")
    # The finding spans exactly the written value in the original text.
    f = result.findings[0]
    assert text[f.start : f.end].strip() == written.strip()


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "电话1\u200b3\u200b8\u200b1\u200b2\u200b3\u200b4\u200b5\u200b6\u200b7\u200b8。",
            "电话138****5678。",
        ),
        ("电话138  1234  5678", "电话138****5678"),
        ("电话138.1234.5678", "电话138****5678"),
        ("电话138/1234/5678", "电话138****5678"),
        ("电话138，1234，5678", "电话138****5678"),
        ("电话138\n1234\n5678", "电话138****5678"),
        ("电话①③⑧①②③④⑤⑥⑦⑧", "电话138****5678"),
        ("电话𝟏𝟑𝟖𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖", "电话138****5678"),
        ("电话１３８１２３４５６７８", "电话138****5678"),
        ("13812345678,13987654321", "138****5678,139****4321"),
    ],
)
def test_masks_on_the_original_text_by_span(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "金额13812345678.50元",  # a decimal amount, not a phone number
        "12,345.67元",
        "1,380,000,000 元",
        "2024/01/01 至 2024.12.31",
        "办件编号 2024-0101-1234-5678",
        "第①条 第②条",
        "电话区号 027-8888 6666",
        "版本 v1.3.8.12345678",
    ],
)
def test_separators_do_not_make_ordinary_numbers_personal_data(text: str) -> None:
    assert find_pii(text) == ()


def test_fold_maps_every_character_back_to_the_original() -> None:
    text = "Ａ①\u200b⑩𝟏\n\u3000x"
    folded = fold(text)
    assert folded.text == "A1101  x"
    assert [text[i] for i in folded.src] == ["Ａ", "①", "⑩", "⑩", "𝟏", "\n", "\u3000", "x"]
    assert folded.span(1, 4) == (1, 4)  # "①\u200b⑩": the zero-width character inside is covered
    assert fold("plain ascii\tline").src == ()


def test_one_thousand_generated_messages_leave_no_raw_value() -> None:
    messages = generate(1000)
    assert {m.trick for m in messages} == set(TRICKS)
    guard = Guard.from_directory(2000)
    started = time.perf_counter()
    masked = [guard.check(m.text).masked_text for m in messages]
    elapsed = time.perf_counter() - started
    leaked = [(m.trick, m.text) for m, out in zip(messages, masked, strict=True) if leaks([out], m.raw)]
    assert leaked == []
    assert elapsed < 5.0


def test_masking_is_idempotent() -> None:
    for m in generate(200, seed=4):
        once = mask_text(m.text)
        assert mask_text(once) == once
