"""The guided flow engine: one question at a time, deterministic, state in and state out.

The engine never calls the LLM itself; ``advance_async`` may ask an ``LLMSlotExtractor`` for slot
values, which still pass the same validation as the rule parsers. The caller keeps ``FlowState`` in
the session store (``state.to_dict()`` / ``FlowState.from_dict``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

from connectors import messages as msg
from connectors.checklist import build_checklist
from connectors.conditions import all_hold
from connectors.parsers import (
    compact,
    has_correction_marker,
    is_cancel,
    is_question,
    is_skip,
    parse_choice,
    parse_date,
)
from connectors.regions import match_region
from connectors.slots import (
    LLMSlotExtractor,
    SlotResult,
    coerce_value,
    display_value,
    options_text,
    parse_slot,
)
from connectors.types import Checklist, FlowState, FlowStep, HandoffKind, Scalar, Slot, Workflow
from retrieval.guide import ServiceGuide

Answers = dict[str, Scalar | None]
_EXACT_ANSWER_CHARS = 6


class UnknownWorkflow(KeyError):
    """No workflow with that id in the catalog."""


class FlowEngine:
    """Drives guided flows over a validated catalog.

    Args:
        catalog: workflows by id (from ``load_catalog``).
        guides: service guides by id; every workflow's guide must be present.
        today: clock for relative dates and date rules (injectable for tests).
        hint_after: failed answers in a row after which the re-ask offers a human.
    """

    def __init__(
        self,
        catalog: Mapping[str, Workflow],
        guides: Mapping[str, ServiceGuide],
        *,
        today: Callable[[], date] = date.today,
        hint_after: int = 2,
    ) -> None:
        missing = sorted(w.guide_id for w in catalog.values() if w.guide_id not in guides)
        if missing:
            raise ValueError(f"workflows without a loaded guide: {missing}")
        self._catalog = dict(catalog)
        self._guides = dict(guides)
        self._today = today
        self._hint_after = hint_after

    # ------------------------------------------------------------------ lookup

    @property
    def workflows(self) -> list[Workflow]:
        return list(self._catalog.values())

    def workflow(self, workflow_id: str) -> Workflow:
        try:
            return self._catalog[workflow_id]
        except KeyError:
            raise UnknownWorkflow(workflow_id) from None

    def today(self) -> date:
        return self._today()

    def guide(self, workflow_id: str) -> ServiceGuide:
        return self._guides[self.workflow(workflow_id).guide_id]

    # ------------------------------------------------------------------ turns

    def start(
        self, workflow_id: str, *, prefill: Mapping[str, object] | None = None
    ) -> tuple[FlowState, FlowStep]:
        """Begin a flow; ``prefill`` values (e.g. a region the router already saw) are validated first."""
        wf = self.workflow(workflow_id)
        answers: Answers = {}
        for sid, raw in (prefill or {}).items():
            slot = wf.slot(sid)
            result = coerce_value(slot, raw, self._today()) if slot else SlotResult()
            if result.ok:
                answers[sid] = result.value
        notice = wf.intro
        known = [(s, answers[s.id]) for s in wf.slots if s.id in answers]
        if known:  # confirm what was inferred from earlier messages, in one line
            facts = "；".join(f"{s.label}：{display_value(s, v)}" for s, v in known)
            notice += "\n" + msg.PREFILLED.format(facts=facts)
        return self._next(wf, FlowState(workflow_id=wf.id, answers=answers), notice=notice)

    def advance(
        self, state: FlowState, text: str, *, extracted: Mapping[str, Scalar] | None = None
    ) -> tuple[FlowState, FlowStep]:
        """Take the citizen's reply to the pending question.

        ``extracted`` holds slot values proposed by an LLM; they are validated like typed answers.
        A question that does not answer the pending slot returns a ``digression`` step and the state
        unchanged (except for corrections it carried): answer it, then call ``resume``.
        """
        wf = self.workflow(state.workflow_id)
        if state.status == "cancelled":
            return state, self._step(wf, "cancelled", msg.ALREADY_ENDED.format(name=wf.name))
        if is_cancel(text):
            return state.model_copy(update={"status": "cancelled", "pending": None}), self._step(
                wf, "cancelled", msg.CANCELLED.format(name=wf.name)
            )
        today = self._today()
        pending = wf.slot(state.pending) if state.pending else None
        question = is_question(text) and not (pending and self._exact_answer(pending, text, today))
        result = SlotResult()
        if pending is not None and not question:
            if extracted and pending.id in extracted:
                result = coerce_value(pending, extracted[pending.id], today)
            elif not pending.required and is_skip(text):
                result = SlotResult(value=None)
            else:
                result = parse_slot(pending, text, today)
        # A yes/no reading of "不对，我是省外的" is not evidence: corrections are looked for all the same.
        settled = result.ok and pending is not None and pending.kind != "yesno"
        corrections = self._corrections(
            wf, state, pending, text, extracted, pending_parsed=settled, today=today
        )
        yesno_pending = pending is not None and pending.kind == "yesno"
        if corrections and yesno_pending and extracted is None and has_correction_marker(text):
            result = SlotResult()  # "不对，我是襄阳的" corrects the region; it is not a "no"
        answers: Answers = {**state.answers, **corrections}
        notice = "".join(
            msg.CORRECTED.format(label=s.label, value=display_value(s, v))
            for sid, v in corrections.items()
            if (s := wf.slot(sid)) is not None
        )
        if question:
            new = state.model_copy(update={"answers": answers}) if corrections else state
            step = self._step(
                wf,
                "digression",
                msg.DIGRESSION.format(name=wf.name),
                notice=notice,
                slot=state.pending,
                question=text,
            )
            return new, step
        skipped = pending is not None and not pending.required and result.value is None and not result.error
        if pending is not None and (result.ok or skipped):
            answers[pending.id] = result.value
        elif pending is not None and not corrections:
            return self._reask(wf, state, pending, result.error)
        return self._next(wf, state.model_copy(update={"answers": answers, "attempts": 0}), notice=notice)

    async def advance_async(
        self, state: FlowState, text: str, extractor: LLMSlotExtractor | None = None
    ) -> tuple[FlowState, FlowStep]:
        """``advance`` with LLM slot extraction when an extractor with a model is given."""
        if extractor is None or not extractor.enabled or not state.is_active or is_cancel(text):
            return self.advance(state, text)
        slots = self.slots_for_extraction(state)
        extraction = await extractor.extract(slots, text, today=self._today(), primary=state.pending)
        if extraction.source != "llm":
            return self.advance(state, text)
        return self.advance(state, text, extracted=extraction.values)

    def resume(self, state: FlowState) -> FlowStep:
        """Repeat the pending question after a digression was answered."""
        wf = self.workflow(state.workflow_id)
        if not state.is_active or state.pending is None:
            return self._next(wf, state)[1]
        slot = wf.slot(state.pending)
        assert slot is not None
        return self._question(wf, state, slot, msg.RESUME.format(name=wf.name))

    def ask_pending(self, state: FlowState, notice: str) -> FlowStep:
        """The pending question again after ``notice`` (no re-ask wording: the reply told other facts)."""
        wf = self.workflow(state.workflow_id)
        slot = wf.slot(state.pending) if state.pending else None
        if slot is None:
            return self._next(wf, state, notice)[1]
        return self._question(wf, state, slot, notice)

    def cancel(self, state: FlowState) -> tuple[FlowState, FlowStep]:
        wf = self.workflow(state.workflow_id)
        return state.model_copy(update={"status": "cancelled", "pending": None}), self._step(
            wf, "cancelled", msg.CANCELLED.format(name=wf.name)
        )

    def slots_for_extraction(self, state: FlowState) -> list[Slot]:
        """The pending slot first, then every other applicable slot (so corrections can be extracted)."""
        wf = self.workflow(state.workflow_id)
        applicable = self._applicable(wf, state.answers)
        return sorted(applicable, key=lambda s: s.id != state.pending)

    def handoff_context(self, state: FlowState) -> dict[str, str]:
        """``id``, ``name``, ``item_code`` and ``region_code`` of a flow, as a handoff request needs them."""
        wf = self.workflow(state.workflow_id)
        region = next(
            (str(state.answers[s.id]) for s in wf.slots if s.kind == "region" and state.answers.get(s.id)), ""
        )
        item_code = wf.item_code or self._guides[wf.guide_id].item_code
        return {"id": wf.id, "name": wf.name, "item_code": item_code, "region_code": region}

    def checklist(self, state: FlowState) -> Checklist:
        wf = self.workflow(state.workflow_id)
        return build_checklist(
            wf, self._guides[wf.guide_id], self._prune(wf, state.answers), today=self._today()
        )

    # ------------------------------------------------------------------ internals

    def _applicable(self, wf: Workflow, answers: Mapping[str, Scalar | None]) -> list[Slot]:
        today = self._today()
        return [s for s in wf.slots if all_hold(s.ask_when, answers, today)]

    def _prune(self, wf: Workflow, answers: Mapping[str, Scalar | None]) -> Answers:
        """Drop answers to slots that no longer apply (a correction can make a follow-up moot)."""
        current: Answers = dict(answers)
        while True:
            keep = {s.id for s in self._applicable(wf, current)}
            pruned = {k: v for k, v in current.items() if k in keep}
            if pruned == current:
                return pruned
            current = pruned

    def _next(self, wf: Workflow, state: FlowState, notice: str = "") -> tuple[FlowState, FlowStep]:
        answers = self._prune(wf, state.answers)
        if (ineligible := self._ineligible(wf, state, answers, notice)) is not None:
            return ineligible
        slot = next((s for s in self._applicable(wf, answers) if s.id not in answers), None)
        if slot is None:
            return self._complete(wf, state, answers, notice + msg.DONE.format(name=wf.name))
        new = state.model_copy(update={"answers": answers, "status": "active", "pending": slot.id})
        return new, self._question(wf, new, slot, notice)

    def _ineligible(
        self, wf: Workflow, state: FlowState, answers: Answers, notice: str
    ) -> tuple[FlowState, FlowStep] | None:
        for rule in wf.eligibility:
            if all_hold(rule.when, answers, self._today()):
                new = state.model_copy(update={"answers": answers, "status": "ineligible", "pending": None})
                options: list[HandoffKind] = [k for k in wf.handoff if k in ("caseworker", "ticket_12345")]
                step = self._step(
                    wf, "ineligible", notice + rule.message, handoff=options or ["ticket_12345"]
                )
                return new, step
        return None

    def _complete(
        self, wf: Workflow, state: FlowState, answers: Answers, heading: str
    ) -> tuple[FlowState, FlowStep]:
        new = state.model_copy(
            update={"answers": answers, "status": "completed", "pending": None, "attempts": 0}
        )
        cl = build_checklist(wf, self._guides[wf.guide_id], answers, today=self._today())
        text = heading + "\n" + cl.render()
        return new, self._step(wf, "checklist", text, checklist=cl, handoff=list(wf.handoff), state=new)

    def submit(self, state: FlowState, notice: str = "") -> tuple[FlowState, FlowStep]:
        """The citizen asks to submit now: the checklist from what is known so far. Materials that depend on
        a question not yet answered are listed as 视情况; the eligibility rules still apply."""
        wf = self.workflow(state.workflow_id)
        answers = self._prune(wf, state.answers)
        if (ineligible := self._ineligible(wf, state, answers, notice)) is not None:
            return ineligible
        open_ = [s.label for s in self._applicable(wf, answers) if s.id not in answers]
        if not open_:
            return self._complete(wf, state, answers, notice + msg.DONE.format(name=wf.name))
        heading = notice + msg.DONE_EARLY.format(name=wf.name, open="、".join(open_))
        return self._complete(wf, state, answers, heading)

    def _question(
        self, wf: Workflow, state: FlowState, slot: Slot, notice: str, kind: str = "question"
    ) -> FlowStep:
        prompt = slot.prompt
        if slot.kind == "choice":
            prompt += msg.CHOICES_LINE.format(options=options_text(slot))
        sep = "\n" if notice and not notice.endswith("\n") else ""
        return self._step(
            wf,
            "reask" if kind == "reask" else "question",
            notice + sep + prompt,
            notice=notice,
            slot=slot.id,
            # Yes/no questions get 是/否 quick replies too (both parse as answers to the slot).
            choices=[c.label for c in slot.choices] if slot.kind != "yesno" else ["是", "否"],
            state=state,
        )

    def _reask(self, wf: Workflow, state: FlowState, slot: Slot, error: str) -> tuple[FlowState, FlowStep]:
        new = state.model_copy(update={"attempts": state.attempts + 1})
        notice = msg.REASK_PREFIX + (error or "") + (slot.help or "")
        if new.attempts >= self._hint_after:
            notice += msg.REASK_HANDOFF_HINT
        return new, self._question(wf, new, slot, notice, kind="reask")

    def _exact_answer(self, slot: Slot, text: str, today: date) -> bool:
        """A short reply like "省外？" or "2?" is an answer with a question mark, not a question."""
        bare = compact(text).rstrip("?吗呢")
        if not bare or len(bare) > _EXACT_ANSWER_CHARS or slot.kind in ("yesno", "text"):
            return False
        return parse_slot(slot, bare, today).ok

    def _corrections(
        self,
        wf: Workflow,
        state: FlowState,
        pending: Slot | None,
        text: str,
        extracted: Mapping[str, Scalar] | None,
        *,
        pending_parsed: bool,
        today: date,
    ) -> Answers:
        """Values for slots other than the pending one that this message changes or supplies."""
        applicable = [s for s in self._applicable(wf, state.answers) if pending is None or s.id != pending.id]
        out: Answers = {}
        if extracted is not None:
            for slot in applicable:
                if slot.id in extracted:
                    r = coerce_value(slot, extracted[slot.id], today)
                    if r.ok and state.answers.get(slot.id) != r.value:
                        out[slot.id] = r.value
            return out
        marker = has_correction_marker(text)
        if pending is None or pending.kind not in ("region", "text") or marker:
            region = match_region(text)
            region_slots = [s for s in applicable if s.kind == "region"]
            target = next((s for s in region_slots if s.id in state.answers), None) or next(
                (s for s in region_slots if s.id not in state.answers), None
            )
            if region is not None and target is not None:
                r = coerce_value(target, region, today)
                if r.ok and state.answers.get(target.id) != r.value:
                    out[target.id] = r.value
        if marker and not pending_parsed:
            found: Answers = {}
            for slot in applicable:
                if slot.id not in state.answers:
                    continue
                value: Scalar | None = None
                if slot.kind == "choice":
                    value = parse_choice(text, slot.choices)
                elif slot.kind == "date":
                    d = parse_date(text, today, prefer_past=slot.validation.not_future)
                    value = coerce_value(slot, d, today).value if d else None
                if value is not None and value != state.answers.get(slot.id):
                    found[slot.id] = value
            if len(found) == 1:  # two slots matching the same words is ambiguous: ask instead
                out.update(found)
        return out

    def _step(
        self,
        wf: Workflow,
        kind: str,
        prompt: str,
        *,
        notice: str = "",
        slot: str | None = None,
        choices: list[str] | None = None,
        checklist: Checklist | None = None,
        handoff: list[HandoffKind] | None = None,
        question: str = "",
        state: FlowState | None = None,
    ) -> FlowStep:
        progress = (0, 0)
        if state is not None:
            applicable = self._applicable(wf, state.answers)
            progress = (sum(1 for s in applicable if s.id in state.answers), len(applicable))
        return FlowStep.model_validate(
            {
                "kind": kind,
                "workflow_id": wf.id,
                "workflow_name": wf.name,
                "prompt": prompt,
                "notice": notice,
                "slot": slot,
                "choices": choices or [],
                "checklist": checklist,
                "handoff": handoff or [],
                "question": question,
                "progress": progress,
            }
        )
