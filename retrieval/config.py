"""Retrieval settings group (nested into the app's one Settings object by the composition root)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RetrievalSettings(BaseModel):
    # A model name (hub) or a local folder. When it cannot load, the hashing embedder is used.
    embedding_model: str = "BAAI/bge-small-zh-v1.5"
    embedding_device: str = "cpu"
    embedding_batch_size: int = Field(default=64, ge=1)
    # Hub downloads are off by default: government networks are often air-gapped and a hub miss costs ~70 s.
    allow_download: bool = False
    # "auto": sentence-transformers, falling back to hashing; "hashing": skip the model entirely.
    embedder: str = Field(default="auto", pattern="^(auto|sentence-transformers|hashing)$")
    hashing_features: int = Field(default=512, ge=16)
    # Optional cross-encoder (e.g. BAAI/bge-reranker-base or a local path); empty = no reranking.
    reranker_model: str = ""
    rerank_top_n: int = Field(default=20, ge=1)
    lexical_weight: float = Field(default=1.0, ge=0)
    dense_weight: float = Field(default=1.0, ge=0)
    # Dense weight used instead when the embedder is the offline hashing fallback: character n-gram
    # vectors only repeat the lexical signal with more noise (measured: MRR@10 0.950 vs 0.938 on the
    # sample-KB gold set, 0.496 vs 0.345 on crud_news at 179k chunks, with 0 vs 1).
    hashing_dense_weight: float = Field(default=0.0, ge=0)
    # Relevance threshold used with the hashing fallback: without a dense term, relevance is the lexical
    # coverage alone, which runs higher for the same evidence, so the bar is set higher.
    hashing_min_relevance: float = Field(default=0.42, ge=0, le=1)
    rrf_k: int = Field(default=60, ge=1)
    # Weight of the ranking of passages from documents the question names (title or alias).
    title_weight: float = Field(default=1.0, ge=0)
    # Weight of the structural ranking (guide sections matching the field a question asks about).
    section_weight: float = Field(default=1.0, ge=0)
    # ... applied to the sections of the top-N documents only.
    section_docs: int = Field(default=3, ge=1)
    candidates: int = Field(default=50, ge=1)
    # Below this calibrated relevance the search reports "no evidence".
    min_relevance: float = Field(default=0.35, ge=0, le=1)
    # Weight factor for query words the KB has never seen that are not nouns (how, not what, is asked).
    unseen_nonnoun_factor: float = Field(default=0.25, ge=0, le=1)
    chunk_size: int = Field(default=500, ge=50)
    chunk_min: int = Field(default=40, ge=0)
    # Chroma server URL (client/server mode, production); empty = embedded PersistentClient on disk.
    chroma_url: str = ""
    # Editable by admins; empty = the shipped defaults.
    synonyms_path: str = ""
    user_dict_path: str = ""
