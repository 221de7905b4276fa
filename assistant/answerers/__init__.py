"""Answerers: extractive (no LLM, and the fallback) and grounded LLM answers with citation checks."""
