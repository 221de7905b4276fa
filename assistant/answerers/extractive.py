"""Extractive answers: guide fields verbatim, or the best-matching policy sentences, always cited.

Used when no LLM is configured and whenever the LLM fails or cites nothing. Materials, fees and time
limits are copied from the guide's own text; nothing here generates a fact. Every answer starts with
the sentence that answers the question (``assistant.answerers.direct``), then the excerpt it comes
from, then the next step; editors' provenance notes are moved from the text into the citation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.answerers.direct import best_sentences, missing_figure, provision_label, question_kind
from assistant.answerers.provenance import clean
from assistant.types import Citation
from retrieval.guide import FIELD_SECTIONS
from retrieval.guide_fields import asked_fields
from retrieval.relevance import term_coverage
from retrieval.types import Chunk, Hit

_PREFIX = re.compile(r"^【[^】]*】\s*")
_ITEM = re.compile(r"^\s*(?:\d{1,2}[.、)）]|-)\s*")
OVERVIEW_FIELDS = ("summary", "bundled_items")
SECTION_TO_FIELD = {v: k for k, v in FIELD_SECTIONS.items()}


@dataclass(frozen=True)
class Answer:
    text: str
    citations: tuple[Citation, ...]


def strip_prefix(text: str) -> str:
    return _PREFIX.sub("", text, count=1)


Coverage = Callable[[Sequence[Sequence[str]], str], float]


def _cite(n: int, chunk: Chunk, note: str = "") -> Citation:
    body = strip_prefix(chunk.text)
    label = provision_label(body)
    section = f"{chunk.section} {label}".strip() if label and label not in chunk.section else chunk.section
    return Citation(n, chunk.doc_id, chunk.title, section, chunk.chunk_id, body[:120], note)


def faq_entries(chunk: Chunk) -> list[str]:
    """The 问/答 pairs of a guide's FAQ chunk, each as its verbatim text."""
    body = strip_prefix(chunk.text)
    return [f"问：{part.strip()}" for part in body.split("问：") if part.strip()]


def faq_reply(entry: str) -> str:
    """The answer half of a 问/答 pair (never the question alone)."""
    _, sep, reply = entry.partition("答：")
    return reply.strip() if sep else entry


def _direct(picks: Sequence[str], question: str, refs: str) -> str:
    """The direct answer: the chosen sentences with their marker; the honest line when a figure asked
    for is not among them."""
    quoted = "".join(picks)
    missing = missing_figure(question, quoted)
    if missing:
        return missing  # never an unrelated figure (a fee for a benefit amount) as the answer
    sep = "\n" if any(_ITEM.match(p) for p in picks) else ""
    return f"{sep.join(picks)} {refs}" if picks else ""


def guide_answer(
    title: str,
    chunks: Sequence[Chunk],
    question: str,
    item_name: str,
    found: Sequence[str] = (),
    faq: tuple[Chunk, str] | None = None,
    coverage: tuple[list[list[str]], Coverage] | None = None,
    scope: str = "",
) -> Answer:
    """The direct answer from one guide, then the asked fields verbatim, then the next step.

    With no field cue in the question, the fields search found for it (``found``, e.g. a FAQ entry)
    are shown; with neither, the guide's overview and what else can be asked. A FAQ entry that answers
    the question itself (``faq``: its chunk and the one 问/答 pair) comes first. ``coverage`` (the
    question's term groups and a coverage function) picks the answering sentences; ``scope`` says
    which part of the question the guide covers when it is not the item asked about.
    """
    by_field: dict[str, list[Chunk]] = {}
    for c in chunks:
        field = SECTION_TO_FIELD.get(c.section.split(" > ")[-1])
        if field:
            by_field.setdefault(field, []).append(c)
    wanted = [f for f in asked_fields(question) if f in by_field]
    if not wanted:
        wanted = [f for f in dict.fromkeys(found) if f in by_field][:2]
    overview = not wanted
    if overview:
        wanted = [f for f in OVERVIEW_FIELDS if f in by_field]
    groups, cover = coverage if coverage else ([], lambda _g, _t: 0.0)
    parts: list[str] = []
    excerpt: list[str] = [f"根据《{title}》办事指南："]
    citations: list[Citation] = []
    direct = ""
    if faq is not None:
        reply = clean(faq_reply(faq[1]))
        citations.append(_cite(1, faq[0], reply.note))
        picks = [p.sentence for p in best_sentences(reply.text, question, groups, cover, n=2)]
        direct = _direct(picks or [reply.text], question, "[1]")
        question_line = faq[1].split("答：", 1)[0].strip()
        excerpt.append(f"【常见问题】[1]\n{question_line}\n答：{reply.text}")
        wanted = [f for f in wanted if f != "faq"]
        overview = False
    for field in wanted:
        for chunk in by_field[field]:
            text = clean(strip_prefix(chunk.text))
            n = len(citations) + 1
            citations.append(_cite(n, chunk, text.note))
            excerpt.append(f"【{FIELD_SECTIONS[field]}】[{n}]\n{text.text}")
            if not direct and not overview:
                picks = [p.sentence for p in best_sentences(text.text, question, groups, cover, n=2)]
                direct = _direct(picks, question, f"[{n}]")
                if direct and not direct.endswith("]"):
                    # The figure asked for is not in the guide: no unrelated field is quoted for it.
                    citations.pop()
                    excerpt.pop()
                    break
    if overview and not direct:
        direct = missing_figure(question, "") or ""  # a figure asked of a guide that has no such field
    if scope:
        parts.append(scope)
    if direct:
        parts.append(direct)
    parts.append("\n\n".join(excerpt))
    if overview:
        parts.append(
            f"您可以继续问我：需要准备哪些材料、办理条件、办理流程、多久能办好、在哪里办；"
            f"如需办理，回复“我要办{item_name}”，我会一步步帮您生成个人材料清单。"
        )
    elif item_name and any(f in ("materials", "conditions", "steps") for f in wanted):
        parts.append(f"要不要帮您生成个人材料清单？回复“我要办{item_name}”即可。")
    return Answer("\n\n".join(parts), tuple(citations))


def _units(chunk: Chunk) -> list[str]:
    """What a passage can be quoted by: its sentences, or for a FAQ its answers (never a bare question)."""
    body = strip_prefix(chunk.text)
    if "问：" in body and "答：" in body:
        return [faq_reply(e) for e in faq_entries(chunk)]
    return [body]


def sentence_answer(
    hits: Sequence[Hit],
    term_groups: list[list[str]],
    idf: Callable[[str], float],
    max_sentences: int = 4,
    question: str = "",
) -> Answer:
    """The direct answer (the passages' best sentence for what is asked), then the other best
    sentences in reading order, cited; FAQ passages are quoted by their answers."""
    kind = question_kind(question)

    def cover(groups: Sequence[Sequence[str]], text: str) -> float:
        return term_coverage(groups, text, idf)

    scored: list[tuple[float, int, int, str]] = []
    for hit_idx, hit in enumerate(hits[:4]):
        idx = 0
        for unit in _units(hit.chunk):
            for pick in best_sentences(unit, question, term_groups, cover, n=50):
                text = clean(pick.sentence).text
                if len(text) >= 6:
                    scored.append((pick.score - 0.02 * hit_idx, hit_idx, idx, text))
                idx += 1
    best = sorted(scored, key=lambda s: -s[0])[:max_sentences]
    best = [b for b in best if b[0] > 0] or best[:1]
    citations: dict[int, Citation] = {}

    def ref(hit_idx: int) -> str:
        if hit_idx not in citations:
            citations[hit_idx] = _cite(len(citations) + 1, hits[hit_idx].chunk)
        return f"[{citations[hit_idx].n}]"

    if not best:
        return Answer("", ())
    top = best[0]
    direct = _direct([top[3]], question, ref(top[1])) if kind else f"{top[3]} {ref(top[1])}"
    if not direct.endswith("]"):
        return Answer(direct, ())  # the figure asked for is in none of the passages
    # Supporting sentences: only those nearly as good as the direct one.
    rest = sorted((b for b in best[1:3] if b[0] >= 0.6 * top[0]), key=lambda s: (s[1], s[2]))
    lines = [f"- {sentence} {ref(hit_idx)}" for _, hit_idx, _, sentence in rest]
    titles = "、".join(dict.fromkeys(f"《{c.title}》" for c in citations.values()))
    text = direct + (f"\n\n根据{titles}中的相关内容：\n" + "\n".join(lines) if lines else "")
    return Answer(text, tuple(citations.values()))
