"""Chooses the embedder from settings, falling back to hashing with one clear log line."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from retrieval.config import RetrievalSettings
from retrieval.embedders.base import Embedder
from retrieval.embedders.hashing import HashingEmbedder

log = logging.getLogger(__name__)


def build_embedder(cfg: RetrievalSettings) -> Embedder:
    """Sentence-transformers when the model loads, else the hashing embedder.

    The model is loaded with ``local_files_only`` unless downloads are allowed, so a missing model
    fails in milliseconds instead of waiting on an unreachable hub.
    """
    hashing = HashingEmbedder(dimension=cfg.hashing_features)
    if cfg.embedder == "hashing":
        return hashing
    started = time.perf_counter()
    if cfg.embedder == "auto" and not cfg.allow_download and not _available_locally(cfg.embedding_model):
        log.warning(
            "embedding model %r is neither a local folder nor in the Hugging Face cache (downloads are off); "
            "using the offline hashing embedder %s plus lexical retrieval",
            cfg.embedding_model,
            hashing.identity,
        )
        return hashing
    try:
        from retrieval.embedders.sentence_transformer import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder(
            cfg.embedding_model,
            device=cfg.embedding_device,
            batch_size=cfg.embedding_batch_size,
            allow_download=cfg.allow_download,
        )
    except Exception as exc:  # any load failure means: fall back, loudly, once
        if cfg.embedder == "sentence-transformers":
            raise
        reason = str(exc).splitlines()[0][:200] if str(exc) else ""
        log.warning(
            "embedding model %r could not be loaded (%s: %s); falling back to the offline hashing "
            "embedder %s plus lexical retrieval (%.2fs)",
            cfg.embedding_model,
            type(exc).__name__,
            reason,
            hashing.identity,
            time.perf_counter() - started,
        )
        return hashing
    log.info("embedding model %s loaded in %.1fs", embedder.identity, time.perf_counter() - started)
    return embedder


def _available_locally(model: str) -> bool:
    """True for a local folder or a hub name already in the local cache (checked without importing torch)."""
    if Path(model).expanduser().is_dir():
        return True
    if "/" not in model:
        return False
    try:
        from huggingface_hub.constants import HF_HUB_CACHE
    except ImportError:
        return False
    return (Path(HF_HUB_CACHE) / f"models--{model.replace('/', '--')}").is_dir()
