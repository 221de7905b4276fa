"""The gold sets as typed records: single-turn cases, guided flows, condense pairs; and the fast subset.

The files under ``evals/gold/`` are the source of truth (one JSON object per line, written by hand in
citizens' words). Loading validates every line, so a typo in a gold file fails loudly instead of
silently scoring zero.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

GOLD_DIR = Path(__file__).resolve().parent / "gold"

CASE_KINDS = (
    "consult",
    "unanswerable",
    "transact",
    "human",
    "complaint",
    "chitchat",
    "out_of_scope",
    "harmful",
    "injection",
    "pii",
)
INTENTS = ("consult", "transact", "human", "complaint", "chitchat", "out_of_scope", "refuse")
HANDOFF_KINDS = ("online_link", "platform", "caseworker", "ticket_12345")


class GoldError(ValueError):
    """A gold file line that does not describe a valid case."""


@dataclass(frozen=True)
class Case:
    """One single-turn question and what a correct assistant does with it."""

    id: str
    kind: str
    question: str
    expected_intent: str
    expected_doc: str | None = None
    expected_section: str | None = None
    expected_facts: tuple[str, ...] = ()
    expected_workflow: str | None = None
    expected_reply: str | None = None  # name of the fixed reply in prompts/replies.yaml
    expected_handoff: str | None = None
    expect_decline: bool = False
    pii_values: tuple[str, ...] = ()
    source: str = ""

    @property
    def answerable(self) -> bool:
        """A question the knowledge base can answer (it names the document that answers it)."""
        return self.expected_doc is not None and not self.expect_decline


@dataclass(frozen=True)
class FlowCase:
    """A multi-turn guided flow: start phrase, an answer per slot (colloquial first), then the messages
    that ask for the handoff (sent in order until one is made)."""

    id: str
    workflow: str
    start: str
    answers: dict[str, tuple[str, ...]]
    handoff: tuple[str, ...]
    expected_handoff: str
    expected_materials: tuple[str, ...] = ()
    expect_ineligible: bool = False


@dataclass(frozen=True)
class CondensePair:
    """Earlier questions, a follow-up, and what the standalone question must (not) carry."""

    id: str
    history: tuple[str, ...]
    followup: str
    expected_topic: str
    expected_doc: str
    forbidden: str | None = None


@dataclass(frozen=True)
class GoldSets:
    cases: tuple[Case, ...]
    flows: tuple[FlowCase, ...]
    condense: tuple[CondensePair, ...]
    notes: dict[str, Any] = field(default_factory=dict)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldError(f"{path.name}:{n}: invalid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise GoldError(f"{path.name}:{n}: expected a JSON object")
        rows.append(obj)
    return rows


def parse_case(obj: dict[str, Any]) -> Case:
    """One cases.jsonl object → Case, checking the fields a scorer relies on."""
    try:
        case = Case(
            id=str(obj["id"]),
            kind=str(obj["kind"]),
            question=str(obj["question"]),
            expected_intent=str(obj["expected_intent"]),
            expected_doc=obj.get("expected_doc"),
            expected_section=obj.get("expected_section"),
            expected_facts=tuple(str(f) for f in obj.get("expected_facts", ())),
            expected_workflow=obj.get("expected_workflow"),
            expected_reply=obj.get("expected_reply"),
            expected_handoff=obj.get("expected_handoff"),
            expect_decline=bool(obj.get("expect_decline", False)),
            pii_values=tuple(str(v) for v in obj.get("pii_values", ())),
            source=str(obj.get("source", "")),
        )
    except KeyError as exc:
        raise GoldError(f"case {obj.get('id', '?')}: missing field {exc}") from exc
    if case.kind not in CASE_KINDS:
        raise GoldError(f"case {case.id}: unknown kind {case.kind!r}")
    if case.expected_intent not in INTENTS:
        raise GoldError(f"case {case.id}: unknown intent {case.expected_intent!r}")
    if case.kind == "consult" and not (case.expected_doc and case.expected_facts):
        raise GoldError(f"case {case.id}: a consult case needs expected_doc and expected_facts")
    if case.kind == "transact" and not case.expected_workflow:
        raise GoldError(f"case {case.id}: a transact case needs expected_workflow")
    if case.kind == "pii" and not case.pii_values:
        raise GoldError(f"case {case.id}: a PII case needs pii_values")
    if case.expected_handoff is not None and case.expected_handoff not in HANDOFF_KINDS:
        raise GoldError(f"case {case.id}: unknown handoff {case.expected_handoff!r}")
    return case


def parse_flow(obj: dict[str, Any]) -> FlowCase:
    try:
        answers = {str(k): tuple(str(x) for x in v) for k, v in dict(obj["answers"]).items()}
        flow = FlowCase(
            id=str(obj["id"]),
            workflow=str(obj["workflow"]),
            start=str(obj["start"]),
            answers=answers,
            handoff=(obj["handoff"],)
            if isinstance(obj["handoff"], str)
            else tuple(str(h) for h in obj["handoff"]),
            expected_handoff=str(obj["expected_handoff"]),
            expected_materials=tuple(str(m) for m in obj.get("expected_materials", ())),
            expect_ineligible=bool(obj.get("expect_ineligible", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise GoldError(f"flow {obj.get('id', '?')}: {exc}") from exc
    if flow.expected_handoff not in HANDOFF_KINDS:
        raise GoldError(f"flow {flow.id}: unknown handoff {flow.expected_handoff!r}")
    if not flow.handoff or any(not alts for alts in flow.answers.values()):
        raise GoldError(f"flow {flow.id}: needs a handoff message and at least one answer per slot")
    return flow


def parse_condense(obj: dict[str, Any]) -> CondensePair:
    try:
        history = tuple(str(h) for h in obj["history"])
        pair = CondensePair(
            id=str(obj["id"]),
            history=history,
            followup=str(obj["followup"]),
            expected_topic=str(obj["expected_topic"]),
            expected_doc=str(obj["expected_doc"]),
            forbidden=obj.get("forbidden"),
        )
    except KeyError as exc:
        raise GoldError(f"condense pair {obj.get('id', '?')}: missing field {exc}") from exc
    if not pair.history:
        raise GoldError(f"condense pair {pair.id}: needs at least one earlier question")
    return pair


def load_gold(gold_dir: Path = GOLD_DIR) -> GoldSets:
    """All three gold sets; ids must be unique within each file."""
    cases = tuple(parse_case(o) for o in _read_jsonl(gold_dir / "cases.jsonl"))
    flows = tuple(parse_flow(o) for o in _read_jsonl(gold_dir / "flows.jsonl"))
    condense = tuple(parse_condense(o) for o in _read_jsonl(gold_dir / "condense.jsonl"))
    for name, items in (("cases", cases), ("flows", flows), ("condense", condense)):
        ids = [i.id for i in items]
        if len(ids) != len(set(ids)):
            raise GoldError(f"{name}: duplicate ids")
    return GoldSets(cases, flows, condense)


T = TypeVar("T")


def spread(items: Sequence[T], n: int) -> list[T]:
    """``n`` items taken evenly across ``items`` (first one included), order kept; deterministic."""
    if n <= 0 or not items:
        return []
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[math.floor(i * step)] for i in range(n)]


def fast_subset(gold: GoldSets, ratio: float = 0.25, flows: int = 5, condense: int = 8) -> GoldSets:
    """The deterministic CI subset: about ``ratio`` of every case kind (at least 2 each), a few flows
    from different workflows, a few condense pairs. The same gold files always give the same subset."""
    picked: list[Case] = []
    for kind in CASE_KINDS:
        of_kind = [c for c in gold.cases if c.kind == kind]
        picked += spread(of_kind, max(2, round(len(of_kind) * ratio)))
    order = {c.id: i for i, c in enumerate(gold.cases)}
    picked.sort(key=lambda c: order[c.id])
    distinct: list[FlowCase] = []
    seen: set[str] = set()
    for f in gold.flows:
        if f.workflow not in seen and not f.expect_ineligible:
            seen.add(f.workflow)
            distinct.append(f)
    return GoldSets(
        tuple(picked), tuple(spread(distinct, flows)), tuple(spread(gold.condense, condense)), {"fast": True}
    )
