"""Chinese-structure-aware chunking: a ``LoadedDocument`` becomes indexable ``Chunk``s.

Official documents are built from numbered provisions (第X章/节/条, 一、, （一）), and a citizen's
question is usually about one provision, so a chunk starts where a provision starts:

1. Blocks are never crossed (a block is a heading path or a guide field group).
2. A ``keep_whole`` block (a guide's materials, conditions, steps) that fits in
   ``2 * chunk_size`` stays one chunk, so "要带什么材料" retrieves the whole list.
3. Otherwise the text is split at the highest structural level present: 第X章, 第X节, 第X条,
   ``一、``, ``（一）``. Each provision at these levels starts its own chunk (provisions are not
   packed together, so a citation's snippet opens on the provision it cites).
4. A provision longer than ``chunk_size`` is split further at the next levels, then by
   ``1.``/``1、``/``(1)`` items, list items, paragraphs, lines, sentence ends 。！？；,
   clauses ，、：, and only for one overlong clause by a hard cut; pieces at these levels are
   packed greedily up to ``chunk_size``.
5. Pieces shorter than ``chunk_min`` join a neighbour in the block (a lone heading or a tiny
   provision joins the next provision, the tail of a split provision joins its previous
   piece) as long as the result stays within ``chunk_size + chunk_min``.
6. No chunk starts with closing or middle punctuation (，。；：、？！”）》 …): it is moved to the
   end of the previous chunk.

Why LangChain for step 4 only: ``RecursiveCharacterTextSplitter`` with regex separators does
exactly the recursive "split at the best separator, pack greedily, recurse on what is still
too long" for the packable levels. It cannot express step 3 (it always packs neighbours
together) nor steps 5 and 6, so those stay here as small pure functions around it. Pieces are
tracked as spans of the block text, so merging never invents or loses a character.
"""

from __future__ import annotations

import itertools
import re

from langchain_text_splitters import RecursiveCharacterTextSplitter

from retrieval.normalize import normalize_text
from retrieval.types import Block, Chunk, LoadedDocument

__all__ = ["chunk_document", "split_block_text"]

_CN_NUM = "一二三四五六七八九十百千零〇两"
# Provision levels, highest first: each unit at these levels starts its own chunk.
_PROVISION_LEVELS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.MULTILINE)
    for p in (
        rf"^[ \t]*第[{_CN_NUM}\d]+章",
        rf"^[ \t]*第[{_CN_NUM}\d]+节",
        rf"^[ \t]*第[{_CN_NUM}\d]+条",
        rf"^[ \t]*[{_CN_NUM}]+、",
        rf"^[ \t]*[（(][{_CN_NUM}]+[）)]",
    )
)
# Packable levels for the LangChain splitter (regex, zero-width where the text must be kept).
_CLOSERS = "”’」』）》】〕)\\]"
_PACKABLE_SEPARATORS: list[str] = [
    r"\n(?=[ \t]*\d{1,3}[.、．](?!\d))",  # 1. / 1、 items
    r"\n(?=[ \t]*[（(]\d{1,3}[）)])",  # (1) / （1） items
    r"\n(?=[ \t]*[①-⑳])",  # circled numbers
    r"\n(?=[ \t]*[-*•·●▪] )",  # list items
    r"\n\n+",  # paragraphs
    r"\n",  # lines
    # after a sentence end, taking any closing quotes/brackets along
    rf"(?<=[。！？；!?;])(?![{_CLOSERS}。！？；!?;])|(?<=[。！？；!?;][{_CLOSERS}])(?![{_CLOSERS}])",
    r"(?<=[，、：,:])",  # clauses
    "",  # hard cut, only reached by a single clause longer than chunk_size
]
# Characters that must not open a chunk (closing brackets/quotes and middle/ending punctuation).
_NO_LEADING = set("，。；：、？！…‥”’」』）》】〕〉,.;:?!)]}%")


Span = tuple[int, int]


def _provision_units(text: str, span: Span, level: int) -> list[Span] | None:
    """Spans of ``text[span]`` cut before each line of provision ``level``; None if absent."""
    lo, hi = span
    starts = [m.start() for m in _PROVISION_LEVELS[level].finditer(text, lo, hi)]
    if not starts or (len(starts) == 1 and not text[lo : starts[0]].strip()):
        return None
    bounds = [lo, *(s for s in starts if s > lo), hi]
    return [(a, b) for a, b in itertools.pairwise(bounds) if text[a:b].strip()]


def _packed_spans(text: str, span: Span, chunk_size: int) -> list[Span]:
    """Greedy packing of the packable levels by LangChain, mapped back to spans of ``text``.

    The splitter returns stripped, contiguous substrings in order, so each is found at or
    after the previous one; spans keep the original separators when pieces are merged later.
    """
    splitter = RecursiveCharacterTextSplitter(
        separators=_PACKABLE_SEPARATORS,
        chunk_size=chunk_size,
        chunk_overlap=0,
        keep_separator="start",
        is_separator_regex=True,
        strip_whitespace=True,
    )
    lo, hi = span
    spans: list[Span] = []
    cursor = lo
    for piece in splitter.split_text(text[lo:hi]):
        at = text.find(piece, cursor, hi)
        if at < 0:  # cannot happen with keep_separator; keep the text rather than lose it
            at = cursor
        spans.append((at, at + len(piece)))
        cursor = at + len(piece)
    return spans


def _size(text: str, span: Span) -> int:
    return len(text[span[0] : span[1]].strip())


def _absorb_small(
    text: str, spans: list[Span], movable: list[bool], chunk_min: int, limit: int, *, forward: bool
) -> list[Span]:
    """Join movable spans shorter than ``chunk_min`` to a neighbour, within ``limit`` chars.

    ``forward`` prefers the *next* neighbour (a lone heading or a tiny provision belongs with
    what follows); otherwise the previous one (the tail of a long provision belongs to it).
    The other side is tried when the preferred one is missing or would grow past ``limit``;
    a fragment that fits nowhere stays on its own rather than make an oversized chunk.
    """
    out, mov = list(spans), list(movable)
    i = 0
    while i < len(out):
        if len(out) == 1 or not mov[i] or _size(text, out[i]) >= chunk_min:
            i += 1
            continue
        for j in (i + 1, i - 1) if forward else (i - 1, i + 1):
            if 0 <= j < len(out):
                a, b = min(i, j), max(i, j)
                merged = (out[a][0], out[b][1])
                if _size(text, merged) <= limit:
                    out[a : b + 1], mov[a : b + 1] = [merged], [True]
                    i = a  # look again: the merged span may still be short
                    break
        else:
            i += 1
    return out


def _split(text: str, span: Span, level: int, chunk_size: int, chunk_min: int) -> list[Span]:
    limit = chunk_size + chunk_min
    for lvl in range(level, len(_PROVISION_LEVELS)):
        units = _provision_units(text, span, lvl)
        if units is None:
            continue
        groups = [
            [u] if _size(text, u) <= chunk_size else _split(text, u, lvl + 1, chunk_size, chunk_min)
            for u in units
        ]
        # Only whole provisions move: a short one (or a lone chapter heading) joins the next
        # provision; the pieces of a split provision stay where they are.
        flat = [s for g in groups for s in g]
        movable = [len(g) == 1 for g in groups for _ in g]
        return _absorb_small(text, flat, movable, chunk_min, limit, forward=True)
    if _size(text, span) <= chunk_size:
        return [span]
    packed = _packed_spans(text, span, chunk_size)
    return _absorb_small(text, packed, [True] * len(packed), chunk_min, limit, forward=False)


def _fix_leading_punctuation(text: str, spans: list[Span]) -> list[Span]:
    """Move punctuation that opens a span onto the end of the span before it.

    At the start of a block there is no span before; the stray punctuation carries no
    meaning there and is dropped.
    """
    out: list[Span] = []
    for lo, hi in spans:
        j = lo
        while j < hi and (text[j] in _NO_LEADING or text[j].isspace()):
            j += 1
        if out and text[lo:j].strip():
            out[-1] = (out[-1][0], j)
        if text[j:hi].strip():
            out.append((j, hi))
    return out


def split_block_text(block: Block, *, chunk_size: int = 500, chunk_min: int = 40) -> list[str]:
    """The chunk texts of one block (without any prefix), in order; pure and deterministic."""
    text = normalize_text(block.text)
    if not text:
        return []
    if block.keep_whole and len(text) <= 2 * chunk_size:
        return [text]
    spans = _fix_leading_punctuation(text, _split(text, (0, len(text)), 0, chunk_size, chunk_min))
    return [text[lo:hi].strip() for lo, hi in spans]


def chunk_document(
    doc: LoadedDocument, version: int, *, chunk_size: int = 500, chunk_min: int = 40
) -> list[Chunk]:
    """Split a loaded document into chunks with stable ids.

    Args:
        doc: A loaded (normalised) document.
        version: The document version; part of every ``chunk_id``.
        chunk_size: Target maximum characters per chunk, without the guide prefix. A
            ``keep_whole`` block may use twice this; absorbing a piece shorter than
            ``chunk_min`` may add up to ``chunk_min`` more (plus punctuation moved back).
        chunk_min: Pieces shorter than this are joined to a neighbour in the same block.

    Raises:
        ValueError: when ``chunk_size < 1`` or ``chunk_min`` is not in ``[0, chunk_size)``.

    Returns:
        Chunks in document order with ordinals 0..n-1. Guide chunks start with
        ``【<guide name>·<section>】`` so every passage says which item and field it is from.
    """
    if chunk_size < 1 or not 0 <= chunk_min < chunk_size:
        raise ValueError(
            f"need chunk_size >= 1 and 0 <= chunk_min < chunk_size, got {chunk_size}, {chunk_min}"
        )
    is_guide = doc.doc_type == "guide"
    base_meta = {**doc.metadata}
    base_meta.setdefault("doc_type", doc.doc_type)
    base_meta.setdefault("source", doc.source)
    chunks: list[Chunk] = []
    for block in doc.blocks:
        section = normalize_text(block.section)
        prefix = ""
        if is_guide:
            label = f"{doc.title}·{section}" if section else doc.title
            prefix = f"【{label}】\n"
        for piece in split_block_text(block, chunk_size=chunk_size, chunk_min=chunk_min):
            ordinal = len(chunks)
            chunks.append(
                Chunk(
                    chunk_id=Chunk.make_id(doc.doc_id, version, ordinal),
                    doc_id=doc.doc_id,
                    version=version,
                    ordinal=ordinal,
                    title=doc.title,
                    section=section,
                    text=prefix + piece,
                    metadata={**base_meta, "section": section},
                )
            )
    return chunks
