"""Personal data helpers: validation, masking and the encryption key for data at rest.

Pure functions. ID and phone numbers are stored only Fernet-encrypted and shown only masked; the
key comes from settings (``auth.data_key``) or, when that is empty, is derived from the app secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from cryptography.fernet import Fernet

from connectors.checksums import id_check_ok, mobile_ok


def _compact(value: str) -> str:
    return re.sub(r"[\s\-－]", "", value).translate(str.maketrans("０１２３４５６７８９ｘＸ", "0123456789XX"))


def normalise_phone(value: str) -> str:
    """Return an 11-digit mainland mobile number or raise ``ValueError``."""
    digits = _compact(value)
    if digits.startswith("+86"):
        digits = digits[3:]
    if not mobile_ok(digits):
        raise ValueError("not a mainland mobile phone number")
    return digits


def id_checksum_ok(number: str) -> bool:
    """GB 11643 check digit of an 18-character resident ID number (see ``connectors.checksums``)."""
    return id_check_ok(number)


def normalise_id_number(value: str) -> str:
    """Return an upper-case 18-character resident ID number with a valid check digit, or raise."""
    number = _compact(value).upper()
    if not id_checksum_ok(number):
        raise ValueError("not a valid 18-digit resident ID number")
    return number


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else ("*" * len(phone))


def mask_id_number(number: str) -> str:
    if len(number) < 8:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_name(name: str) -> str:
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def fernet_key(data_key: str, secret_key: str) -> bytes:
    """The Fernet key for data at rest: ``data_key`` when set, else derived from ``secret_key``.

    Derivation keeps the embedded default working with one secret; production sets ``data_key`` so the
    session-signing secret can rotate without making stored contact data unreadable.
    """
    if data_key:
        key = data_key.encode()
        Fernet(key)  # raises ValueError for a malformed key: fail at start-up, not on first case
        return key
    if not secret_key:
        raise ValueError("either a data key or a secret key is needed to encrypt personal data")
    digest = hmac.new(secret_key.encode(), b"govchat.connectors.data-key.v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)
