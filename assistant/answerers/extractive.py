"""Extractive answers: guide fields verbatim, or the best-matching policy sentences, always cited.

Used when no LLM is configured and whenever the LLM fails or cites nothing. Materials, fees and time
limits are copied from the guide's own text; nothing here generates a fact.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.types import Citation
from retrieval.guide import FIELD_SECTIONS
from retrieval.guide_fields import asked_fields
from retrieval.relevance import term_coverage
from retrieval.types import Chunk, Hit

_PREFIX = re.compile(r"^【[^】]*】\s*")
_SENTENCE = re.compile(r"[^。！？；\n]+[。！？；]?")
OVERVIEW_FIELDS = ("summary", "bundled_items")
SECTION_TO_FIELD = {v: k for k, v in FIELD_SECTIONS.items()}


@dataclass(frozen=True)
class Answer:
    text: str
    citations: tuple[Citation, ...]


def strip_prefix(text: str) -> str:
    return _PREFIX.sub("", text, count=1)


def _cite(n: int, chunk: Chunk) -> Citation:
    body = strip_prefix(chunk.text)
    return Citation(n, chunk.doc_id, chunk.title, chunk.section, chunk.chunk_id, body[:120])


def faq_entries(chunk: Chunk) -> list[str]:
    """The 问/答 pairs of a guide's FAQ chunk, each as its verbatim text."""
    body = strip_prefix(chunk.text)
    return [f"问：{part.strip()}" for part in body.split("问：") if part.strip()]


def guide_answer(
    title: str,
    chunks: Sequence[Chunk],
    question: str,
    item_name: str,
    found: Sequence[str] = (),
    faq: tuple[Chunk, str] | None = None,
) -> Answer:
    """Renders the asked fields of one guide verbatim.

    With no field cue in the question, the fields search found for it (``found``, e.g. a FAQ entry)
    are shown; with neither, the guide's overview and what else can be asked. A FAQ entry that answers
    the question itself (``faq``: its chunk and the one 问/答 pair) comes first.
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
    parts: list[str] = [f"根据《{title}》办事指南："]
    citations: list[Citation] = []
    if faq is not None:
        citations.append(_cite(1, faq[0]))
        parts.append(f"【常见问题】[1]\n{faq[1]}")
        wanted = [f for f in wanted if f != "faq"]
        overview = False
    for field in wanted:
        for chunk in by_field[field]:
            n = len(citations) + 1
            citations.append(_cite(n, chunk))
            parts.append(f"【{FIELD_SECTIONS[field]}】[{n}]\n{strip_prefix(chunk.text)}")
    if overview:
        parts.append(
            f"您可以继续问我：需要准备哪些材料、办理条件、办理流程、多久能办好、在哪里办；"
            f"如需办理，回复“我要办{item_name}”，我会一步步帮您生成个人材料清单。"
        )
    return Answer("\n\n".join(parts), tuple(citations))


def sentence_answer(
    hits: Sequence[Hit],
    term_groups: list[list[str]],
    idf: Callable[[str], float],
    max_sentences: int = 4,
) -> Answer:
    """The passages' best sentences (by IDF-weighted term coverage), kept in reading order, cited."""
    scored: list[tuple[float, int, int, str]] = []
    for hit_idx, hit in enumerate(hits[:4]):
        for sent_idx, m in enumerate(_SENTENCE.finditer(strip_prefix(hit.chunk.text))):
            sentence = m.group(0).strip()
            if len(sentence) < 6:
                continue
            score = term_coverage(term_groups, sentence, idf) - 0.02 * hit_idx
            scored.append((score, hit_idx, sent_idx, sentence))
    best = sorted(scored, key=lambda s: -s[0])[:max_sentences]
    best = [b for b in best if b[0] > 0] or best[:1]
    best.sort(key=lambda s: (s[1], s[2]))
    citations: dict[int, Citation] = {}
    lines: list[str] = []
    for _, hit_idx, _, sentence in best:
        chunk = hits[hit_idx].chunk
        if hit_idx not in citations:
            citations[hit_idx] = _cite(len(citations) + 1, chunk)
        lines.append(f"- {sentence} [{citations[hit_idx].n}]")
    titles = "、".join(dict.fromkeys(f"《{c.title}》" for c in citations.values()))
    text = f"根据{titles}中的相关内容：\n" + "\n".join(lines)
    return Answer(text, tuple(citations.values()))
