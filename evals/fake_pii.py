"""Fake but well-formed personal data for the PII gold cases.

The PII check only means something when the values look real to the masker: a 身份证号 with a valid GB
11643 check character and birth date, a mobile number with a real prefix, a card number that passes
Luhn. These helpers compute such values deterministically, so the gold file can be re-derived and a unit
test can prove every value in it is well-formed. None of them belongs to a person: the sequence numbers
are made up.
"""

from __future__ import annotations

import datetime as dt

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of a resident ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need exactly 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def make_id_number(region: str, birth: dt.date, sequence: int) -> str:
    """An 18-character ID number: 6-digit region code, birth date, 3-digit sequence, check character."""
    if len(region) != 6 or not region.isdigit():
        raise ValueError("region must be a 6-digit division code")
    if not 0 <= sequence <= 999:
        raise ValueError("sequence must be 0..999")
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_char(first17)


def luhn_check_digit(partial: str) -> str:
    """The digit that makes ``partial + digit`` pass the Luhn check."""
    if not partial.isascii() or not partial.isdigit():
        raise ValueError("digits only")
    total = 0
    # Walking from the right, the digits of ``partial`` sit at odd positions once the check digit is added.
    for i, c in enumerate(reversed(partial)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def make_card_number(prefix: str, length: int, body_seed: int) -> str:
    """A Luhn-valid card number of ``length`` digits starting with ``prefix`` (body from a seed)."""
    if not 12 <= length <= 19 or len(prefix) >= length:
        raise ValueError("length must be 12..19 and longer than the prefix")
    fill = length - 1 - len(prefix)
    body = f"{body_seed:0{fill}d}"[-fill:]
    partial = prefix + body
    return partial + luhn_check_digit(partial)


def compact(value: str) -> str:
    """The digits/letters of a value as a masker would join them (spaces, hyphens, full width removed)."""
    out = []
    for ch in value:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:  # full-width ASCII
            ch = chr(code - 0xFEE0)
        if ch in " -\u3000\u00a0":
            continue
        out.append(ch)
    return "".join(out)
