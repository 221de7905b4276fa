"""Fake but well-formed personal data for the PII gold cases.

The PII check only means something when the values look real to the masker: a 身份证号 with a valid GB
11643 check character and birth date, a mobile number with a real prefix, a card number that passes
Luhn. These helpers compute such values deterministically, so the gold file can be re-derived and a unit
test can prove every value in it is well-formed. None of them belongs to a person: the sequence numbers
are made up.
"""

from __future__ import annotations

import datetime as dt

from connectors.checksums import id_check_char, luhn_check_digit

__all__ = ["compact", "id_check_char", "luhn_check_digit", "make_card_number", "make_id_number"]


def make_id_number(region: str, birth: dt.date, sequence: int) -> str:
    """An 18-character ID number: 6-digit region code, birth date, 3-digit sequence, check character."""
    if len(region) != 6 or not region.isdigit():
        raise ValueError("region must be a 6-digit division code")
    if not 0 <= sequence <= 999:
        raise ValueError("sequence must be 0..999")
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_char(first17)


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
