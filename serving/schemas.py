"""Request bodies of the HTTP API (responses are the domain objects' own JSON)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.types import ContactInfo


def without_nul(value: Any) -> Any:
    """``value`` with every NUL character removed from its strings (keys included), recursively.

    NUL carries no meaning in any text govchat accepts, and PostgreSQL refuses it in text columns:
    it is dropped at the edge so no identifier or message can reach the database with one.
    """
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    return value


class _NoNul(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _drop_nul(cls, data: Any) -> Any:
        return without_nul(data)


class _Body(_NoNul):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


class ChatRequest(_Body):
    session: str | None = Field(default=None, max_length=200)
    # The guard enforces the product's length limit with a friendly reply; this only bounds abuse.
    message: str = Field(max_length=20_000)


class FeedbackRequest(_Body):
    # The session that owns the turn: only its citizen may rate it.
    session: str = Field(min_length=1, max_length=200)
    turn_id: str = Field(min_length=1, max_length=64)
    stars: int | None = Field(default=None, ge=1, le=5)
    level: Literal["非常满意", "满意", "基本满意", "不满意", "非常不满意"] | None = None
    comment: str = Field(default="", max_length=1000)


class HandoffRequestBody(_Body):
    session: str | None = Field(default=None, max_length=200)
    kind: Literal["online_link", "caseworker", "ticket_12345", "platform"]
    consent: bool = False
    contact: ContactInfo | None = None
    content: str = Field(default="", max_length=1000)  # what a 12345 ticket is about, in the citizen's words


class CaseStatusRequest(_Body):
    case_no: str = Field(min_length=1, max_length=32)
    verify_code: str = Field(min_length=1, max_length=16)


class LoginRequest(_Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class ReplyRequest(_Body):
    text: str = Field(min_length=1, max_length=4000)


class ContactRevealRequest(_Body):
    reason: str = Field(min_length=2, max_length=200)  # why the contact is needed: kept in the audit trail


class FollowupActionRequest(_Body):
    text: str = Field(default="", max_length=4000)


class SynonymsRequest(_Body):
    text: str = Field(max_length=1_000_000)


class OpenAIMessage(_NoNul):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return "".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


class ChatCompletionRequest(_NoNul):
    model_config = ConfigDict(extra="allow")

    model: str = "govchat"
    messages: list[OpenAIMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    user: str | None = Field(default=None, max_length=256)
    metadata: dict[str, Any] | None = None

    def question(self) -> str | None:
        for m in reversed(self.messages):
            if m.role == "user":
                return m.text()
        return None
