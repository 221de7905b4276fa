"""Drives the real assistant through the gold sets: single turns, guided flows, condense pairs.

Every turn goes through ``Assistant.turn`` exactly as the API would send it, in its own session, and
what it left behind (audit row, session history, LLM requests) is collected for the PII check.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from evals.cases import Case, CondensePair, FlowCase
from evals.scoring import CitedPassage, TurnRecord
from serving.services import Services

log = logging.getLogger(__name__)
MAX_FLOW_TURNS = 16


def _session(prefix: str) -> str:
    return f"eval-{prefix}-{uuid.uuid4().hex[:10]}"


async def _passages(services: Services, chunk_ids: list[str]) -> dict[str, str]:
    if not chunk_ids:
        return {}
    live = await anyio.to_thread.run_sync(services.kb.registry.fetch_live_chunks, chunk_ids)
    return {cid: chunk.text for cid, (chunk, _status) in live.items()}


def _record(result: Any, retrieved: list[str], passages: dict[str, str], wall_ms: float) -> TurnRecord:
    timings = dict(result.timings_ms)
    timings["wall"] = wall_ms
    return TurnRecord(
        answer=result.answer,
        intent=result.intent,
        mode=result.mode,
        workflow_id=(result.workflow or {}).get("id"),
        citations=tuple(CitedPassage(c.n, c.chunk_id, c.doc_id, c.section) for c in result.citations),
        retrieved=tuple(retrieved),
        passages=passages,
        handoff_kind=(result.handoff or {}).get("kind"),
        standalone=result.question,
        timings_ms=timings,
    )


@dataclass
class CaseRun:
    record: TurnRecord
    sinks: dict[str, str] = field(default_factory=dict)  # where personal data could have ended up


async def run_case(services: Services, case: Case, sent_text: Callable[[], str] | None = None) -> CaseRun:
    """One single-turn case in a fresh session. ``sent_text`` reads what the LLM fake has been sent."""
    sid = _session(case.id)
    before = len(sent_text()) if sent_text else 0
    t0 = time.perf_counter()
    try:
        result = await services.assistant.turn(sid, case.question)
    except Exception as exc:  # an assistant bug must cost this case, not the whole run
        log.warning("case %s failed: %s: %s", case.id, type(exc).__name__, exc)
        err = TurnRecord("", "error", "", None, (), (), {}, error=f"{type(exc).__name__}: {exc}")
        return CaseRun(err)
    wall = (time.perf_counter() - t0) * 1000
    rows = await anyio.to_thread.run_sync(lambda: services.audit.turns(sid))
    retrieved = [cid for row in rows for cid in row.get("retrieved") or []]
    passages = await _passages(services, [c.chunk_id for c in result.citations])
    record = _record(result, retrieved, passages, wall)
    sinks: dict[str, str] = {}
    if case.pii_values:
        history = await services.assistant.history(sid)
        sinks = {
            "answer": result.answer,
            "standalone_question": result.question,
            "citations": json.dumps([c.to_json() for c in result.citations], ensure_ascii=False),
            "handoff": json.dumps(result.handoff or {}, ensure_ascii=False),
            "audit": json.dumps(rows, ensure_ascii=False),
            "session_memory": json.dumps(history, ensure_ascii=False),
        }
        if sent_text:
            sinks["llm_request"] = sent_text()[before:]
    return CaseRun(record, sinks)


@dataclass
class FlowRun:
    id: str
    workflow: str
    identified: str | None  # the workflow the start message opened
    turns: int
    reasks: int
    reached_checklist: bool
    ineligible: bool
    handoff: str | None
    completed: bool
    materials: list[str]
    missing_materials: list[str]
    transcript: list[dict[str, str]]
    error: str | None = None
    turn_ms: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["turn_ms"] = [round(x, 2) for x in self.turn_ms]
        return d


def _next_answer(flow: FlowCase, step: dict[str, Any], tries: dict[str, int]) -> str | None:
    """The answer to the pending slot: the colloquial one first, then the plainer alternatives."""
    slot = step.get("slot")
    if not slot:
        return None
    alternatives = flow.answers.get(slot)
    if not alternatives:
        choices = step.get("choices") or []
        alternatives = (choices[0],) if choices else ("是",)  # a slot the gold did not foresee
    i = tries.get(slot, 0)
    tries[slot] = i + 1
    return alternatives[i] if i < len(alternatives) else None


async def run_flow(services: Services, flow: FlowCase) -> FlowRun:
    """Starts the 一件事, answers each question card, then sends the handoff messages; never more than
    ``MAX_FLOW_TURNS`` turns. A re-asked slot gets the next, plainer answer from the gold case."""
    sid = _session(flow.id)
    transcript: list[dict[str, str]] = []
    turn_ms: list[float] = []
    tries: dict[str, int] = {}
    reasks = 0
    checklist: dict[str, Any] | None = None
    ineligible = False
    handoff_asks = 0

    async def say(text: str) -> Any:
        t0 = time.perf_counter()
        r = await services.assistant.turn(sid, text)
        turn_ms.append((time.perf_counter() - t0) * 1000)
        transcript.append({"user": text, "assistant": r.answer[:200], "intent": r.intent})
        return r

    try:
        r = await say(flow.start)
        identified = (r.workflow or {}).get("id")
        while r.handoff is None and len(turn_ms) < MAX_FLOW_TURNS:
            step = r.flow or {}
            kind = step.get("kind")
            if kind in ("question", "reask"):
                if kind == "reask" or tries.get(step.get("slot") or "", 0) > 0:
                    reasks += 1
                answer = _next_answer(flow, step, tries)
                if answer is None:
                    break  # out of answers for a slot the assistant keeps asking
                r = await say(answer)
                continue
            if kind == "checklist":
                checklist = step.get("checklist") or {}
            ineligible = ineligible or kind == "ineligible"
            if handoff_asks >= len(flow.handoff):
                break
            r = await say(flow.handoff[handoff_asks])
            handoff_asks += 1
    except Exception as exc:
        log.warning("flow %s failed: %s: %s", flow.id, type(exc).__name__, exc)
        return FlowRun(flow.id, flow.workflow, None, len(turn_ms), reasks, False, False, None, False, [], [],
                       transcript, f"{type(exc).__name__}: {exc}", turn_ms)  # fmt: skip
    materials = [m.get("name", "") for m in (checklist or {}).get("materials", [])]
    missing = [m for m in flow.expected_materials if m not in materials]
    handoff = (r.handoff or {}).get("kind")
    completed = (
        handoff == flow.expected_handoff
        and identified == flow.workflow
        and (checklist is not None or (flow.expect_ineligible and ineligible))
        and not missing
    )
    return FlowRun(
        flow.id, flow.workflow, identified, len(turn_ms), reasks, checklist is not None, ineligible, handoff,
        completed, materials, missing, transcript, None, turn_ms,
    )  # fmt: skip


@dataclass
class CondenseRun:
    id: str
    standalone: str
    topic_ok: bool
    cited_docs: list[str]
    doc_hit: bool
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def run_condense(services: Services, pair: CondensePair) -> CondenseRun:
    """Asks the earlier questions, then the follow-up; checks the standalone question it searched."""
    sid = _session(pair.id)
    try:
        for q in pair.history:
            await services.assistant.turn(sid, q)
        r = await services.assistant.turn(sid, pair.followup)
    except Exception as exc:
        return CondenseRun(pair.id, "", False, [], False, f"{type(exc).__name__}: {exc}")
    standalone = r.question or ""
    topic_ok = pair.expected_topic in standalone and not (pair.forbidden and pair.forbidden in standalone)
    cited = list(dict.fromkeys(c.doc_id for c in r.citations))
    return CondenseRun(pair.id, standalone, topic_ok, cited, pair.expected_doc in cited[:1])
