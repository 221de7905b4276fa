"""Lexical retrieval: jieba tokenisation with a domain dictionary, synonyms, and a bm25s index."""
