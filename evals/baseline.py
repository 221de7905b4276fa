"""The do-it-yourself reference: a plain LangChain + Chroma pipeline over the same files.

What a team assembles in an afternoon: read each file as text, ``RecursiveCharacterTextSplitter`` with
its default separators, a ``langchain_chroma.Chroma`` collection embedded with the *same* embedder the
knowledge base uses, and the top passages pasted back as "the answer". No routing, no refusals, no
thresholds, no guide structure. Every report shows our figures next to these, so the lift is visible.

LangChain types stay in this adapter module (STYLE.md habit 2).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from retrieval.embedders.base import Embedder
from retrieval.knowledge_base import expand_paths


class EmbedderEmbeddings(Embeddings):
    """Our ``Embedder`` seen as a LangChain ``Embeddings`` (same vectors, same space)."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, row)) for row in self._embedder.embed_documents(texts)]

    def embed_query(self, text: str) -> list[float]:
        return list(map(float, self._embedder.embed_query(text)))


@dataclass(frozen=True)
class BaselineHit:
    doc_id: str
    text: str


class LangChainChromaBaseline:
    """Splitter + Chroma + top-k. ``index`` once, then ``search`` / ``answer`` per question.

    Args:
        embedder: the knowledge base's own embedder, so the comparison isolates the pipeline.
        work_dir: where the Chroma files go (a temp dir in the eval runner).
        chunk_size / chunk_overlap: the splitter settings a tutorial would use.
        answer_k: how many top passages form the "answer".
    """

    def __init__(
        self,
        embedder: Embedder,
        work_dir: Path,
        *,
        chunk_size: int = 500,
        chunk_overlap: int = 50,
        answer_k: int = 3,
    ) -> None:
        self._embeddings = EmbedderEmbeddings(embedder)
        self._work_dir = work_dir
        self._chunk_size = chunk_size
        self._chunk_overlap = chunk_overlap
        self.answer_k = answer_k
        self._store: Any = None
        self.chunks = 0
        self.index_seconds = 0.0

    def _open(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        client = chromadb.PersistentClient(
            path=str(self._work_dir), settings=ChromaSettings(anonymized_telemetry=False)
        )
        return Chroma(
            collection_name=f"baseline_{uuid.uuid4().hex[:8]}",
            embedding_function=self._embeddings,
            client=client,
        )

    def index_documents(self, docs: Sequence[tuple[str, str]]) -> int:
        """Splits and stores ``(doc_id, text)`` pairs; returns the number of chunks."""
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        t0 = time.perf_counter()
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=self._chunk_size, chunk_overlap=self._chunk_overlap
        )
        pieces = splitter.create_documents([t for _, t in docs], metadatas=[{"doc_id": d} for d, _ in docs])
        if self._store is None:
            self._store = self._open()
        batch = 2000
        for i in range(0, len(pieces), batch):
            self._store.add_documents(pieces[i : i + batch])
        self.chunks += len(pieces)
        self.index_seconds += time.perf_counter() - t0
        return len(pieces)

    def index_paths(self, paths: Sequence[Path]) -> int:
        """Each supported file read as plain text (as a LangChain ``TextLoader`` would), id = file stem."""
        docs = [(p.stem, p.read_text(encoding="utf-8")) for p in expand_paths(paths)]
        return self.index_documents(docs)

    def search(self, question: str, k: int = 10) -> list[BaselineHit]:
        if self._store is None:
            raise RuntimeError("index documents before searching the baseline")
        found: list[Document] = self._store.similarity_search(question, k=k)
        return [BaselineHit(str(d.metadata.get("doc_id", "")), d.page_content) for d in found]

    def answer(self, hits: Sequence[BaselineHit]) -> str:
        """The top passages, pasted together: the baseline's whole "answer"."""
        return "\n\n".join(h.text for h in hits[: self.answer_k])
