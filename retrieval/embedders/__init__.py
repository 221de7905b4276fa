"""Embedders: the Embedder interface, one module per backend, and a deterministic fake."""

from retrieval.embedders.base import Embedder
from retrieval.embedders.factory import build_embedder

__all__ = ["Embedder", "build_embedder"]
