"""Document facts from the registry, and the structural evidence that a question is answerable.

成文日期, 发布日期, 文号, 发文机关 and status are metadata of an ingested document (front matter,
HTML meta): they are answered from the registry, not looked for in the passages, which rarely state
them. Structural evidence covers questions whose answer is known by structure rather than by shared
words: a document fact of the document the passages come from, or a field of the guide the question
names (the item's materials, time limit …).
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.answerers.direct import asked_metadata, metadata_sentence, question_kind
from assistant.answerers.extractive import Answer, strip_prefix
from assistant.items import ItemMatcher
from assistant.types import Citation
from retrieval.guide_fields import asked_fields
from retrieval.knowledge_base import KnowledgeBase
from retrieval.registry import DocumentRegistry
from retrieval.types import Hit


def _document_hit(hits: Sequence[Hit]) -> Hit | None:
    """The best passage from a document that has document facts (a policy, notice, article)."""
    for hit in hits[:3]:
        if hit.chunk.metadata.get("doc_type") != "guide":
            return hit
    return None


def metadata_answer(registry: DocumentRegistry, question: str, hits: Sequence[Hit]) -> Answer | None:
    """The asked document facts of the best-matching document, from the registry; None when the
    question asks none or the document does not record them."""
    asked = asked_metadata(question)
    hit = _document_hit(hits) if asked else None
    if hit is None:
        return None
    record = registry.get(hit.chunk.doc_id)
    if record is None:
        return None
    meta = {**record.metadata, "status": record.status or record.metadata.get("status", "")}
    lines = [metadata_sentence(record.title, f, str(meta[f])) for f in asked if meta.get(f)]
    if not lines:
        return None
    body = strip_prefix(hit.chunk.text)
    cite = Citation(1, hit.chunk.doc_id, record.title, "文件信息", hit.chunk.chunk_id, body[:120])
    facts = [f"{label}：{meta[f]}" for f, label in _LABELS if meta.get(f)]
    text = " ".join(lines) + " [1]\n\n" + "；".join(facts) + "。"
    return Answer(text, (cite,))


_LABELS = (("issuer", "发文机关"), ("doc_number", "文号"), ("signed", "成文日期"), ("published", "发布日期"),
           ("status", "状态"))  # fmt: skip


def structural_evidence(
    kb: KnowledgeBase, items: ItemMatcher, question: str, hits: Sequence[Hit], guide: str | None = None
) -> bool:
    """Whether the question is answerable by structure although few of its words match a passage.
    ``guide``: the guide the message is about when it does not name it (the understood item)."""
    if asked_metadata(question) and (hit := _document_hit(hits)) is not None:
        record = kb.registry.get(hit.chunk.doc_id)
        meta = record.metadata if record is not None else {}
        if any(meta.get(f) for f in asked_metadata(question)):
            return True
    guide = items.match(question) or guide
    if guide is None or not any(h.chunk.doc_id == guide for h in hits):
        return False
    # A field of the named guide is asked (its materials, time limit …), or a definite kind of thing
    # (who, which, whether): the guide answers it, or the answer says plainly what it lacks.
    return bool(asked_fields(question)) or bool(question_kind(question))
