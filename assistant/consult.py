"""Answering a consult question: search, then a grounded LLM answer or an extractive one.

No evidence above the threshold → the fixed reply; the LLM never sees the question then. An LLM that
is unreachable, times out, or answers without valid citations is replaced by the extractive answer.
The LLM's answer is released sentence by sentence, each only after the output guard passed it
(``assistant.answerers.output_guard``); a sentence that fails replaces the whole answer with the
extractive one, so nothing unchecked is ever streamed, shown or stored.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace

import anyio

from assistant.answerers.citations import check_citations, declines
from assistant.answerers.doc_facts import metadata_answer, structural_evidence
from assistant.answerers.extractive import (
    SECTION_TO_FIELD,
    Answer,
    faq_entries,
    guide_answer,
    sentence_answer,
)
from assistant.answerers.llm import build_messages, passage_text
from assistant.answerers.output_guard import OutputGuard, PromptFacts, load_allowed_terms, prompt_public_parts
from assistant.answerers.sentences import SentenceBuffer
from assistant.items import ItemMatcher, core_name
from assistant.llm.base import ChatModel, LLMUnavailable
from assistant.llm.budget import fit_messages
from assistant.memory.base import Turn
from assistant.prompt_store import PromptStore
from assistant.types import Citation, Mode
from retrieval.guide_fields import asked_fields
from retrieval.knowledge_base import KnowledgeBase
from retrieval.relevance import term_coverage
from retrieval.types import Chunk, Hit, SearchFilters, SearchResult

log = logging.getLogger(__name__)


@dataclass
class ConsultOutcome:
    """Filled in while the answer streams; complete once the stream ends."""

    answer: str = ""
    citations: tuple[Citation, ...] = ()
    mode: Mode = Mode.FIXED
    result: SearchResult | None = None
    notices: list[str] = field(default_factory=list)
    model: str = ""


class OutputRejected(RuntimeError):
    """The output guard stopped the LLM's answer (the reason names the check, never the text)."""


class ConsultAnswerer:
    def __init__(
        self,
        kb: KnowledgeBase,
        prompts: PromptStore,
        items: ItemMatcher,
        llm: ChatModel | None = None,
        *,
        temperature: float = 0.1,
        max_tokens: int = 768,
        history_chars: int = 2000,
        context_chars: int = 12000,
        k: int = 5,
        canary: str = "",
    ) -> None:
        self.kb = kb
        self.prompts = prompts
        self.items = items
        self.llm = llm
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.history_chars = history_chars
        self.context_chars = context_chars
        # A FAQ entry is quoted first when it covers this share of the question's topic words.
        self.faq_min_coverage = 0.75
        self.faq_margin = 0.15
        self.k = k
        # A secret marker in the system prompt: seeing it in an answer proves the prompt leaked.
        self.canary = canary or f"GC-{secrets.token_hex(6)}"
        self.system_prompt = prompts.template("answer_system").text.replace("{canary}", self.canary)
        public = (*prompts.reply_texts(), *prompt_public_parts(self.system_prompt))
        self._facts = PromptFacts.build(self.system_prompt, self.canary, public, load_allowed_terms())

    async def search(
        self, question: str, filters: SearchFilters | None = None, *, item: str | None = None
    ) -> SearchResult:
        # Retrieval is CPU-bound (jieba, numpy, SQLite): keep it off the event loop.
        return await anyio.to_thread.run_sync(lambda: self.search_sync(question, filters, item=item))

    def search_sync(
        self, question: str, filters: SearchFilters | None = None, *, item: str | None = None
    ) -> SearchResult:
        """The search, with structural evidence: a question about a document's facts (its date, issuer)
        or about a field of the guide it names is answerable even when its wording shares few terms.

        ``item``: the 一件事 the understanding says this message is about (named in other words, such as
        "出生的联办"): when the open search finds too little, that guide is searched alone, and a field
        it is asked for (materials, time limit …) counts as evidence there too."""
        result = self.kb.search(question, k=self.k, filters=filters)
        if result.has_evidence:
            return result
        if structural_evidence(self.kb, self.items, question, result.hits):
            return replace(result, has_evidence=True)
        if item in self.items.ids() and filters is None:
            scoped = self.kb.search(question, k=self.k, filters=SearchFilters(doc_ids=(item,)))
            if scoped.has_evidence or structural_evidence(
                self.kb, self.items, question, scoped.hits, guide=item
            ):
                return replace(scoped, has_evidence=True)
        return result

    async def answer(
        self,
        question: str,
        history: Sequence[Turn],
        out: ConsultOutcome,
        topic: str | None = None,
        result: SearchResult | None = None,
        item: str | None = None,
    ) -> AsyncIterator[str]:
        """Yields answer text pieces; ``out`` holds the final answer, citations and mode afterwards.

        ``result`` is a search the caller already ran for this question (not repeated); ``item`` is the
        一件事 this message is about, as understood (see ``search_sync``)."""
        result = result if result is not None else await self.search(question, item=item)
        out.result = result
        if not result.has_evidence:
            out.answer, out.mode = self.prompts.reply("no_evidence"), Mode.FIXED
            yield out.answer
            return
        streamed = False
        if self.llm is not None:
            try:
                async for piece in self._llm_answer(question, result.hits, history, out):
                    streamed = True
                    yield piece
                return
            except LLMUnavailable as exc:
                log.warning("LLM unavailable, answering extractively: %s", exc)
                out.notices.append(self.prompts.reply("llm_unavailable"))
            except OutputRejected as exc:
                log.warning("LLM answer withheld by the output guard (%s), answering extractively", exc)
                out.notices.append(self.prompts.reply("llm_answer_withheld"))
        extractive = await anyio.to_thread.run_sync(lambda: self.extractive(question, result.hits, topic))
        out.answer, out.citations, out.mode = extractive.text, extractive.citations, Mode.EXTRACTIVE
        # Sentences already shown passed every check; the final answer (the done event) replaces them.
        yield f"\n\n{out.answer}" if streamed else out.answer

    async def _llm_answer(
        self, question: str, hits: Sequence[Hit], history: Sequence[Turn], out: ConsultOutcome
    ) -> AsyncIterator[str]:
        """The LLM's answer, sentence by sentence as each passes the output guard.

        Raises:
            LLMUnavailable: no (complete) answer in time; OutputRejected: a check failed.
        """
        assert self.llm is not None
        hits = fit_passages(hits, self.context_chars // 2)
        built = build_messages(self.system_prompt, hits, history, question, history_chars=self.history_chars)
        # The whole request stays within the model's context: oldest history goes first.
        messages = list(fit_messages(built, self.context_chars))
        earlier = [m.content for m in messages[2:-1] if m.role == "user"]  # the history the model saw
        guard = OutputGuard(self._facts, [passage_text(h) for h in hits], question, earlier)
        buffer = SentenceBuffer()
        shown: list[str] = []

        def release(sentence: str) -> str:
            verdict = guard.check_sentence(sentence)
            if not verdict.ok:
                raise OutputRejected(verdict.reason)
            shown.append(verdict.text)
            return verdict.text

        stream = self.llm.stream(messages, temperature=self.temperature, max_tokens=self.max_tokens)
        async with aclosing(stream) as tokens:
            async for token in tokens:
                for sentence in buffer.feed(token):
                    yield release(sentence)
        rest = buffer.flush()
        if rest.strip():
            yield release(rest)
        check = check_citations("".join(shown), len(hits))
        out.model = self.llm.identity
        if not check.cited and not declines(check.text):
            # Passages were required and the model cited none: its text cannot be trusted.
            raise OutputRejected("no citations")
        final = guard.check_answer(check.text, check.cited)
        if not final.ok:
            raise OutputRejected(final.reason)
        out.answer, out.mode = final.text, Mode.LLM
        out.citations = tuple(
            Citation(n, h.chunk.doc_id, h.chunk.title, h.chunk.section, h.chunk.chunk_id, h.chunk.text[:120])
            for n, h in ((n, hits[n - 1]) for n in check.cited)
        )

    def extractive(self, question: str, hits: Sequence[Hit], topic: str | None) -> Answer:
        """Document facts from the registry; a guide's asked fields when the question is about a guide;
        else the best sentences."""
        facts = metadata_answer(self.kb.registry, question, hits)
        if facts is not None:
            return facts
        guide_id = self._guide_for(question, hits, topic)
        if guide_id is not None:
            chunks = self.kb.registry.document_chunks(guide_id)
            if chunks:
                found = [
                    SECTION_TO_FIELD.get(h.chunk.section, "")
                    for h in hits[:3]
                    if h.chunk.doc_id == guide_id and h.relevance >= self.kb.cfg.min_relevance
                ]
                faq = self._best_faq(question, chunks)
                groups = self.kb.term_groups(question)
                weight = self.kb.term_weight_function(question)
                named = self.items.match(question) or topic
                scope = (
                    "" if named == guide_id else self.prompts.reply("partial_coverage", title=chunks[0].title)
                )
                answer = guide_answer(
                    chunks[0].title,
                    chunks,
                    question,
                    core_name(chunks[0].title),
                    found,
                    faq,
                    coverage=(groups, lambda g, t: term_coverage(g, t, weight)),
                    scope=scope,
                )
                if chunks[0].metadata.get("sample"):
                    # Sample data must say so to the reader, on every answer quoting it.
                    footer = self.prompts.reply("unverified_footer")
                    answer = Answer(f"{answer.text}\n\n{footer}", answer.citations)
                return answer
        groups = self.kb.term_groups(question)
        idf = self.kb.term_weight_function(question)
        return sentence_answer(hits, groups, idf, question=question)

    def _best_faq(self, question: str, chunks: Sequence[Chunk]) -> tuple[Chunk, str] | None:
        """The guide's FAQ entry that answers the question, when one clearly does.

        It must cover the question's topic words well, ask the same kind of thing (a 多久 question is
        not answered by a 带什么 entry), and beat the runner-up clearly; otherwise the caller shows the
        asked fields (or the whole FAQ section), not a guess at one entry.
        """
        groups = self.kb.term_groups(question)
        weight = self.kb.term_weight_function(question)
        asked = set(asked_fields(question))
        scored: list[tuple[float, Chunk, str]] = []
        for chunk in chunks:
            if SECTION_TO_FIELD.get(chunk.section) != "faq":
                continue
            for entry in faq_entries(chunk):
                entry_question = entry.split("答：", 1)[0]
                if asked and not asked & set(asked_fields(entry_question)):
                    continue  # it answers another kind of question (when vs. what to bring)
                # The guide's own name and aliases are context of every entry (as in search).
                context = f"{chunk.title} {chunk.metadata.get('aliases', '')} {entry_question}"
                scored.append((term_coverage(groups, context, weight), chunk, entry))
        scored.sort(key=lambda s: -s[0])
        if not scored or scored[0][0] < self.faq_min_coverage:
            return None
        if len(scored) > 1 and scored[0][0] - scored[1][0] < self.faq_margin:
            return None
        return scored[0][1], scored[0][2]

    def _guide_for(self, question: str, hits: Sequence[Hit], topic: str | None) -> str | None:
        """The guide to quote: named in the question, else the topic, else a guide that tops the hits."""
        named = self.items.match(question)
        if named:
            return named
        top = hits[0].chunk if hits else None
        if top is not None and top.metadata.get("doc_type") == "guide":
            if asked_fields(question) or topic == top.doc_id:
                return top.doc_id
            # An overview is only right when the guide clearly dominates the results.
            if sum(1 for h in hits[:3] if h.chunk.doc_id == top.doc_id) >= 2:
                return top.doc_id
        return None


def fit_passages(hits: Sequence[Hit], max_chars: int) -> list[Hit]:
    """The best-ranked passages that fit ``max_chars`` (always at least the first one)."""
    kept: list[Hit] = []
    used = 0
    for hit in hits:
        size = len(hit.chunk.text)
        if kept and used + size > max_chars:
            break
        kept.append(hit)
        used += size
    return kept
