"""The knowledge base: ingest, replace, retire, delete and hybrid search, over every index at once.

Indexes: the SQL registry (source of truth for live versions and chunk text), Chroma (dense vectors)
and a bm25s index (lexical, rebuilt from stored tokens after each batch). See registry.py for why a
crash mid-replace leaves the old version searchable.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from retrieval.chunking import chunk_document
from retrieval.config import RetrievalSettings
from retrieval.embedders.base import Embedder
from retrieval.fusion import reciprocal_rank_fusion
from retrieval.guide import FIELD_SECTIONS, ServiceGuide, dictionary_words
from retrieval.guide_fields import asked_fields, matched_cues
from retrieval.lexical.bm25 import BM25Index
from retrieval.lexical.synonyms import SynonymMap
from retrieval.lexical.tokenizer import ChineseTokenizer
from retrieval.loaders import SUPPORTED_SUFFIXES, load_path
from retrieval.registry import DocumentRecord, DocumentRegistry, new_record
from retrieval.relevance import combine, term_coverage
from retrieval.rerankers.base import Reranker
from retrieval.stores.base import VectorStore
from retrieval.types import Chunk, Hit, LoadedDocument, LoaderError, SearchFilters, SearchResult

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, str], None]  # (path, outcome)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    chunks: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "replaced": self.replaced,
            "unchanged": self.unchanged,
            "failed": [{"path": p, "error": e} for p, e in self.failed],
            "chunks": self.chunks,
        }


def content_hash(doc: LoadedDocument) -> str:
    h = hashlib.sha256()
    h.update(doc.title.encode("utf-8"))
    for key in sorted(doc.metadata):
        if key != "source":
            h.update(f"\x00{key}={doc.metadata[key]}".encode())
    for block in doc.blocks:
        h.update(b"\x01" + block.section.encode("utf-8") + b"\x02" + block.text.encode("utf-8"))
    return h.hexdigest()


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given plus supported files inside folders (sorted, hidden files skipped).

    A file named twice (directly and through its folder) is listed once.
    """
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(
                f
                for f in p.rglob("*")
                if f.is_file()
                and f.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        else:
            out.append(p)
    seen: set[Path] = set()
    unique: list[Path] = []
    for f in out:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


class KnowledgeBase:
    def __init__(
        self,
        *,
        cfg: RetrievalSettings,
        registry: DocumentRegistry,
        vectors: VectorStore,
        embedder: Embedder,
        lexical_dir: Path,
        synonyms: SynonymMap | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.cfg = cfg
        self.registry = registry
        self.vectors = vectors
        self.embedder = embedder
        self.reranker = reranker
        self.synonyms = (
            synonyms
            if synonyms is not None
            else SynonymMap.load(Path(cfg.synonyms_path) if cfg.synonyms_path else None)
        )
        self._lexical_dir = lexical_dir
        self._tokenizer: ChineseTokenizer | None = None
        self._bm25: BM25Index | None = None
        self._title_terms: tuple[int, list[tuple[str, str]]] = (-1, [])
        # key -> positions in _title_terms (see _named_docs), all-space terms, shortest/longest key
        self._title_lookup: tuple[dict[str, list[int]], list[int], int, int] = ({}, [], 0, 0)

    # --- lifecycle -------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Creates tables, builds the tokenizer, cleans up after a crash, loads or rebuilds BM25."""
        self.registry.create_tables()
        words = set(self.synonyms.words())
        for rec in self.registry.all_documents():
            words.update(rec.metadata.get("dict_words", []))
        glossary = Path(self.cfg.user_dict_path) if self.cfg.user_dict_path else None
        self._tokenizer = ChineseTokenizer(words, glossary=glossary) if glossary else ChineseTokenizer(words)
        stale = self.registry.stale_chunk_ids()
        if stale:
            log.warning("removing %d chunks of versions that never went live", len(stale))
            self.vectors.delete(stale)
            self.registry.drop_chunks(stale)
        loaded = BM25Index.load(self._lexical_dir)
        if loaded is not None and loaded.kb_version == self.registry.kb_version():
            self._bm25 = loaded
        else:
            self.rebuild_lexical()

    @property
    def tokenizer(self) -> ChineseTokenizer:
        if self._tokenizer is None:
            self.warm_up()
        assert self._tokenizer is not None
        return self._tokenizer

    def rebuild_lexical(self) -> None:
        version = self.registry.kb_version()
        rows = ((chunk_id, toks.split()) for chunk_id, toks in self.registry.live_tokens())
        index = BM25Index.from_rows(rows, version)
        index.save(self._lexical_dir)
        self._bm25 = index

    # --- ingestion -------------------------------------------------------------------------
    def ingest_paths(
        self, paths: Iterable[Path], progress: ProgressFn | None = None, batch_size: int = 64
    ) -> IngestReport:
        """Adds or replaces each file; a file that fails is reported and the batch goes on."""
        report = IngestReport()
        pending: list[tuple[str, LoadedDocument]] = []

        def flush() -> None:
            try:
                outcomes = self._ingest_batch([d for _, d in pending], report)
            except Exception as exc:  # one bad batch must not lose the rest; report each file in it
                log.exception("indexing a batch failed")
                outcomes = ["failed"] * len(pending)
                report.failed += [(p, f"{type(exc).__name__}: {exc}") for p, _ in pending]
            if progress:
                for (path, _), outcome in zip(pending, outcomes, strict=True):
                    progress(path, outcome)
            pending.clear()

        for path in expand_paths(paths):
            try:
                pending.append((str(path), load_path(path)))
            except LoaderError as exc:
                report.failed.append((str(path), str(exc)))
                if progress:
                    progress(str(path), "failed")
            if len(pending) >= batch_size:
                flush()
        if pending:
            flush()
        if report.added or report.replaced:
            self.rebuild_lexical()
        return report

    def ingest_documents(self, docs: Iterable[LoadedDocument], batch_size: int = 256) -> IngestReport:
        """Bulk path for already-loaded documents (benchmarks, connectors): batched embedding and writes."""
        report = IngestReport()
        batch: list[LoadedDocument] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                self._ingest_batch(batch, report)
                batch = []
        if batch:
            self._ingest_batch(batch, report)
        if report.added or report.replaced:
            self.rebuild_lexical()
        return report

    def _ingest_batch(self, docs: list[LoadedDocument], report: IngestReport) -> list[str]:
        """Stages every new version (SQL + Chroma), then publishes them all in one transaction."""
        # A batch may name one document twice (a file and its copy): the last one wins.
        unique = list({d.doc_id: d for d in docs}.values())
        existing = self.registry.current([d.doc_id for d in unique])
        outcome_by_id: dict[str, str] = {}
        records = []
        all_chunks: list[Chunk] = []
        for doc in unique:
            digest = content_hash(doc)
            current = existing.get(doc.doc_id)
            if current is not None and current.content_hash == digest:
                outcome_by_id[doc.doc_id] = "unchanged"
                continue
            version = current.version + 1 if current else 1
            chunks = chunk_document(
                doc, version, chunk_size=self.cfg.chunk_size, chunk_min=self.cfg.chunk_min
            )
            metadata: dict[str, object] = dict(doc.metadata)
            if doc.doc_type == "guide":
                words = self._guide_words(doc)
                metadata["dict_words"] = words
                self.tokenizer.add_words(words)
            all_chunks += chunks
            records.append(
                new_record(
                    doc.doc_id,
                    doc.title,
                    doc.doc_type,
                    doc.source,
                    version,
                    digest,
                    str(doc.metadata.get("status", "有效")),
                    len(chunks),
                    metadata,
                    created_at=current.created_at if current else None,
                )
            )
            outcome_by_id[doc.doc_id] = "replaced" if current else "added"
        if records:
            tokens = self.tokenizer.tokenize_many(c.text for c in all_chunks)
            vectors = self.embedder.embed_documents([c.text for c in all_chunks])
            self.registry.write_chunks(all_chunks, tokens)
            self.vectors.add(all_chunks, vectors)
            superseded = self.registry.publish(records)
            if superseded:
                self.vectors.delete(superseded)
                self.registry.drop_chunks(superseded)
        for doc_id, outcome in outcome_by_id.items():
            getattr(report, outcome).append(doc_id)
        report.chunks += len(all_chunks)
        return [outcome_by_id[d.doc_id] for d in docs]

    @staticmethod
    def _guide_words(doc: LoadedDocument) -> list[str]:
        path = Path(doc.source)
        try:
            guide = ServiceGuide.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except Exception:  # the loader already validated it; a vanished temp file just means no extra words
            return []
        return dictionary_words(guide)

    def delete(self, doc_id: str) -> bool:
        """Removes a document from SQL, Chroma and BM25; False when there was no such document."""
        if self.registry.get(doc_id) is None:
            return False
        ids = self.registry.delete_document(doc_id)
        self.vectors.delete(ids)
        self.rebuild_lexical()
        return True

    def retire(self, doc_id: str) -> bool:
        """Marks a document 废止: kept for the record, excluded from search by default."""
        ok = self.registry.set_status(doc_id, "废止")
        if ok:
            self.rebuild_lexical()
        return ok

    def documents(self) -> list[DocumentRecord]:
        return self.registry.all_documents()

    # --- search ----------------------------------------------------------------------------
    def search(self, query: str, k: int = 5, filters: SearchFilters | None = None) -> SearchResult:
        filters = filters or SearchFilters()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        expanded = self.synonyms.expand(query)
        q_tokens = self.tokenizer.tokenize(expanded)
        n_cand = self.cfg.candidates * (3 if _selective(filters) else 1)
        t1 = time.perf_counter()
        lexical = self._bm25.search(q_tokens, n_cand) if self._bm25 is not None else []
        t2 = time.perf_counter()
        dense: list[tuple[str, float]] = []
        if self.cfg.dense_weight > 0:
            dense = self.vectors.query(self.embedder.embed_query(expanded), n_cand)
        t3 = time.perf_counter()
        fused = reciprocal_rank_fusion(
            [[h.chunk_id for h in lexical], [cid for cid, _ in dense]],
            [self.cfg.lexical_weight, self.cfg.dense_weight],
            k=self.cfg.rrf_k,
        )
        lex_rank = {h.chunk_id: i for i, h in enumerate(lexical, 1)}
        dense_rank = {cid: i for i, (cid, _) in enumerate(dense, 1)}
        dense_sim = dict(dense)
        live = self.registry.fetch_live_chunks([cid for cid, _ in fused])
        named = self._named_docs(expanded)
        if named:
            # A question that names a document (社保卡, 个转企…) ranks that document's passages higher.
            titled = [cid for cid, _ in fused if cid in live and live[cid][0].doc_id in named]
            fused = reciprocal_rank_fusion(
                [[cid for cid, _ in fused], titled], [1.0, self.cfg.title_weight], k=self.cfg.rrf_k
            )
        sections = {FIELD_SECTIONS[f] for f in asked_fields(query)}
        if sections:
            # A question about 材料/时限/费用… ranks the guide sections holding that field higher:
            # a third, structural ranking fused with the same RRF (BM25 alone favours short chunks).
            # Matching sections are ordered by how well their own document ranks overall, so the
            # materials of the guide the citizen asked about come first, not any guide's materials.
            # Only sections of documents already near the top count: a question about a policy that
            # happens to say 号码 must not pull every guide's 咨询方式 up.
            doc_rank: dict[str, int] = {}
            for cid, _ in fused:
                if cid in live:
                    doc_rank.setdefault(live[cid][0].doc_id, len(doc_rank))
            structural = sorted(
                (
                    cid
                    for cid, _ in fused
                    if cid in live
                    and live[cid][0].section in sections
                    and doc_rank[live[cid][0].doc_id] < self.cfg.section_docs
                ),
                key=lambda cid: doc_rank[live[cid][0].doc_id],
            )
            fused = reciprocal_rank_fusion(
                [[cid for cid, _ in fused], structural], [1.0, self.cfg.section_weight], k=self.cfg.rrf_k
            )
        today = date.today().isoformat()
        kept: list[tuple[Chunk, float]] = []
        for cid, score in fused:
            if cid not in live:
                continue
            chunk, status = live[cid]
            if _allowed(chunk, status, filters, today):
                kept.append((chunk, score))
        t4 = time.perf_counter()
        groups = self.term_groups(query)
        idf = self.term_weight_function(query)
        if self.reranker is not None and kept:
            head = kept[: self.cfg.rerank_top_n]
            scores = self.reranker.score(expanded, [c.text for c, _ in head])
            order = sorted(range(len(head)), key=lambda i: -scores[i])
            kept = [(head[i][0], scores[i]) for i in order] + kept[len(head) :]
            rerank_prob = {head[i][0].chunk_id: _sigmoid(scores[i]) for i in order}
        else:
            rerank_prob = {}
        hits = []
        for chunk, score in kept[:k]:
            # A passage is about its document too: the title and aliases count as its context.
            context = f"{chunk.title} {chunk.metadata.get('aliases', '')} {chunk.text}"
            cov = term_coverage(groups, context, idf)
            semantic = rerank_prob.get(chunk.chunk_id, dense_sim.get(chunk.chunk_id))
            hits.append(
                Hit(
                    chunk=chunk,
                    score=score,
                    relevance=combine(cov, semantic),
                    lexical_rank=lex_rank.get(chunk.chunk_id),
                    dense_rank=dense_rank.get(chunk.chunk_id),
                )
            )
        t5 = time.perf_counter()
        timings.update(
            tokenize=(t1 - t0) * 1000,
            lexical=(t2 - t1) * 1000,
            dense=(t3 - t2) * 1000,
            hydrate=(t4 - t3) * 1000,
            score=(t5 - t4) * 1000,
            total=(t5 - t0) * 1000,
        )
        best = max((h.relevance for h in hits), default=0.0)
        return SearchResult(
            hits=tuple(hits),
            has_evidence=best >= self.cfg.min_relevance,
            expanded_query=expanded,
            timings_ms=timings,
        )

    def term_groups(self, query: str) -> list[list[str]]:
        """One group per query token: the token plus the official terms its colloquial form maps to."""
        matches = self.synonyms.matches(query)
        groups: list[list[str]] = []
        # Field cue words (什么材料, 多久) say what is asked, not what about: they are matched by
        # section (see search), never counted as topic terms a passage must contain.
        cues = [c for found in matched_cues(query).values() for c in found]
        terms = [t for t in self.tokenizer.terms(query) if not any(t in c or c in t for c in cues)]
        # A lone character (公 of 公租房 split apart) occurs inside countless unrelated words: as a
        # substring it would "cover" almost any passage, so it only counts when nothing longer is left.
        longer = [t for t in terms if len(t) > 1 or not ("\u4e00" <= t <= "\u9fff")]
        for tok in longer or terms:
            group = [tok]
            for variant, official in matches:
                variant = variant.lower()  # tokens are lower case: AI must still find 人工智能
                if tok in variant or variant in tok:
                    group.append(official.lower())
                    group += [t for t in self.tokenizer.tokenize(official) if t not in group]
            groups.append(group)
        return groups

    def _named_docs(self, query: str) -> set[str]:
        """Documents whose name or alias occurs in the query; the longest match wins per position."""
        version = self.registry.kb_version()
        if self._title_terms[0] != version:
            terms: list[tuple[str, str]] = []
            for rec in self.registry.all_documents():
                names = [core_title(rec.title), *str(rec.metadata.get("aliases", "")).split("、")]
                terms += [(t.lower(), rec.doc_id) for t in names if len(t) >= 3]
            terms.sort(key=lambda p: -len(p[0]))
            positions: dict[str, list[int]] = {}
            blank: list[int] = []
            for i, (term, _) in enumerate(terms):
                key = max(term.split(" "), key=len)  # the term itself unless it holds a space
                if key:
                    positions.setdefault(key, []).append(i)
                else:
                    blank.append(i)
            lengths = [len(k) for k in positions] or [0]
            self._title_terms = (version, terms)
            self._title_lookup = (positions, blank, min(lengths), max(lengths))
        q = query.lower()
        terms, (positions, blank, shortest, longest) = self._title_terms[1], self._title_lookup
        # Scanning every title is O(documents): ~5 ms per search at 60k articles. Instead, look the
        # query's substrings up: a term can only match if its key (its longest space-free piece) is
        # in the query as given, because replacing a match with " " below only ever splits the query.
        candidates = set(blank)
        for i in range(len(q)):
            for j in range(i + max(shortest, 1), min(len(q), i + longest) + 1):
                candidates.update(positions.get(q[i:j], ()))
        found: set[str] = set()
        for term, doc_id in (terms[i] for i in sorted(candidates)):
            if term in q:
                found.add(doc_id)
                q = q.replace(term, " ")
        return found

    def term_weight_function(self, query: str) -> Callable[[str], float]:
        """Term weights for relevance: idf² from the KB; a word the KB has never seen gets the highest
        weight only when it names something (a noun: 护照, 游艇). An unseen verb, adverb, time word or
        idiom (交些, 明年, 一天到晚) is how someone asks, so it weighs a quarter."""
        base = self.idf_function()
        if self._bm25 is None:
            return base
        bm25 = self._bm25
        nouns = self.tokenizer.nounlike(query)
        asking = self.tokenizer.asking_words(query) - nouns

        def weight(term: str) -> float:
            w = base(term)
            if term in asking:
                return w * self.cfg.unseen_nonnoun_factor  # 哪个, 以后, 几个: the form, seen or not
            return w if bm25.seen(term) or term in nouns else w * self.cfg.unseen_nonnoun_factor

        return weight

    def idf_function(self) -> Callable[[str], float]:
        """The term weighting used for relevance (and by extractive answers to pick sentences)."""
        return self._bm25.specificity if self._bm25 is not None else (lambda _t: 1.0)

    def stats(self) -> dict[str, object]:
        docs = self.registry.all_documents()
        return {
            "documents": len(docs),
            "chunks": sum(d.chunk_count for d in docs),
            "vectors": self.vectors.count(),
            "lexical_chunks": len(self._bm25) if self._bm25 is not None else 0,
            "kb_version": self.registry.kb_version(),
            "embedder": self.embedder.identity,
            "reranker": self.reranker.identity if self.reranker else None,
        }


def core_title(title: str) -> str:
    """'社会保障卡居民服务“一件事”' -> '社会保障卡居民服务': the distinctive part of a guide's name."""
    for mark in ("“一件事”", '"一件事"', "一件事"):
        title = title.replace(mark, "")
    return title.split("（")[0].split("(")[0].strip()


def _selective(filters: SearchFilters) -> bool:
    return any((filters.region, filters.doc_type, filters.audience, filters.doc_ids))


def _allowed(chunk: Chunk, status: str, f: SearchFilters, today: str) -> bool:
    meta = chunk.metadata
    if not f.include_retired:
        if status == "废止":
            return False
        until = meta.get("valid_until")
        if isinstance(until, str) and until and until < today:
            return False
    if f.doc_type and meta.get("doc_type") != f.doc_type:
        return False
    if f.doc_ids and chunk.doc_id not in f.doc_ids:
        return False
    if f.region:
        region = str(meta.get("region", ""))
        # Provincial documents apply everywhere in the province.
        if region and region not in ("湖北省", f.region) and f.region not in region:
            return False
    if f.audience:
        audience = str(meta.get("audience", ""))
        if audience and f.audience not in audience and audience != "个人和企业":
            return False
    return True


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
