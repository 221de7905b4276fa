"""One citizen turn, end to end (ARCHITECTURE.md "One citizen turn"): guard → session → flow or route
→ answer / flow step / handoff → memory + audit. Streams events; ``turn`` collects them."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import anyio

from assistant.audit import AuditEntry, AuditLog, AuditWriteFailed
from assistant.condense import condense_by_topic, needs_context
from assistant.consult import ConsultAnswerer, ConsultOutcome
from assistant.dialogue import Action, Dialogue, Thresholds, decide, resolve_item
from assistant.events import TurnEvent
from assistant.guard import Guard, GuardResult
from assistant.handoffs import HANDOFF_LABELS, HandoffService, handoff_json, options_prompt, pick_option
from assistant.items import core_name
from assistant.llm.base import ChatMessage, ChatModel, LLMUnavailable
from assistant.llm.deadline import llm_turn
from assistant.memory.base import SessionLockTimeout, SessionState, SessionStore, Turn
from assistant.nlu.understand import Understander, Understanding
from assistant.pii import PIIKind, find_pii
from assistant.prompt_store import PromptStore
from assistant.router import ROUTE_SCHEMA, RuleRouter, parse_route_json
from assistant.types import Citation, Intent, Mode, RouteDecision, TurnResult
from connectors import messages as flow_msg
from connectors.facts import read_facts
from connectors.flow import FlowEngine
from connectors.regions import other_province
from connectors.slots import LLMSlotExtractor, display_value, parse_slot
from connectors.store import CaseRepository, ConsentRequired, VerifyThrottled
from connectors.types import AppealType, ContactInfo, FlowState, FlowStep, Handoff
from retrieval.guide import ServiceGuide

log = logging.getLogger(__name__)


def _bundle_text(guide: ServiceGuide) -> str:
    return "\n".join([*guide.bundled_items, *(m.name for m in guide.materials)])


# Wrong case codes one chat session may type before it must wait (the case itself has its own window).
CASE_LOOKUP_FAILURES = 5
CASE_LOOKUP_WINDOW_S = 15 * 60
_CASE_NO = re.compile(r"HB\d{8}-[A-Z0-9]{4}", re.IGNORECASE)
# A masked value (138****5678, 4201**********1234, z***@x.cn) and the words that introduce it carry no
# topic: left in a search query they only dilute relevance, so a question with a phone number in it
# would be declined where the same question without it is answered.
_MASKED = re.compile(
    r"(我的|本人)?(手机号码?|电话号码?|手机|电话|身份证号码?|身份证号|卡号|银行卡号?|邮箱)?(是|为|:|：)?\s*[\w.@+-]*\*{2,}[\w.@+-]*"
)


def search_text(masked: str) -> str:
    """The masked question without masked values, for retrieval only (the audit keeps the masked text)."""
    stripped = _MASKED.sub(" ", masked)
    return re.sub(r"^[\s，,。；;]+|\s{2,}", " ", stripped).strip() or masked


_VERIFY = re.compile(r"(?<!\d)(\d{6})(?!\d)")
_ELLIPTICAL_CHARS = 20
_SEARCH_ITEMS = 3  # guides among the top hits considered for a request naming no item
_AGREE_P = 0.1  # the item model's weight that confirms a searched guide
_NAMED_HANDOFFS = ("窗口帮办", "帮办", "12345", "12345工单")
_MIN_TICKET_CHARS = 4  # a 12345 description shorter than this is not one ("算了", "不用")


@dataclass
class _Turn:
    """Everything one turn produces; turned into a TurnResult, an audit row and memory at the end."""

    session_id: str
    turn_id: str
    question: str  # masked
    guard: GuardResult
    standalone: str = ""
    intent: Intent = Intent.CONSULT
    confidence: float = 0.0
    mode: Mode = Mode.FIXED
    answer: str = ""
    citations: tuple[Citation, ...] = ()
    workflow: dict[str, Any] | None = None
    flow: dict[str, Any] | None = None
    handoff: dict[str, Any] | None = None
    notices: list[str] = field(default_factory=list)
    retrieved: list[str] = field(default_factory=list)
    has_evidence: bool = False
    top_relevance: float = 0.0
    model: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    understanding: dict[str, Any] = field(default_factory=dict)
    item_probs: dict[str, float] = field(default_factory=dict)

    def cards(self) -> dict[str, Any]:
        """What the chat page draws besides the text (citations, the flow card, the handoff card), kept
        with the turn so a reload or another device rebuilds them. A handoff's verification code is
        shown once and never kept."""
        out: dict[str, Any] = {}
        if self.citations:
            out["citations"] = [c.to_json() for c in self.citations]
        if self.workflow is not None:
            out["workflow"] = self.workflow
        if self.flow is not None:
            out["flow"] = self.flow
        if self.handoff is not None:
            out["handoff"] = {k: v for k, v in self.handoff.items() if k != "verify_code"}
        return out

    def result(self) -> TurnResult:
        return TurnResult(
            session_id=self.session_id, turn_id=self.turn_id, answer=self.answer, citations=self.citations,
            intent=self.intent.value, confidence=self.confidence, mode=self.mode.value, workflow=self.workflow,
            flow=self.flow, handoff=self.handoff, notices=tuple(self.notices), question=self.standalone,
            has_evidence=self.has_evidence, said=self.question, personal_data=bool(self.guard.pii_found),
            timings_ms=self.timings,
        )  # fmt: skip


class Assistant:
    def __init__(
        self,
        *,
        guard: Guard,
        sessions: SessionStore,
        prompts: PromptStore,
        router: RuleRouter,
        consult: ConsultAnswerer,
        audit: AuditLog,
        nlu: Understander,
        flows: FlowEngine | None = None,
        handoffs: HandoffService | None = None,
        cases: CaseRepository | None = None,
        llm: ChatModel | None = None,
        slot_extractor: LLMSlotExtractor | None = None,
        llm_route_below: float = 0.6,
    ) -> None:
        self.guard = guard
        self.sessions = sessions
        self.prompts = prompts
        self.router = router
        self.consult = consult
        self.audit = audit
        self.flows = flows
        self.handoffs = handoffs
        self.cases = cases
        self.llm = llm
        self.slot_extractor = slot_extractor
        self.nlu = nlu
        # Items each 一件事's own bundle names (身后 → 社保卡, 注销): telling about them keeps the focus.
        self._nested = nlu.items.covered_by(
            {w.id: _bundle_text(flows.guide(w.id)) for w in flows.workflows} if flows else {}
        )
        # The LLM router is asked only when the trained intent is less sure than this.
        self.llm_route_below = llm_route_below

    # --- public API ------------------------------------------------------------------------
    async def turn(self, session_id: str | None, message: str) -> TurnResult:
        result: TurnResult | None = None
        async for event in self.stream(session_id, message):
            if event.event == "done":
                result = event.data["result"]
        assert result is not None
        return result

    async def stream(self, session_id: str | None, message: str) -> AsyncIterator[TurnEvent]:
        """Yields token/citation/workflow/handoff events, then ``done`` with the TurnResult."""
        with llm_turn():  # one deadline for all of the turn's LLM calls (assistant.llm.deadline)
            async for event in self._stream(session_id, message):
                yield event

    async def _stream(self, session_id: str | None, message: str) -> AsyncIterator[TurnEvent]:
        started = time.perf_counter()
        sid = session_id or uuid.uuid4().hex
        checked = self.guard.check(message)
        t = _Turn(sid, uuid.uuid4().hex, checked.masked_text, checked, standalone=checked.masked_text)
        if not checked.ok:
            self._fixed_guard_reply(t)
            yield TurnEvent("token", {"text": t.answer})
            await self._finish(t, None, started)
            yield TurnEvent("done", {"result": t.result()})
            return
        try:
            async with self.sessions.lock(sid):
                state = await self.sessions.load(sid)
                if getattr(self.sessions, "degraded", False):
                    t.notices.append(self.prompts.reply("memory_degraded"))
                if await self._take_contact(t, state, message):
                    yield TurnEvent("token", {"text": t.answer})
                else:
                    async for event in self._dispatch(t, state):
                        yield event
                await self._finish(t, state, started)
        except SessionLockTimeout:
            t.intent, t.mode = Intent.CONSULT, Mode.FIXED
            t.answer = "上一条消息还在处理中，请稍候再发送。"
            yield TurnEvent("token", {"text": t.answer})
        yield TurnEvent("done", {"result": t.result()})

    async def request_handoff(
        self, session_id: str, kind: str, *, contact: Any = None, consent: bool = False, content: str = ""
    ) -> TurnResult:
        """The handoff card's button: performs the chosen handoff for the session's last workflow.
        ``content``: what a 12345 ticket is about, in the citizen's words (the dialog asks for it)."""
        checked = self.guard.check(f"[{kind}]")
        t = _Turn(session_id, uuid.uuid4().hex, f"[选择办理方式:{kind}]", checked, standalone="")
        started = time.perf_counter()
        async with self.sessions.lock(session_id):
            state = await self.sessions.load(session_id)
            await self._do_handoff(t, state, kind, contact=contact, consent=consent, content=content)
            await self._finish(t, state, started)
        return t.result()

    async def _take_contact(self, t: _Turn, state: SessionState, message: str) -> bool:
        """Right after a case was made in the chat without contact data, a reply carrying a phone number
        is the citizen giving it (the offer said so): it is encrypted onto that case and never stored or
        shown unmasked. Any other reply lets the offer lapse and is handled as usual."""
        case_no = state.data.pop("contact_offer", None)
        if not case_no or self.cases is None or PIIKind.PHONE not in t.guard.pii_found:
            return False
        phone = next((message[f.start : f.end] for f in find_pii(message) if f.kind is PIIKind.PHONE), "")
        try:
            contact = ContactInfo(phone=phone)
            cases = self.cases
            await anyio.to_thread.run_sync(lambda: cases.attach_contact(str(case_no), contact))
        except Exception:  # an unusable number or a store failure: say nothing was kept
            log.exception("attaching a contact to %s failed", case_no)
            return False
        t.intent, t.confidence, t.mode = Intent.HUMAN, 0.95, Mode.FIXED
        t.answer = self.prompts.reply("contact_saved", case_no=case_no, masked=contact.masked())
        return True

    async def history(self, session_id: str) -> list[dict[str, Any]]:
        state = await self.sessions.load(session_id)
        return [{"role": h.role, "content": h.content, "ts": h.ts, "meta": h.meta} for h in state.history]

    async def deliver_reply(self, session_id: str, text: str, case_no: str) -> None:
        """A caseworker's reply lands in the citizen's conversation (shown live by the chat page)."""
        meta = {"kind": "caseworker_reply", "case_no": case_no}
        await self.sessions.append(
            session_id, Turn("caseworker", self.guard.check(text).masked_text, time.time(), meta)
        )

    # --- understand → decide → act ---------------------------------------------------------
    async def _dispatch(self, t: _Turn, state: SessionState) -> AsyncIterator[TurnEvent]:
        text = t.question
        pending_options = list(state.data.get("handoff_options") or [])
        if state.data.pop("ticket_describe", False) and len(text.strip()) >= _MIN_TICKET_CHARS:
            # The description the 12345 path asked for ("算了" and the like are too short: handled below).
            await self._do_handoff(t, state, "ticket_12345", content=text)
            t.intent = Intent.COMPLAINT
            async for e in self._emit_all(t):
                yield e
            return
        if pending_options and (kind := pick_option(text, pending_options)):
            await self._do_handoff(t, state, kind, typed=True)
            async for e in self._emit_all(t):
                yield e
            return
        if self.cases is not None and (status := await self._case_status(text, state)) is not None:
            t.intent, t.confidence, t.answer = Intent.CONSULT, 0.95, status
            yield TurnEvent("token", {"text": t.answer})
            return
        flow = self._active_flow(state)
        t0 = time.perf_counter()
        u = await self._understand(text, state, in_flow=flow is not None)
        dialogue = Dialogue(state)
        about = resolve_item(u, dialogue.focus, Thresholds(), self._nested)
        facts = self._facts(t.question, about)
        action = decide(
            u, dialogue, in_flow=flow.workflow_id if flow else None, has_flow=self._has_flow,
            nested=self._nested, gave_facts=bool(facts),
        )  # fmt: skip
        t.timings["understand"] = (time.perf_counter() - t0) * 1000
        t.understanding = {**u.to_json(), "action": action.kind}
        t.intent, t.confidence = action.intent, action.confidence
        dialogue.set_focus(about)
        self._remember_facts(t, dialogue, action.item or dialogue.focus, u.act)
        dialogue.note(action.intent, u.act)
        dialogue.count_turn()
        t.item_probs = u.item_probs
        async for e in self._act(t, state, action, flow):
            yield e

    async def _act(
        self, t: _Turn, state: SessionState, action: Action, flow: FlowState | None
    ) -> AsyncIterator[TurnEvent]:
        kind = action.kind
        if kind == "which_item":
            action = await self._transact_by_search(t.question, action, t.item_probs)
            kind = action.kind
        if kind in ("start_flow", "submit") and action.item:
            async for e in self._start_flow(t, state, action.item, submit=kind == "submit"):
                yield e
            return
        if flow is not None and kind in ("advance", "cancel_flow", "submit_flow"):
            async for e in self._flow_turn(t, state, flow, kind):
                yield e
            return
        if kind in ("consult", "out_of_scope"):
            decision = RouteDecision(Intent.CONSULT, action.confidence, action.item, action.reason)
            async for e in self._consult(t, state, decision, oos_likely=kind == "out_of_scope"):
                yield e
            return
        if kind == "chitchat":
            t.answer = self.prompts.reply(self.router.chitchat_reply(t.question))
        elif kind == "refuse":
            name = self._item_name(action.item)
            t.answer = self.prompts.reply("refuse_fraud", route=f"“{name}”" if name else "相关事项")
        elif kind == "cancel":
            state.data.pop("handoff_options", None)
            t.answer = self.prompts.reply("nothing_to_cancel")
        elif kind == "which_item":
            t.answer = self.prompts.reply("which_item")
        elif kind == "offer_flow":
            t.answer = self.prompts.reply("offer_flow", workflow=self._item_name(action.item))
            state.data.pop("handoff_options", None)
        elif kind == "human":
            await self._human(t, state, action)
        elif kind == "complaint":
            await self._complaint(t, state)
        async for e in self._emit_all(t):
            yield e

    async def _understand(self, text: str, state: SessionState, *, in_flow: bool) -> Understanding:
        """The trained understanding; with an LLM configured and the models unsure, its routing overrides
        the intent (never inside a flow, where the reply is read against the pending question)."""
        u = await anyio.to_thread.run_sync(self.nlu.understand, text)  # CPU work: off the event loop
        if self.llm is None or in_flow or u.intent_p >= self.llm_route_below:
            return u
        llm = await self._route(text, state)
        if llm is None:
            return u
        item = llm.workflow_id or u.item
        source = u.item_source if item == u.item else "named"
        return replace(u, intent=llm.intent, intent_p=llm.confidence, item=item, item_source=source)

    async def _route(self, text: str, state: SessionState) -> RouteDecision | None:
        template = self.prompts.template("route_system").text.replace(
            "{workflow_ids}", ", ".join(self.router.item_ids())
        )
        messages = [ChatMessage("system", template)]
        messages += [
            ChatMessage(h.role, h.content) for h in state.history[-4:] if h.role in ("user", "assistant")
        ]
        messages.append(ChatMessage("user", text))
        fmt = {
            "type": "json_schema",
            "json_schema": {"name": "route", "schema": ROUTE_SCHEMA, "strict": True},
        }
        try:
            raw = await self.llm.complete(messages, temperature=0.0, max_tokens=120, response_format=fmt)  # type: ignore[union-attr]
        except LLMUnavailable:
            return None
        return parse_route_json(raw, set(self.router.item_ids()))

    def _facts(self, text: str, item: str | None) -> dict[str, Any]:
        """Facts this message states that the item's flow asks about (empty without a flow)."""
        if item is None or not self._has_flow(item) or self.flows is None:
            return {}
        return dict(read_facts(self.flows.workflow(item), text, self.flows.today()))

    def _remember_facts(self, t: _Turn, dialogue: Dialogue, item: str | None, act: str) -> None:
        """Facts stated in this message about the item in focus, kept for when its flow starts."""
        if facts := self._facts(t.question, item):
            dialogue.remember(item or "", facts, t.turn_id, correcting=act == "correct")

    def _item_name(self, item: str | None) -> str:
        if item is None or item not in self.consult.items.ids():
            return ""
        return core_name(self.consult.items.name(item))

    async def _human(self, t: _Turn, state: SessionState, action: Action) -> None:
        """Offers the caseworker / 12345, carrying the item talked about; "窗口帮办" said outright is done."""
        options = self.handoffs.available(["caseworker", "ticket_12345"]) if self.handoffs else []
        if action.item and self._has_flow(action.item):
            state.data["handoff_workflow"] = action.item  # the case carries the item talked about
        else:
            state.data.setdefault("handoff_workflow", None)
        named = pick_option(t.question, options) if t.question.strip() in _NAMED_HANDOFFS else None
        if named:
            await self._do_handoff(t, state, named, typed=True)
            return
        t.answer = self.prompts.reply("human_offer")
        state.data["handoff_options"] = options

    async def _transact_by_search(self, text: str, action: Action, item_probs: dict[str, float]) -> Action:
        """'小龙虾店要开张了 证帮我办一下': a request to act whose item neither the catalog nor the item model
        names clearly. Retrieval ranks the guides; the first of its top guides with a guided flow is taken
        when the evidence is good, or when the item model also gives it some weight (two weak signals that
        agree)."""
        result = await self.consult.search(search_text(text))
        guides: list[str] = []
        for hit in result.hits[:_SEARCH_ITEMS]:
            if self._has_flow(hit.chunk.doc_id) and hit.chunk.doc_id not in guides:
                guides.append(hit.chunk.doc_id)
        if guides and result.has_evidence:
            return replace(action, kind="start_flow", item=guides[0], reason="transact + top guide")
        agreed = [g for g in guides if item_probs.get(g, 0.0) >= _AGREE_P]
        if agreed:
            best = max(agreed, key=lambda g: item_probs.get(g, 0.0))
            return replace(action, kind="start_flow", item=best, reason="transact + search and model agree")
        return action

    async def _condense(self, text: str, state: SessionState, *, elliptical: bool = False) -> str:
        """``elliptical``: the models found no item of its own in a short message while an item is in
        focus ("这些要不要交钱啊"): it is read against the focus."""
        items = self.consult.items
        cues = self.router.followup_cues()
        if not state.history or not (elliptical or needs_context(text, cues, items)):
            return text
        if self.llm is not None:
            history = "\n".join(
                f"{h.role}: {h.content}" for h in state.history[-6:] if h.role in ("user", "assistant")
            )
            messages = [
                ChatMessage("system", self.prompts.template("condense_system").text),
                ChatMessage("user", f"对话：\n{history}\n\n追问：{text}"),
            ]
            try:
                rewritten = (await self.llm.complete(messages, temperature=0.0, max_tokens=100)).strip()
                if 2 <= len(rewritten) <= 200:
                    return rewritten
            except LLMUnavailable:
                pass
        if elliptical and state.topic in items.ids():
            return f"{core_name(items.name(state.topic))} {text.strip()}"
        return condense_by_topic(text, state.topic, items, cues)

    async def _consult(
        self, t: _Turn, state: SessionState, decision: RouteDecision, *, oos_likely: bool = False
    ) -> AsyncIterator[TurnEvent]:
        """A grounded answer. ``oos_likely`` (the models read the message as out of scope): search first and
        answer only with evidence, otherwise say it is out of scope."""
        t0 = time.perf_counter()
        own_item = t.understanding.get("item") if t.understanding else None
        elliptical = own_item is None and bool(state.topic) and len(t.question) <= _ELLIPTICAL_CHARS
        t.standalone = await self._condense(search_text(t.question), state, elliptical=elliptical)
        t.timings["condense"] = (time.perf_counter() - t0) * 1000
        probe = None
        # The item this message is about (its own, or the focus for an elliptical follow-up) scopes a
        # second search when the open one finds too little.
        # Not for a procedure in another province: Hubei's guide is not the answer there.
        scope = own_item if isinstance(own_item, str) else (state.topic if elliptical else None)
        scope = None if other_province(t.question) else scope
        if oos_likely or (not self.router.is_domain(t.standalone) and not decision.workflow_id):
            probe = await self.consult.search(t.standalone, item=scope)
            if not probe.has_evidence:
                t.intent, t.mode, t.answer = (
                    Intent.OUT_OF_SCOPE,
                    Mode.FIXED,
                    self.prompts.reply("out_of_scope"),
                )
                t.retrieved = [h.chunk.chunk_id for h in probe.hits]
                yield TurnEvent("token", {"text": t.answer})
                return
        out = ConsultOutcome()
        t1 = time.perf_counter()
        history = [h for h in state.history if h.role in ("user", "assistant")]
        answer = self.consult.answer(t.standalone, history, out, topic=state.topic, result=probe, item=scope)
        async for piece in answer:
            yield TurnEvent("token", {"text": piece})
        t.timings["answer"] = (time.perf_counter() - t1) * 1000
        t.answer, t.citations, t.mode, t.model = out.answer, out.citations, out.mode, out.model
        t.notices += out.notices
        if out.result is not None and out.result.has_evidence and (province := other_province(t.question)):
            t.notices.append(self.prompts.reply("other_province", province=province))
        if out.result is not None:
            t.retrieved = [h.chunk.chunk_id for h in out.result.hits]
            # Guide fields quoted through the structured lookup were retrieved too: record them.
            t.retrieved += [c.chunk_id for c in out.citations if c.chunk_id not in t.retrieved]
            t.has_evidence = out.result.has_evidence
            t.top_relevance = max((h.relevance for h in out.result.hits), default=0.0)
            t.timings.update({f"search_{k}": v for k, v in out.result.timings_ms.items() if k == "total"})
        if t.has_evidence:
            # The dialogue state already chose the focus; evidence only fills it when there is none.
            topic = decision.workflow_id or state.topic or self.consult.items.match(t.standalone)
            if topic is None and t.citations and t.citations[0].doc_id in self.consult.items.ids():
                topic = t.citations[0].doc_id
            state.topic = topic or state.topic
        for c in t.citations:
            yield TurnEvent("citation", c.to_json())

    # --- guided flows ----------------------------------------------------------------------
    def _has_flow(self, workflow_id: str) -> bool:
        return self.flows is not None and workflow_id in {w.id for w in self.flows.workflows}

    @staticmethod
    def _active_flow(state: SessionState) -> FlowState | None:
        if not state.flow:
            return None
        try:
            flow = FlowState.from_dict(state.flow)
        except ValueError:
            return None
        return flow if flow.is_active else None

    async def _start_flow(
        self, t: _Turn, state: SessionState, workflow_id: str, *, submit: bool = False
    ) -> AsyncIterator[TurnEvent]:
        """Starts the item's flow with the facts already stated; ``submit`` goes straight to the checklist."""
        assert self.flows is not None
        prefill = Dialogue(state).facts(workflow_id)
        flow, step = self.flows.start(workflow_id, prefill=prefill)
        if submit and flow.is_active:
            flow, step = self.flows.submit(flow, notice=step.notice + ("\n" if step.notice else ""))
        t.intent, t.confidence = Intent.TRANSACT, max(t.confidence, 0.8)
        state.topic = workflow_id
        state.data.pop("handoff_options", None)
        async for e in self._apply_step(t, state, flow, step):
            yield e

    async def _flow_turn(
        self, t: _Turn, state: SessionState, flow: FlowState, kind: str
    ) -> AsyncIterator[TurnEvent]:
        """A reply inside a guided flow: cancel, submit now, or an answer (facts stated in passing are
        taken for the questions still to come)."""
        assert self.flows is not None
        t.intent, t.confidence = Intent.TRANSACT, max(t.confidence, 0.8)
        if kind == "cancel_flow":
            state.data.pop("handoff_options", None)
            new_flow, step = self.flows.cancel(flow)
            async for e in self._apply_step(t, state, new_flow, step):
                yield e
            return
        wf = self.flows.workflow(flow.workflow_id)
        facts = read_facts(wf, t.question, self.flows.today(), skip=flow.answers)
        pending = wf.slot(flow.pending) if flow.pending else None
        for_pending = facts.pop(pending.id, None) if pending is not None else None
        if facts:
            flow = flow.model_copy(update={"answers": {**flow.answers, **facts}})
        if kind == "submit_flow":
            new_flow, step = self.flows.submit(flow)
            async for e in self._apply_step(t, state, new_flow, step):
                yield e
            return
        extracted = None
        if (
            pending is not None
            and for_pending is not None
            and not parse_slot(pending, t.question, self.flows.today()).ok
        ):
            extracted = {pending.id: for_pending}  # "我们俩都是孝感户口" answers "户籍在哪里" (省内)
        if extracted is None and self.slot_extractor is not None:
            new_flow, step = await self.flows.advance_async(flow, t.question, self.slot_extractor)
        else:
            new_flow, step = self.flows.advance(flow, t.question, extracted=extracted)
        if step.kind == "reask" and facts and new_flow.pending == flow.pending:
            # Not an answer to this question, but facts for later ones: say what was noted, ask again kindly.
            noted = "；".join(
                f"{slot.label}：{display_value(slot, v)}"
                for sid, v in facts.items()
                if (slot := wf.slot(sid)) is not None
            )
            new_flow = new_flow.model_copy(update={"attempts": flow.attempts})
            step = self.flows.ask_pending(new_flow, flow_msg.NOTED.format(facts=noted))
        if step.kind == "digression":
            # Answer the side question from the knowledge base, then repeat the pending question.
            t.intent = Intent.CONSULT
            decision = RouteDecision(Intent.CONSULT, 0.7, new_flow.workflow_id, "digression")
            async for e in self._consult(t, state, decision):
                yield e
            resume = self.flows.resume(new_flow)
            suffix = "\n\n" + resume.prompt
            t.answer += suffix
            yield TurnEvent("token", {"text": suffix})
            state.flow = new_flow.to_dict()
            t.workflow = self._workflow_json(new_flow.workflow_id)
            t.flow = self._step_json(resume)
            yield TurnEvent("workflow", {"workflow": t.workflow, "step": t.flow})
            return
        async for e in self._apply_step(t, state, new_flow, step):
            yield e

    async def _apply_step(
        self, t: _Turn, state: SessionState, flow: FlowState, step: FlowStep
    ) -> AsyncIterator[TurnEvent]:
        t.mode = Mode.FIXED
        t.workflow = self._workflow_json(flow.workflow_id)
        t.flow = self._step_json(step)
        t.answer = step.prompt
        state.flow = flow.to_dict() if flow.is_active else None
        if step.kind == "checklist" and step.checklist is not None:
            options = self.handoffs.available(step.handoff) if self.handoffs else []
            state.data["handoff_options"] = options
            state.data["handoff_workflow"] = flow.workflow_id
            state.data["handoff_answers"] = dict(flow.answers)
            if options:
                t.answer += "\n\n" + options_prompt(options)
                t.flow["handoff_options"] = [{"kind": k, "label": _label(k)} for k in options]
        yield TurnEvent("workflow", {"workflow": t.workflow, "step": t.flow})
        yield TurnEvent("token", {"text": t.answer})

    def _workflow_json(self, workflow_id: str) -> dict[str, Any]:
        assert self.flows is not None
        wf = self.flows.workflow(workflow_id)
        return {"id": wf.id, "name": wf.name, "item_code": wf.item_code}

    @staticmethod
    def _step_json(step: FlowStep) -> dict[str, Any]:
        return step.model_dump(mode="json")

    # --- handoff, complaint, case status -----------------------------------------------------
    async def _do_handoff(
        self, t: _Turn, state: SessionState, kind: str, *, contact: Any = None, consent: bool = False,
        content: str = "", typed: bool = False,
    ) -> None:  # fmt: skip
        t.intent, t.confidence, t.mode = (
            Intent.HUMAN if kind != "online_link" else Intent.TRANSACT,
            0.95,
            Mode.FIXED,
        )
        if self.handoffs is None or kind not in self.handoffs.available([kind]):
            t.answer = self.prompts.reply("human_offer")
            return
        if kind == "ticket_12345" and typed and not content:
            # A ticket says what it is about: ask first, file it with the next message.
            state.data["ticket_describe"] = True
            state.data.pop("handoff_options", None)
            t.intent, t.answer = Intent.COMPLAINT, self.prompts.reply("ticket_describe")
            return
        workflow_id = state.data.get("handoff_workflow")
        answers = dict(state.data.get("handoff_answers") or {})
        workflow = checklist = None
        if workflow_id and self.flows is not None and self._has_flow(workflow_id):
            done = FlowState(workflow_id=workflow_id, answers=answers, status="completed")
            workflow = self.flows.handoff_context(done)  # id, name, item code, region code
            checklist = self.flows.checklist(done)
        elif state.topic and self.flows is not None and self._has_flow(state.topic):
            # No flow was finished, but the conversation was about an item: the case shows which.
            about = FlowState(workflow_id=state.topic, answers={}, status="completed")
            workflow = self.flows.handoff_context(about)
        try:
            handoff = await self.handoffs.submit(
                kind, session_id=t.session_id, workflow=workflow, answers=answers, checklist=checklist,
                summary=self._summary(state), contact=contact, consent=consent, content=content,
                appeal_type="投诉" if kind == "ticket_12345" and content else "求助",
            )  # fmt: skip
        except ConsentRequired:
            raise  # the caller asked for personal data without consent: its error, not ours
        except Exception:
            log.exception("handoff %s failed", kind)
            t.answer = self.prompts.reply("handoff_failed")
            return
        shown = self._workflow_json(str(workflow["id"])) if workflow is not None else None
        self._set_handoff(t, state, handoff, shown)
        self._offer_contact(t, state, handoff, contact)

    def _offer_contact(self, t: _Turn, state: SessionState, handoff: Handoff, contact: Any) -> None:
        """A case made without contact data: say how to add one (with consent) in the next message."""
        if contact is None and handoff.case_no and handoff.kind in ("caseworker", "ticket_12345"):
            state.data["contact_offer"] = handoff.case_no
            t.answer = f"{t.answer}\n{self.prompts.reply('contact_offer')}"

    def _set_handoff(
        self, t: _Turn, state: SessionState, handoff: Handoff, workflow: dict[str, Any] | None
    ) -> None:
        t.handoff = handoff_json(handoff)
        t.workflow = workflow
        t.answer = handoff.message
        state.data.pop("handoff_options", None)
        cases = list(state.data.get("cases") or [])
        if handoff.case_no:
            cases.append(handoff.case_no)
        state.data["cases"] = cases[-10:]

    async def _complaint(self, t: _Turn, state: SessionState) -> None:
        if self.handoffs is None or not self.handoffs.available(["ticket_12345"]):
            t.answer = self.prompts.reply("complaint_offer")
            return
        if len(t.question) < 8:  # "我要投诉" alone: ask for the details first
            t.answer = self.prompts.reply("complaint_offer")
            state.data["handoff_options"] = ["ticket_12345"]
            return
        appeal: AppealType = "举报" if "举报" in t.question else "投诉"
        try:
            handoff = await self.handoffs.submit(
                "ticket_12345", session_id=t.session_id, content=t.question, appeal_type=appeal,
                summary=self._summary(state), priority=2,
            )  # fmt: skip
            self._set_handoff(t, state, handoff, None)
            self._offer_contact(t, state, handoff, None)
        except Exception:
            log.exception("12345 ticket failed")
            t.intent, t.answer = Intent.COMPLAINT, self.prompts.reply("handoff_failed")
            return
        t.intent = Intent.COMPLAINT

    async def _case_status(self, text: str, state: SessionState) -> str | None:
        """A case number plus code typed in the chat: its status. Wrong codes are throttled per case (the
        repository's window) and per session (``CASE_LOOKUP_FAILURES`` in ``CASE_LOOKUP_WINDOW_S``), and
        both windows expire, so a citizen is never locked out of their own case for good."""
        m = _CASE_NO.search(text)
        code = _VERIFY.search(_CASE_NO.sub(" ", text))
        if not m or self.cases is None:
            return None
        if not code:
            return "请同时提供工单编号和6位查询码，例如：查询 HB20260101-ABCD 123456。"
        now = time.time()
        tries = dict(state.data.get("case_lookup") or {})
        if now - float(tries.get("since", 0.0)) >= CASE_LOOKUP_WINDOW_S:
            tries = {"since": now, "failures": 0}
        if int(tries["failures"]) >= CASE_LOOKUP_FAILURES:
            wait = float(tries["since"]) + CASE_LOOKUP_WINDOW_S - now
            return self.prompts.reply("case_throttled", minutes=max(1, int(wait // 60) + 1))
        cases = self.cases
        try:
            view = await anyio.to_thread.run_sync(cases.check_status, m.group(0), code.group(1))
        except VerifyThrottled as exc:
            return self.prompts.reply("case_throttled", minutes=max(1, exc.retry_after_s // 60 + 1))
        if view is None:
            tries["failures"] = int(tries["failures"]) + 1
            state.data["case_lookup"] = tries
            return self.prompts.reply("case_not_found")
        detail = f"最新回复：{view.last_reply}" if view.last_reply else ""
        return self.prompts.reply(
            "case_status", case_no=view.case_no, status=view.status_label, detail=detail
        )

    @staticmethod
    def _summary(state: SessionState) -> str:
        turns = [h for h in state.history if h.role in ("user", "assistant")][-6:]
        return "\n".join(f"{'群众' if h.role == 'user' else '助手'}：{h.content[:200]}" for h in turns)

    # --- fixed replies, memory and audit -----------------------------------------------------
    def _fixed_guard_reply(self, t: _Turn) -> None:
        g = t.guard
        t.mode = Mode.FIXED
        if g.empty:
            t.intent, t.answer = Intent.CHITCHAT, self.prompts.reply("empty")
        elif g.too_long:
            t.intent = Intent.OUT_OF_SCOPE
            t.answer = self.prompts.reply("too_long", length=g.length, limit=self.guard.max_chars)
            t.question = t.question[:200] + "…"
        elif g.sensitive:
            t.intent, t.answer = Intent.REFUSE, self.prompts.reply("refuse_sensitive")
        else:
            t.intent, t.answer = Intent.REFUSE, self.prompts.reply("refuse_injection")
        t.confidence = 1.0

    async def _emit_all(self, t: _Turn) -> AsyncIterator[TurnEvent]:
        if t.workflow is not None and t.handoff is None:
            yield TurnEvent("workflow", {"workflow": t.workflow, "step": t.flow})
        yield TurnEvent("token", {"text": t.answer})
        if t.handoff is not None:
            yield TurnEvent("handoff", t.handoff)

    async def _finish(self, t: _Turn, state: SessionState | None, started: float) -> None:
        t.timings["total"] = (time.perf_counter() - started) * 1000
        t.answer = "\n\n".join([*t.notices, t.answer]) if t.notices and t.mode is not Mode.FIXED else t.answer
        now = time.time()
        if state is not None:
            try:
                await self.sessions.append(
                    t.session_id, Turn("user", t.question, now, {"turn_id": t.turn_id})
                )
                meta = {"turn_id": t.turn_id, "intent": t.intent.value, "mode": t.mode.value, **t.cards()}
                await self.sessions.append(t.session_id, Turn("assistant", t.answer, now, meta))
                await self.sessions.save_state(t.session_id, state)
            except Exception:  # memory is best effort; the citizen still gets the answer
                log.exception("saving session %s failed", t.session_id)
        entry = AuditEntry(
            turn_id=t.turn_id, session_id=t.session_id, question_masked=t.question,
            standalone_masked=t.standalone, answer_masked=self.guard.check(t.answer).masked_text,
            intent=t.intent.value, workflow_id=(t.workflow or {}).get("id"), mode=t.mode.value,
            has_evidence=t.has_evidence, top_relevance=t.top_relevance, retrieved=t.retrieved,
            citations=[c.chunk_id for c in t.citations], pii_kinds=[str(k) for k in t.guard.pii_found],
            prompt_version=self.prompts.version, model=t.model, timings=t.timings,
        )  # fmt: skip
        try:
            await anyio.to_thread.run_sync(self.audit.record, entry)
        except Exception as exc:  # a turn without its audit record is an error, not a silent loss
            log.exception("writing the audit record for turn %s failed", t.turn_id)
            raise AuditWriteFailed(t.turn_id) from exc


def _label(kind: str) -> str:
    return HANDOFF_LABELS.get(kind, kind)
