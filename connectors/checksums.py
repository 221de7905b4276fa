"""The one implementation of the check digits behind Chinese personal numbers (pure functions).

- 居民身份证号 (GB 11643-1999): 6-digit division code, 8-digit birth date, 3-digit sequence, ISO 7064
  MOD 11-2 check character (``0-9`` or ``X``); first-generation 15-digit numbers have no check character.
- bank card numbers: the Luhn (mod 10) check digit.
- mainland mobile numbers: 11 digits starting ``13``-``19``.

The PII masker (``assistant.pii``), contact validation (``connectors.pii``) and the eval's fake data
generator (``evals.fake_pii``) all use these, so a fix lands everywhere at once. Inputs are compact ASCII
strings: callers strip separators and fold full-width digits first.
"""

from __future__ import annotations

import datetime as dt
import re

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
# First two digits of a resident ID: province-level division codes (81-83: HK, Macao, Taiwan residents).
PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42"}
    | {"43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"}
    | {"83"}
)
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")


def _digits(s: str) -> bool:
    return s.isascii() and s.isdigit()


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of a resident ID number."""
    if len(first17) != 17 or not _digits(first17):
        raise ValueError("need exactly 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def id_check_ok(number: str) -> bool:
    """Only the check character of an 18-character ID (``X`` upper or lower case) is right."""
    if len(number) != 18 or not _digits(number[:17]):
        return False
    return id_check_char(number[:17]) == number[17].upper()


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return 1900 <= year <= 2100


def id18_ok(number: str) -> bool:
    """A well-formed 18-character resident ID: province code, real birth date and check character."""
    if not id_check_ok(number) or number[:2] not in PROVINCES:
        return False
    return _valid_date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def id15_ok(number: str) -> bool:
    """A first-generation 15-digit ID (no checksum): province code plus a real 19YYMMDD birth date."""
    if len(number) != 15 or not _digits(number) or number[:2] not in PROVINCES:
        return False
    return _valid_date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))


def luhn_ok(digits: str) -> bool:
    """True when ``digits`` (at least two ASCII digits) passes the Luhn check used by bank cards."""
    if len(digits) < 2 or not _digits(digits):
        return False
    rev = digits[::-1]
    # Every second digit from the right is doubled, minus 9 when above 9: 0-9 -> 0 2 4 6 8 1 3 5 7 9.
    return (sum(map(int, rev[0::2])) + sum(map(int, rev[1::2].translate(_LUHN_DOUBLED)))) % 10 == 0


def luhn_check_digit(partial: str) -> str:
    """The digit that makes ``partial + digit`` pass the Luhn check."""
    if not _digits(partial):
        raise ValueError("digits only")
    return next(d for d in "0123456789" if luhn_ok(partial + d))


def mobile_ok(digits: str) -> bool:
    """An 11-digit mainland mobile number (no country code)."""
    return bool(_MOBILE.fullmatch(digits))
