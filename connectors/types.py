"""Domain types owned by the connectors package: pure data, no I/O.

The catalog types (``Slot``, ``MaterialRule``, ``Workflow``) are what the YAML files under
``connectors/catalog/`` validate into. ``FlowState`` is what the turn pipeline keeps in the session
store between turns; ``FlowStep`` is what one turn of the guided flow returns.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.pii import mask_id_number, mask_name, mask_phone, normalise_id_number, normalise_phone

Scalar = str | bool | int | float
SlotKind = Literal["choice", "yesno", "date", "region", "text", "number"]
HandoffKind = Literal["online_link", "platform", "caseworker", "ticket_12345"]
HANDOFF_KINDS: tuple[HandoffKind, ...] = ("online_link", "platform", "caseworker", "ticket_12345")
StepKind = Literal["question", "reask", "checklist", "cancelled", "digression", "ineligible"]
FlowStatus = Literal["active", "completed", "cancelled", "ineligible"]
Mark = Literal["必要", "容缺", "非必要", "可免提交", "视情况"]

_ID = r"^[a-z][a-z0-9_]*$"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Frozen):
    """One option of a choice slot: a stable ``value`` (stored), a label (shown) and synonyms (parsed)."""

    value: str = Field(pattern=_ID)
    label: str = Field(min_length=1)
    synonyms: list[str] = Field(default_factory=list)
    # Free text naming a place in Hubei (武汉, 孝感孝南区 …) picks this option (e.g. 湖北户籍, 省内).
    hubei_place: bool = False


class SlotValidation(_Frozen):
    """Per-kind checks applied to every parsed value, whether it came from the rules or the LLM."""

    min: float | None = None  # number
    max: float | None = None  # number
    integer: bool = False  # number
    not_future: bool = False  # date
    max_days_ago: int | None = Field(default=None, ge=0)  # date
    not_before: date | None = None  # date
    region_level: Literal["city", "district", "any"] = "city"  # region
    pattern: str | None = None  # text
    min_length: int = Field(default=1, ge=0)  # text
    max_length: int = Field(default=200, ge=1)  # text
    message: str = ""  # re-ask text used instead of the generic one

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from exc
        return v


class Condition(_Frozen):
    """A tiny, safe predicate over one slot value: exactly one operator, never ``eval``.

    ``days_ago_gt`` holds for a date slot whose value lies more than N days before today.
    A condition on a slot that has no answer is false.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    slot: str = Field(pattern=_ID)
    equals: Scalar | None = None
    not_equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    days_ago_gt: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        ops = [
            n
            for n in ("equals", "not_equals", "in_", "not_in", "days_ago_gt")
            if getattr(self, n) is not None
        ]
        if len(ops) != 1:
            raise ValueError(
                "a condition needs exactly one of equals / not_equals / in / not_in / days_ago_gt"
            )
        return self

    @property
    def operator(self) -> tuple[str, Any]:
        for name in ("equals", "not_equals", "in_", "not_in", "days_ago_gt"):
            value = getattr(self, name)
            if value is not None:
                return name.rstrip("_"), value
        raise AssertionError("unreachable: validated to have one operator")

    def values(self) -> list[Scalar]:
        """The literal values this condition compares against (for cross-reference checks)."""
        op, value = self.operator
        if op == "days_ago_gt":
            return []
        return list(value) if isinstance(value, list) else [value]


def _as_list(v: Any) -> Any:
    return [v] if isinstance(v, dict) else v


class MaterialRule(_Frozen):
    """Include the guide material ``material`` when all conditions in ``when`` hold.

    A material named by no rule is always included; one named by several rules is included when any
    of them holds.
    """

    material: str = Field(min_length=1)
    when: list[Condition] = Field(min_length=1)

    @field_validator("when", mode="before")
    @classmethod
    def _wrap(cls, v: Any) -> Any:
        return _as_list(v)


class EligibilityRule(_Frozen):
    """When all conditions hold, the citizen is outside the bundle's standard situation."""

    when: list[Condition] = Field(min_length=1)
    message: str = Field(min_length=1)

    @field_validator("when", mode="before")
    @classmethod
    def _wrap(cls, v: Any) -> Any:
        return _as_list(v)


class Slot(_Frozen):
    """One situational question of a guided flow."""

    id: str = Field(pattern=_ID)
    kind: SlotKind
    label: str = Field(min_length=1)  # short name used in summaries, e.g. 户籍所在地
    prompt: str = Field(min_length=1)
    help: str = ""  # added to the re-ask message
    choices: list[Choice] = Field(default_factory=list)
    required: bool = True
    validation: SlotValidation = Field(default_factory=SlotValidation)
    ask_when: list[Condition] = Field(default_factory=list)
    # Reading a fact from any message, not only from the answer to this question (connectors.facts):
    # phrases that state the fact (yes/no slots), and the units that mark a number (number slots).
    yes_cues: list[str] = Field(default_factory=list)
    no_cues: list[str] = Field(default_factory=list)
    units: list[str] = Field(default_factory=list)

    @field_validator("ask_when", mode="before")
    @classmethod
    def _wrap(cls, v: Any) -> Any:
        return _as_list(v)

    @model_validator(mode="after")
    def _choices_match_kind(self) -> Slot:
        if self.kind == "choice":
            if len(self.choices) < 2:
                raise ValueError("a choice slot needs at least two choices")
            values = [c.value for c in self.choices]
            if len(set(values)) != len(values):
                raise ValueError("choice values must be unique")
        elif self.choices:
            raise ValueError(f"only choice slots take choices (kind is {self.kind})")
        return self

    def choice(self, value: str) -> Choice | None:
        return next((c for c in self.choices if c.value == value), None)


class Workflow(_Frozen):
    """One 一件事 as a guided flow, linked to its service guide by id."""

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    guide_id: str = Field(pattern=_ID)
    item_code: str = ""  # empty: taken from the guide at load time
    keywords: list[str] = Field(default_factory=list)  # phrases that identify this item in a message
    intro: str = Field(min_length=1)  # said once when the flow starts
    slots: list[Slot] = Field(min_length=1)
    material_rules: list[MaterialRule] = Field(default_factory=list)
    eligibility: list[EligibilityRule] = Field(default_factory=list)
    handoff: list[HandoffKind] = Field(min_length=1)

    @field_validator("slots")
    @classmethod
    def _unique_slots(cls, v: list[Slot]) -> list[Slot]:
        ids = [s.id for s in v]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate slot ids: {dupes}")
        return v

    @field_validator("handoff")
    @classmethod
    def _unique_handoff(cls, v: list[HandoffKind]) -> list[HandoffKind]:
        if len(set(v)) != len(v):
            raise ValueError("duplicate handoff options")
        return v

    def slot(self, slot_id: str) -> Slot | None:
        return next((s for s in self.slots if s.id == slot_id), None)


class FlowState(_Frozen):
    """Everything the engine needs between turns; round-trips through ``to_dict``/``from_dict``."""

    version: Literal[1] = 1
    workflow_id: str
    status: FlowStatus = "active"
    answers: dict[str, Scalar | None] = Field(default_factory=dict)
    pending: str | None = None
    attempts: int = Field(default=0, ge=0)  # failed answers to the pending question in a row

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Any) -> FlowState:
        """Rebuild a state from the session store; raises ``pydantic.ValidationError`` on bad data."""
        return cls.model_validate(data)


class ChecklistItem(_Frozen):
    name: str  # Material.name, verbatim
    mark: Mark
    text: str  # Material.render(), verbatim
    exemption: str = ""  # Material.exemption, verbatim


class Checklist(_Frozen):
    """The citizen's personal checklist. Every fact string is copied verbatim from the guide."""

    workflow_id: str
    workflow_name: str
    guide_id: str
    item_code: str
    situation: list[tuple[str, str]]  # (slot label, answer as shown)
    bundled: str = ""  # the guide's 包含事项, verbatim: what one application covers
    materials: list[ChecklistItem]
    not_needed: list[str]  # guide materials that the citizen's situation does not call for
    materials_note: str = ""  # UNVERIFIED_NOTE when the guide marks materials as unverified
    conditions: str
    steps: str
    time_limit: str
    visits: str
    channels: str
    fees: str
    departments: str
    handoff: list[HandoffKind]
    notice: str = ""  # the guide's sample-data notice

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def render(self) -> str:
        from connectors.checklist import render_checklist

        return render_checklist(self)


class FlowStep(_Frozen):
    """What one turn of a guided flow returns to the caller."""

    kind: StepKind
    workflow_id: str
    workflow_name: str
    prompt: str  # the complete text to show the citizen
    notice: str = ""  # acknowledgement or validation message (already part of prompt)
    slot: str | None = None  # the slot being asked
    choices: list[str] = Field(default_factory=list)  # labels, for quick-reply buttons
    checklist: Checklist | None = None
    handoff: list[HandoffKind] = Field(default_factory=list)  # options to offer now
    question: str = ""  # digression: the citizen's question for the caller to answer
    progress: tuple[int, int] = (0, 0)  # (answered, total applicable)


AppealType = Literal["咨询", "求助", "投诉", "举报", "建议"]
CaseKind = Literal["caseworker", "ticket_12345", "platform"]
CaseStatus = Literal["open", "taken", "replied", "closed"]
AuthorRole = Literal["citizen", "caseworker", "system"]


class ContactInfo(_Frozen):
    """Personal data a citizen gives for a handoff. Only ever stored encrypted, shown masked."""

    name: str = Field(default="", max_length=50)
    phone: str = ""
    id_number: str = ""

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return normalise_phone(v) if v else v

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, v: str) -> str:
        return normalise_id_number(v) if v else v

    @property
    def is_empty(self) -> bool:
        return not (self.name or self.phone or self.id_number)

    def masked(self) -> str:
        parts = [mask_name(self.name), mask_phone(self.phone), mask_id_number(self.id_number)]
        return " ".join(p for p in parts if p)


class HandoffRequest(_Frozen):
    """What the pipeline hands to any ``HandoffConnector``."""

    session_id: str = Field(min_length=1)
    workflow_id: str = ""
    workflow_name: str = ""
    item_code: str = ""
    region_code: str = ""
    answers: dict[str, Scalar | None] = Field(default_factory=dict)
    checklist: Checklist | None = None
    summary: str = ""  # transcript summary (already PII-masked by the guard)
    content: str = ""  # 12345: the citizen's 诉求 in their words (masked)
    appeal_type: AppealType = "求助"
    contact: ContactInfo | None = None
    consent: bool = False  # the citizen explicitly agreed to hand over the contact data
    priority: int = Field(default=1, ge=0, le=3)


class Handoff(_Frozen):
    """The result of a handoff, shown to the citizen."""

    kind: HandoffKind
    message: str
    reference: str = ""  # case number, 申办流水号 or item code (online link)
    case_no: str = ""  # the local case a citizen can query with verify_code
    url: str = ""
    miniprogram_path: str = ""
    qr_text: str = ""
    verify_code: str = ""  # shown once so the citizen can query status later; stored only hashed
    expires_at: datetime | None = None
    sandbox: bool = False


class Case(_Frozen):
    """The public (masked) view of a handed-off case; it has no field for encrypted data."""

    case_no: str
    kind: CaseKind
    workflow_id: str
    status: CaseStatus
    priority: int
    summary: str
    answers: dict[str, Any]
    checklist: dict[str, Any] | None
    contact_masked: str
    appeal_type: str
    external_ref: str
    session_id: str = ""
    created_at: datetime
    updated_at: datetime
    assigned_to: str | None

    def to_public(self) -> dict[str, Any]:
        # The session id lets its holder read and continue the citizen's chat: never shown in views.
        return self.model_dump(mode="json", exclude={"session_id"})


class CaseMessage(_Frozen):
    case_no: str
    role: AuthorRole
    text: str
    created_at: datetime


class CaseStatusView(_Frozen):
    """What a citizen sees when asking for a case's status with its number and verification code."""

    case_no: str
    kind: CaseKind
    status: CaseStatus
    status_label: str
    updated_at: datetime
    last_reply: str | None = None
    external_ref: str = ""
