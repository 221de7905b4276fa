"""The LangChain + Chroma baseline really indexes and searches (real Chroma on a temp dir)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.baseline import EmbedderEmbeddings, LangChainChromaBaseline
from retrieval.embedders.hashing import HashingEmbedder
from retrieval.factory import SAMPLE_KB_DIR
from tests.paths import POLICY_DOC

pytestmark = pytest.mark.integration


def test_embeddings_adapter_keeps_the_vector_space() -> None:
    embedder = HashingEmbedder(dimension=64)
    adapter = EmbedderEmbeddings(embedder)
    docs = adapter.embed_documents(["结婚证", "户口簿"])
    assert len(docs) == 2 and all(len(v) == 64 for v in docs)
    assert adapter.embed_query("结婚证") == pytest.approx(docs[0])


def test_baseline_indexes_the_sample_kb_and_finds_documents(tmp_path: Path) -> None:
    base = LangChainChromaBaseline(HashingEmbedder(), tmp_path / "chroma")
    with pytest.raises(RuntimeError):
        base.search("结婚证")
    chunks = base.index_paths([SAMPLE_KB_DIR, POLICY_DOC])
    assert chunks == base.chunks and chunks > 20
    hits = base.search("湖北人工智能产业园 百亿级", k=5)
    assert len(hits) == 5
    assert hits[0].doc_id == "hubei-ai-industry-implementation-opinions-2025"
    answer = base.answer(hits)
    assert answer.count("\n\n") >= base.answer_k - 1 and hits[0].text in answer


def test_two_baselines_in_one_folder_do_not_mix(tmp_path: Path) -> None:
    a = LangChainChromaBaseline(HashingEmbedder(), tmp_path)
    b = LangChainChromaBaseline(HashingEmbedder(), tmp_path)
    a.index_documents([("doc-a", "退役军人报到需要退出现役证件")])
    b.index_documents([("doc-b", "开饭店需要食品经营许可")])
    assert {h.doc_id for h in a.search("报到", 5)} == {"doc-a"}
    assert {h.doc_id for h in b.search("报到", 5)} == {"doc-b"}
