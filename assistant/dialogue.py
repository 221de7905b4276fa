"""Dialogue state kept per session, and the decision of what a turn does (pure).

State lives in ``SessionState``: ``topic`` is the item in focus (a 一件事 id); ``data`` holds the rest under
``"dialogue"``: the last intent and act, and per item the facts the citizen stated so far with the turn
that stated them. The focus changes only when a message clearly names another item (a catalog term, or
the item model above ``focus_switch``); elliptical turns ("那要多久", "帮我办", "好 提交吧") resolve
against it.

``decide`` turns an ``Understanding`` plus this state into one ``Action`` — one handler per action in the
pipeline. It holds no I/O, so every rule here is unit-tested on plain values.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from assistant.memory.base import SessionState
from assistant.nlu.understand import Understanding
from assistant.types import Intent

ActionKind = Literal[
    "consult", "start_flow", "submit", "which_item", "human", "complaint", "refuse", "chitchat",
    "out_of_scope", "cancel", "advance", "cancel_flow", "submit_flow", "offer_flow",
]  # fmt: skip


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    item: str | None = None
    intent: Intent = Intent.CONSULT
    confidence: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class Thresholds:
    act: float = 0.5  # a submit / cancel act counts from here
    oos: float = 0.5  # below this an out-of-scope reading falls back to consult (retrieval then decides)
    safety: float = 0.45  # human overrides the item flow from here
    refuse: float = 0.45  # a refusal needs this probability …
    refuse_margin: float = 0.1  # … and this lead over reading it as a lawful question
    start_item: float = 0.3  # a request to start takes the item model's best guess from here
    complaint: float = 0.65  # a 12345 ticket is offered from here, when no 一件事 is named
    statement_override: float = 0.85  # a statement ("店里四十来平") is a complaint or refusal only above this
    keep_focus: float = 0.2  # a named item does not take the focus while the focus item keeps this much
    focus_switch: float = 0.6  # the item model's probability that moves the focus to another item


class Dialogue:
    """Typed access to the dialogue part of a session state."""

    def __init__(self, state: SessionState) -> None:
        self.state = state
        self._d: dict[str, Any] = state.data.setdefault("dialogue", {})

    @property
    def focus(self) -> str | None:
        return self.state.topic

    def set_focus(self, item: str | None) -> None:
        if item and item != self.state.topic:
            self.state.topic = item
            self._d["focus_turns"] = 0

    def facts(self, item: str) -> dict[str, Any]:
        return dict((self._d.get("facts") or {}).get(item) or {})

    def remember(self, item: str, facts: dict[str, Any], turn_id: str, *, correcting: bool = False) -> None:
        """Facts stated now fill what is not yet known; a known fact changes only when the message is a
        correction ("不对 是这个月初生的"): an aside such as "家里就我一个" must not overwrite the place
        of death the citizen gave earlier."""
        store = self._d.setdefault("facts", {})
        known = store.setdefault(item, {})
        new = {k: v for k, v in facts.items() if correcting or k not in known}
        if not new:
            return
        known.update(new)
        sources = self._d.setdefault("fact_turns", {}).setdefault(item, {})
        sources.update(dict.fromkeys(new, turn_id))

    def told_about(self, item: str) -> bool:
        """The citizen already talked about this item in earlier turns (facts, or two turns in focus)."""
        return bool(self.facts(item)) or int(self._d.get("focus_turns", 0)) >= 2

    def count_turn(self) -> None:
        self._d["focus_turns"] = int(self._d.get("focus_turns", 0)) + 1 if self.state.topic else 0

    def forget_facts(self, item: str) -> None:
        (self._d.get("facts") or {}).pop(item, None)

    def note(self, intent: Intent, act: str) -> None:
        self._d["last_intent"] = intent.value
        self._d["last_act"] = act

    @property
    def last_intent(self) -> str | None:
        value = self._d.get("last_intent")
        return str(value) if value else None


def resolve_item(
    u: Understanding,
    focus: str | None,
    th: Thresholds,
    nested: Mapping[str, Collection[str]] | None = None,
) -> str | None:
    """The item this turn is about: with nothing in focus, the item the message names; with an item in
    focus, another item takes over only when the item model is sure of it too. "伢的社保卡能一起弄不"
    names 社保卡, but while a birth is being talked about it still means the birth bundle.

    A statement ("娃是2019年5月生的" while school entry is in focus) moves the focus only when it names
    another item by a catalog term; the item model alone reading it as another item is not enough.
    ``nested`` maps an item to the items its own bundle names (``ItemMatcher.covered_by``): a statement
    that names one of those ("他还有驾照 社保卡 公积金" while 身后 is in focus) tells more about the focus
    item and never moves the focus; a question or a request to start still can."""
    if u.item is None or u.item == focus:
        return focus
    if focus is None:
        return u.item
    if u.item_probs.get(focus, 0.0) >= th.keep_focus:
        return focus
    if is_statement(u) and (u.item_source != "named" or (nested and u.item in nested.get(focus, ()))):
        return focus
    return u.item if u.item_probs.get(u.item, 0.0) >= th.focus_switch else focus


def is_statement(u: Understanding) -> bool:
    """The citizen tells something (a fact, a correction, yes or no) rather than asking or requesting."""
    return u.act in ("inform", "correct", "affirm", "deny") and not u.question


def decide(
    u: Understanding,
    dialogue: Dialogue,
    *,
    in_flow: str | None,
    has_flow: Callable[[str], bool],
    th: Thresholds | None = None,
    nested: Mapping[str, Collection[str]] | None = None,
    gave_facts: bool = False,
) -> Action:
    """What this turn does. ``in_flow`` is the workflow id of an active guided flow, if any;
    ``gave_facts``: the message states facts the item in focus asks about (where, who, when …)."""
    th = th or Thresholds()
    item = resolve_item(u, dialogue.focus, th, nested)
    act_sure = u.act_p >= th.act
    statement = is_statement(u)
    # Safety and people first: they hold inside a flow too.
    p_refuse = u.p(Intent.REFUSE)
    refuse = p_refuse >= th.refuse and p_refuse - u.p(Intent.CONSULT) >= th.refuse_margin
    if refuse and (not statement or p_refuse >= th.statement_override):
        return Action("refuse", item, Intent.REFUSE, p_refuse, "refuse")
    if u.intent is Intent.HUMAN and u.intent_p >= th.safety:
        return Action("human", item, Intent.HUMAN, u.intent_p, "human")
    complaint = u.intent is Intent.COMPLAINT and u.intent_p >= th.complaint
    complaint = complaint and (not statement or u.intent_p >= th.statement_override)
    # In a conversation about an item, a message reads as a complaint only when the model is sure of it.
    complaint = complaint and (dialogue.focus is None or u.intent_p >= th.statement_override)
    if complaint and not in_flow and u.item_source != "named":
        return Action("complaint", None, Intent.COMPLAINT, u.intent_p, "complaint")
    if in_flow:
        named_other = u.item not in (None, in_flow) and resolve_item(u, in_flow, th, nested) != in_flow
        if u.act == "cancel" and act_sure:
            return Action("cancel_flow", in_flow, Intent.TRANSACT, u.act_p, "cancel act")
        if u.act in ("submit", "start") and act_sure and not named_other:
            return Action("submit_flow", in_flow, Intent.TRANSACT, u.act_p, "submit act")
        if named_other and u.intent is Intent.TRANSACT and u.item and has_flow(u.item):
            return Action("start_flow", u.item, Intent.TRANSACT, u.intent_p, "switch item")
        return Action("advance", in_flow, Intent.TRANSACT, u.act_p, "flow reply")
    if u.act == "cancel" and act_sure and u.intent is not Intent.CONSULT:
        return Action("cancel", item, Intent.TRANSACT, u.act_p, "cancel, no flow")
    if u.act == "submit" and act_sure:
        if item and has_flow(item):
            return Action("submit", item, Intent.TRANSACT, u.act_p, "submit act")
        return Action("which_item", None, Intent.TRANSACT, u.act_p, "submit, no item")
    go_ahead = u.intent is Intent.TRANSACT and u.act == "start" and item and item == dialogue.focus
    if go_ahead and item and has_flow(item) and dialogue.told_about(item):
        # "好 帮我申请" after telling the situation over several turns: do it now, do not start over.
        return Action("submit", item, Intent.TRANSACT, u.intent_p, "go ahead after the situation")
    # The act model reads a request to start ("我要办…") that the intent model left at consult.
    starts = u.act == "start" and act_sure and not u.question and u.intent is Intent.CONSULT
    if u.intent is Intent.TRANSACT or (starts and item is not None and has_flow(item)):
        if item is None and u.item_probs:
            guess, p = max(u.item_probs.items(), key=lambda kv: kv[1])
            item = guess if p >= th.start_item and has_flow(guess) else None
        if item and has_flow(item):
            return Action("start_flow", item, Intent.TRANSACT, max(u.intent_p, u.act_p), "transact")
        return Action("which_item", item, Intent.TRANSACT, u.intent_p, "transact, no item")
    if statement and u.intent is not Intent.TRANSACT and item and has_flow(item) and (u.item or gave_facts):
        # The citizen tells their situation (naming the item, or giving facts the item in focus asks
        # about): note it and offer the guided flow, not a search answer.
        return Action("offer_flow", item, Intent.CONSULT, u.act_p, "situation told")
    if u.intent is Intent.CHITCHAT:
        return Action("chitchat", None, Intent.CHITCHAT, u.intent_p, "chitchat")
    if u.intent is Intent.OUT_OF_SCOPE and u.intent_p >= th.oos and u.item is None:
        # Retrieval still has the last word: a question the knowledge base answers is answered.
        return Action("out_of_scope", None, Intent.OUT_OF_SCOPE, u.intent_p, "out of scope")
    return Action("consult", item, Intent.CONSULT, u.intent_p, "consult")
