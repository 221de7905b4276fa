"""PII detection and masking: what must be hidden before text reaches the LLM or a log, and what must not."""

from __future__ import annotations

import time

import pytest

from assistant.pii import PIIKind, find_pii, luhn_ok, mask_pii, normalize_width, validate_id_number

pytestmark = pytest.mark.unit

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def with_check(first17: str) -> str:
    """Complete 17 digits into a valid 18-character ID (independent re-implementation of GB 11643)."""
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def with_luhn(prefix: str) -> str:
    return next(prefix + d for d in "0123456789" if luhn_ok(prefix + d))


ID = with_check("42010219900101123")  # 武汉市江岸区, born 1990-01-01
ID_X = next(i for i in (with_check(f"42011119851231{n:03d}") for n in range(100)) if i.endswith("X"))
ID_BAD_CHECK = ID[:17] + ("0" if ID[17] != "0" else "1")
ID_BAD_DATE = with_check("42010219901301123")  # month 13: checksum fine, date impossible
ID_BAD_PROVINCE = with_check("99010219900101123")
CARD19 = with_luhn("622202123456789012")
CARD16 = with_luhn("622848001234567")
CARD_BAD = CARD16[:-1] + str((int(CARD16[-1]) + 1) % 10)
FW = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def test_id_checksum_matches_the_standard_example() -> None:
    # GB 11643 worked example: 11010519491231002X.
    assert validate_id_number("11010519491231002X")
    assert validate_id_number("11010519491231002x")
    assert not validate_id_number("110105194912310021")


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (ID, True),
        (ID_X, True),
        (f"{ID[:6]} {ID[6:14]} {ID[14:]}", True),
        (f"{ID[:6]}-{ID[6:14]}-{ID[14:]}", True),
        (ID.translate(FW), True),
        (ID_BAD_CHECK, False),
        (ID_BAD_DATE, False),
        (ID_BAD_PROVINCE, False),
        (ID[:17], False),
        (ID + "1", False),
        ("", False),
        ("11420000MB1234567X", False),
        ("4201021990010112३६", False),  # Devanagari digits are not ID digits
        ("420102900101123", False),  # 15-digit first-generation numbers are expired, not valid
    ],
)
def test_validate_id_number(value: str, valid: bool) -> None:
    assert validate_id_number(value) is valid


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("79927398713", True),
        ("4111 1111 1111 1111", True),
        (CARD19, True),
        (CARD_BAD, False),
        ("79927398710", False),
        ("", False),
        ("7", False),
        ("4111-1111-1111-111a", False),
    ],
)
def test_luhn(value: str, ok: bool) -> None:
    assert luhn_ok(value) is ok


@pytest.mark.parametrize(
    ("text", "masked", "kinds"),
    [
        (f"我的身份证号是{ID}，请帮我查", f"我的身份证号是4201**********{ID[-4:]}，请帮我查", ("id_number",)),
        (f"{ID_X.lower()}号", f"{ID_X[:4]}**********{ID_X[-4:]}号", ("id_number",)),
        (
            f"身份证 {ID[:6]} {ID[6:14]} {ID[14:]} 谢谢",
            f"身份证 4201**********{ID[-4:]} 谢谢",
            ("id_number",),
        ),
        (f"证件号：{ID.translate(FW)}。", f"证件号：4201**********{ID[-4:]}。", ("id_number",)),
        ("老身份证420102900101123还能用吗", "老身份证4201*******1123还能用吗", ("id_number",)),
        ("电话13812345678", "电话138****5678", ("phone",)),
        ("电话138-1234-5678。", "电话138****5678。", ("phone",)),
        ("电话 138 1234 5678 3月5日", "电话 138****5678 3月5日", ("phone",)),
        ("+86 138 1234 5678", "+86 138****5678", ("phone",)),
        ("0086-13812345678", "+86 138****5678", ("phone",)),
        ("(+86)13812345678", "(+86)138****5678", ("phone",)),
        ("手机：１３８１２３４５６７８", "手机：138****5678", ("phone",)),
        ("1 3 8 1 2 3 4 5 6 7 8", "138****5678", ("phone",)),
        (f"卡号{CARD19}", f"卡号{'*' * 15}{CARD19[-4:]}", ("bank_card",)),
        (
            f"卡号 {CARD16[:4]} {CARD16[4:8]} {CARD16[8:12]} {CARD16[12:]} 共20元",
            f"卡号 {'*' * 12}{CARD16[-4:]} 共20元",
            ("bank_card",),
        ),
        # A dot is a separator unless it makes a decimal amount: a number after "3." is still a number.
        ("第3.13812345678节", "第3.138****5678节", ("phone",)),
        ("邮箱 zhang.san@example.com.", "邮箱 z***@example.com.", ("email",)),
        ("13812345678@qq.com", "1***@qq.com", ("email",)),
        ("联系ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｎ", "联系z***@example.cn", ("email",)),
        (
            f"我叫张三，身份证{ID}，手机13912345678，邮箱a@b.cn",
            f"我叫张三，身份证4201**********{ID[-4:]}，手机139****5678，邮箱a***@b.cn",
            ("id_number", "phone", "email"),
        ),
    ],
)
def test_masks_personal_data_keeping_a_hint(text: str, masked: str, kinds: tuple[str, ...]) -> None:
    result = mask_pii(text)
    assert result.text == masked
    assert result.kinds == kinds
    assert ID not in result.text and "13812345678" not in result.text


@pytest.mark.parametrize(
    "text",
    [
        "20240101",
        "办理日期 2024-01-01，金额 12345.67 元",
        "事项编码11420000MB1234567X",
        "统一社会信用代码 91420100MA4KXXXX1X",
        "511A0138000000-511602000000-000-115113010833722043-1-00",
        ID_BAD_CHECK,
        ID_BAD_DATE,
        CARD_BAD,
        "1700000000000",  # a millisecond timestamp passes Luhn by chance? never a card: starts with 1
        "办件流水号 2024010112345678901",
        "订单号ABC13812345678",
        "13812345678ABC",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "12812345678",  # no 12x mobile prefix
        "金额13812345678.50元",
        "1,380,000,000 元",
        "QQ 123456789",
        "邮编 430000 电话区号 027",
        "",
        "   ",
    ],
)
def test_leaves_ordinary_numbers_alone(text: str) -> None:
    assert mask_pii(text).text == text
    assert find_pii(text) == ()


def test_findings_point_at_the_original_text() -> None:
    text = f"号码：{ID.translate(FW)} 与 13812345678"
    findings = find_pii(text)
    assert [f.kind for f in findings] == [PIIKind.ID_NUMBER, PIIKind.PHONE]
    assert normalize_width(text[findings[0].start : findings[0].end]) == ID
    assert text[findings[1].start : findings[1].end] == "13812345678"


def test_digits_inside_a_longer_number_are_not_masked() -> None:
    # The ID sits inside a 20-digit run: no whole group forms an ID, so nothing is hidden.
    assert mask_pii(f"12{ID}").text == f"12{ID}"
    assert mask_pii(f"{ID}99").text == f"{ID}99"


def test_two_adjacent_numbers_separated_by_space_are_both_masked() -> None:
    result = mask_pii("13812345678 13987654321")
    assert result.text == "138****5678 139****4321"
    assert len(result.findings) == 2


def test_full_width_text_outside_findings_is_untouched() -> None:
    text = "ＡＢＣ，请问１２３号窗口在哪？"
    assert mask_pii(text).text == text


def test_hostile_long_inputs_are_fast() -> None:
    hostile = [
        "1 " * 50_000,
        "1-" * 50_000,
        "a" * 100_000 + "@",
        "a." * 50_000 + "@x",
        ("x@" + "a." * 30) * 2_000,
        "9" * 100_000,
    ]
    start = time.perf_counter()
    for text in hostile:
        mask_pii(text)
    assert time.perf_counter() - start < 5.0
