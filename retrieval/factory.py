"""Builds a KnowledgeBase from settings (used by the composition root and the CLI)."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.engine import Engine

from retrieval.config import RetrievalSettings
from retrieval.embedders.factory import build_embedder
from retrieval.embedders.hashing import HashingEmbedder
from retrieval.knowledge_base import KnowledgeBase
from retrieval.registry import DocumentRegistry
from retrieval.rerankers.base import Reranker
from retrieval.stores.chroma import ChromaVectorStore

log = logging.getLogger(__name__)

SAMPLE_KB_DIR = Path(__file__).resolve().parent / "sample_kb"


def build_reranker(cfg: RetrievalSettings) -> Reranker | None:
    if not cfg.reranker_model:
        return None
    try:
        from retrieval.rerankers.cross_encoder import CrossEncoderReranker

        return CrossEncoderReranker(
            cfg.reranker_model, device=cfg.embedding_device, allow_download=cfg.allow_download
        )
    except Exception as exc:
        log.warning(
            "reranker %r could not be loaded (%s); searching without reranking", cfg.reranker_model, exc
        )
        return None


def build_knowledge_base(cfg: RetrievalSettings, data_dir: Path, engine: Engine) -> KnowledgeBase:
    embedder = build_embedder(cfg)
    if isinstance(embedder, HashingEmbedder):
        # The fallback's vectors repeat the lexical signal: rank and threshold by lexical evidence.
        log.info(
            "hashing embedder: dense weight %s, relevance threshold %s",
            cfg.hashing_dense_weight,
            cfg.hashing_min_relevance,
        )
        cfg = cfg.model_copy(
            update={"dense_weight": cfg.hashing_dense_weight, "min_relevance": cfg.hashing_min_relevance}
        )
    vectors = ChromaVectorStore(
        embedder.identity, path=None if cfg.chroma_url else data_dir / "chroma", url=cfg.chroma_url
    )
    kb = KnowledgeBase(
        cfg=cfg,
        registry=DocumentRegistry(engine),
        vectors=vectors,
        embedder=embedder,
        lexical_dir=data_dir / "lexical" / vectors_key(embedder.identity),
        reranker=build_reranker(cfg),
    )
    kb.warm_up()
    return kb


def vectors_key(identity: str) -> str:
    """The lexical index lives beside its vector space so switching models keeps both consistent."""
    from retrieval.stores.chroma import collection_name

    return collection_name(identity)
