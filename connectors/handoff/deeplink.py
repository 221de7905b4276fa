"""鄂汇办 / 湖北政务服务网 deep link: item code plus a signed, expiring pre-fill token. No network.

The token is signed, not encrypted (anyone holding the link can read it), so it carries only the
item code and the situational answers — never names, phone or ID numbers.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from connectors import messages as msg
from connectors.handoff.base import require_consent
from connectors.types import Handoff, HandoffKind, HandoffRequest

_SALT = "govchat.prefill.v1"


class TokenInvalid(ValueError):
    """The pre-fill token was tampered with or signed with another key."""


class TokenExpired(TokenInvalid):
    """The pre-fill token is older than its time-to-live."""


class _ClockSigner(TimestampSigner):
    """A TimestampSigner whose clock can be injected, so expiry is testable without sleeping."""

    def __init__(self, *args: Any, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock())


def _fill(template: str, item_code: str, token: str) -> str:
    return template.format(item_code=quote(item_code, safe=""), token=quote(token, safe=""))


class DeepLinkConnector:
    """Builds the H5 URL, the mini-program path and the QR content for an item.

    Args:
        secret: signing key (the app secret or a dedicated one shared with the receiving page).
        h5_url_template / miniprogram_path_template: from settings; ``{item_code}`` and ``{token}``.
        token_ttl_s: how long a link pre-fills the form.
        clock: seconds since the epoch (injectable for tests).
    """

    kind: HandoffKind = "online_link"

    def __init__(
        self,
        *,
        secret: str,
        h5_url_template: str,
        miniprogram_path_template: str,
        token_ttl_s: int = 86400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("a signing secret is required for pre-fill tokens")
        for template in (h5_url_template, miniprogram_path_template):
            try:
                _fill(template, "X", "Y")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"link template {template!r} may only use {{item_code}} and {{token}}"
                ) from exc
        self._h5 = h5_url_template
        self._mp = miniprogram_path_template
        self._ttl = token_ttl_s
        self._clock = clock
        self._serializer = URLSafeTimedSerializer(
            secret, salt=_SALT, signer=_ClockSigner, signer_kwargs={"clock": clock}
        )

    def make_token(self, payload: dict[str, Any]) -> str:
        return self._serializer.dumps(payload)

    def verify_token(self, token: str, *, max_age_s: int | None = None) -> dict[str, Any]:
        """The payload of a valid, unexpired token.

        Raises:
            TokenExpired: older than the TTL. TokenInvalid: bad signature or garbage.
        """
        try:
            data = self._serializer.loads(token, max_age=self._ttl if max_age_s is None else max_age_s)
        except SignatureExpired as exc:
            raise TokenExpired("pre-fill token has expired") from exc
        except BadSignature as exc:
            raise TokenInvalid("pre-fill token is not valid") from exc
        if not isinstance(data, dict):
            raise TokenInvalid("pre-fill token payload is not an object")
        return data

    def links(self, item_code: str, token: str) -> tuple[str, str]:
        return _fill(self._h5, item_code, token), _fill(self._mp, item_code, token)

    async def submit(self, request: HandoffRequest) -> Handoff:
        require_consent(request)
        item_code = request.item_code or request.workflow_id
        payload = {
            "wf": request.workflow_id,
            "code": item_code,
            "rg": request.region_code,
            "ans": request.answers,
            # A one-way reference so the receiving page can tie the visit back to this conversation.
            "sid": hashlib.sha256(request.session_id.encode()).hexdigest()[:16],
        }
        token = self.make_token(payload)
        url, path = self.links(item_code, token)
        expires = datetime.fromtimestamp(self._clock() + self._ttl, tz=UTC)
        message = msg.HANDOFF_LINK.format(
            channel=msg.CHANNEL_NAME, name=request.workflow_name or item_code, hours=max(1, self._ttl // 3600)
        )
        return Handoff(
            kind="online_link",
            message=message,
            reference=item_code,
            url=url,
            miniprogram_path=path,
            qr_text=url,
            expires_at=expires,
        )


def qr_svg(text: str) -> str:
    """The QR code for ``text`` as an SVG document (for pages that show the link as a code)."""
    import qrcode
    import qrcode.image.svg

    img = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue().decode()
