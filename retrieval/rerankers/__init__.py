"""Optional rerankers: the Reranker interface and a cross-encoder implementation."""
