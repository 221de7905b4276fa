"""LangChain adapter: the hybrid knowledge base as a ``BaseRetriever``.

LangChain stays at the edge: our own types inside, ``Document`` only here, so LangChain applications
(chains, agents, LangServe) can use the government knowledge base without knowing how it works.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from retrieval.knowledge_base import KnowledgeBase
from retrieval.types import SearchFilters


class GovKnowledgeBaseRetriever(BaseRetriever):
    """Returns no documents when the search has no evidence, so chains cannot answer from noise."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kb: Any  # KnowledgeBase; typed loosely so pydantic does not try to validate it
    k: int = 5
    filters: SearchFilters | None = None
    require_evidence: bool = True

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        kb: KnowledgeBase = self.kb
        result = kb.search(query, k=self.k, filters=self.filters)
        if self.require_evidence and not result.has_evidence:
            return []
        return [
            Document(
                page_content=h.chunk.text,
                id=h.chunk.chunk_id,
                metadata={
                    "doc_id": h.chunk.doc_id,
                    "title": h.chunk.title,
                    "section": h.chunk.section,
                    "score": h.score,
                    "relevance": h.relevance,
                    "source": h.chunk.metadata.get("source", ""),
                },
            )
            for h in result.hits
        ]
