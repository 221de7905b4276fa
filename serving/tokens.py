"""Signed citizen session tokens (itsdangerous).

The pipeline keys memory by a plain session id; clients only ever see it signed, so a client cannot
pick or guess another citizen's session. A token that does not verify simply starts a fresh session.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid

from itsdangerous import BadSignature, URLSafeSerializer

_SID = re.compile(r"^[0-9a-f]{32}$")


class SessionTokens:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="govchat.citizen-session.v1")
        self._secret = secret.encode("utf-8")

    def sign(self, session_id: str) -> str:
        return self._serializer.dumps(session_id)

    def verify(self, token: str | None) -> str | None:
        """The session id inside a valid token; None for a missing, forged or malformed one."""
        if not token or len(token) > 200:
            return None
        try:
            value = self._serializer.loads(token)
        except BadSignature:
            return None
        return value if isinstance(value, str) and _SID.match(value) else None

    def resolve(self, token: str | None) -> tuple[str, str]:
        """(session id, token) for a request: the given session when valid, else a fresh one."""
        sid = self.verify(token)
        if sid is None:
            sid = uuid.uuid4().hex
            return sid, self.sign(sid)
        return sid, token or self.sign(sid)

    def for_client_user(self, caller: str, user: str) -> str:
        """A stable session id for an OpenAI-API ``user`` string *of one authenticated caller*.

        Keyed by the server secret and scoped to ``caller`` (the API key's account), so a client can
        never name another caller's session by sending the same ``user`` value.
        """
        message = b"openai-user:" + caller.encode("utf-8") + b"\x00" + user.encode("utf-8")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]
