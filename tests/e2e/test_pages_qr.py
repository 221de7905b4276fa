"""The chat page's own QR encoder (serving/static/qr.js) produces exactly the symbols the reference
`qrcode` package produces, so a phone can scan the handoff link without any third-party JS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qrcode
import qrcode.constants
import qrcode.util

from tests.e2e._pages_fixtures import launch_browser

pytestmark = pytest.mark.e2e

QR_JS = Path(__file__).resolve().parents[2] / "serving" / "static" / "qr.js"
ECL = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M}

TEXTS = [
    "HB20260101-ABCD",
    "https://zwfw.hubei.gov.cn/ehb/item?code=birth&token=" + "eyJ3ZiI6ImJpcnRoIn0." * 12,
    "新生儿出生“一件事”：请在鄂汇办继续办理 ✓",
    "x" * 300,  # version 10+: 16-bit character count
    "政" * 450,  # large version, several blocks of two lengths
    "a" * 1250,  # version 32 (irregular alignment spacing) at ECC L
]


def _reference(text: str, ecl: str, mask: int | None) -> tuple[int, int, list[list[bool]]]:
    qr = qrcode.QRCode(error_correction=ECL[ecl], border=0, mask_pattern=mask)
    qr.add_data(qrcode.util.QRData(text.encode("utf-8"), mode=qrcode.util.MODE_8BIT_BYTE))
    qr.make(fit=True)
    assert qr.version is not None
    return qr.version, qr.mask_pattern if mask is not None else -1, [list(r) for r in qr.get_matrix()]


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with launch_browser() as browser:
        pg = browser.new_page()
        pg.set_content("<!doctype html><meta charset=utf-8><body></body>")
        pg.add_script_tag(path=str(QR_JS))
        yield pg


def _encode(page: Any, text: str, ecl: str, mask: int | None) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        "([t, e, m]) => GovQR.encode(t, m === null ? {ecl: e} : {ecl: e, mask: m})", [text, ecl, mask]
    )
    return result


# Every text at both levels, except the longest at M (it needs more than version 40 holds there).
CASES = [(t, e) for t in TEXTS for e in ("L", "M") if not (e == "M" and len(t) > 1000)]


@pytest.mark.parametrize(("text", "ecl"), CASES, ids=[f"{len(t)}chars-{e}" for t, e in CASES])
def test_every_mask_matches_reference(page: Any, text: str, ecl: str) -> None:
    for mask in range(8):
        version, _, expected = _reference(text, ecl, mask)
        got = _encode(page, text, ecl, mask)
        assert (got["version"], got["mask"]) == (version, mask)
        assert got["modules"] == expected, f"mask {mask} differs"


@pytest.mark.parametrize("text", TEXTS[:5], ids=lambda t: f"{len(t)}chars")
def test_automatic_mask_has_the_lowest_penalty(page: Any, text: str) -> None:
    """The chosen mask scores lowest on the final symbol (ISO rules N1-N4, as `qrcode` scores them).

    `qrcode` itself scores symbols with blank format areas, so its own pick may differ; ours follows
    the standard, and every mask's symbol is checked bit for bit above.
    """
    scores = {}
    for mask in range(8):
        qr = qrcode.QRCode(error_correction=ECL["M"], border=0, mask_pattern=mask)
        qr.add_data(qrcode.util.QRData(text.encode("utf-8"), mode=qrcode.util.MODE_8BIT_BYTE))
        qr.make(fit=True)
        scores[mask] = qrcode.util.lost_point(qr.modules)
    got = _encode(page, text, "M", None)
    assert scores[got["mask"]] == min(scores.values())
    assert got["modules"] == _reference(text, "M", got["mask"])[2]


def test_svg_has_quiet_zone_and_scales(page: Any) -> None:
    view_box = page.evaluate(
        "() => { const s = GovQR.toSvg('HB20260101-ABCD'); document.body.appendChild(s);"
        " return s.getAttribute('viewBox'); }"
    )
    assert view_box == "0 0 33 33"  # 15 bytes at ECC M need version 2 (25 modules) + 4-module quiet zone


def test_too_long_text_is_refused(page: Any) -> None:
    message = page.evaluate(
        "() => { try { GovQR.encode('a'.repeat(4000)); return ''; } catch (e) { return e.name; } }"
    )
    assert message == "RangeError"
