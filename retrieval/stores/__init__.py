"""Vector stores: the VectorStore interface and the Chroma implementation."""
