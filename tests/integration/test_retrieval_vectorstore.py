"""The VectorStore contract on real Chroma (temp dir): what search relies on from the dense index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.embedders.fake import FakeEmbedder
from retrieval.stores.chroma import ChromaVectorStore, collection_name
from retrieval.types import Chunk

pytestmark = pytest.mark.integration

TEXTS = ["新生儿出生一件事申请材料", "退休一件事公积金提取", "开办餐饮店食品经营许可", "企业注销登记清算报告"]


def chunks() -> list[Chunk]:
    return [Chunk(Chunk.make_id(f"d{i}", 1, 0), f"d{i}", 1, 0, t, "", t) for i, t in enumerate(TEXTS)]


def test_query_returns_nearest_by_cosine_and_delete_removes(tmp_path: Path):
    embedder = FakeEmbedder(dimension=32)
    store = ChromaVectorStore(embedder.identity, path=tmp_path / "chroma")
    assert store.query(embedder.embed_query("anything"), 3) == []  # empty store: no hits, no error
    items = chunks()
    store.add(items, embedder.embed_documents([c.text for c in items]))
    assert store.count() == 4
    top, similarity = store.query(embedder.embed_query(TEXTS[1]), 2)[0]
    assert top == items[1].chunk_id and similarity == pytest.approx(1.0, abs=1e-4)
    assert len(store.query(embedder.embed_query("x"), 50)) == 4  # k above the count is fine
    store.delete([items[1].chunk_id])
    assert store.count() == 3
    assert all(cid != items[1].chunk_id for cid, _ in store.query(embedder.embed_query(TEXTS[1]), 4))


def test_re_adding_a_chunk_replaces_it_and_data_survives_reopening(tmp_path: Path):
    embedder = FakeEmbedder(dimension=32)
    items = chunks()
    store = ChromaVectorStore(embedder.identity, path=tmp_path / "chroma")
    store.add(items, embedder.embed_documents([c.text for c in items]))
    store.add(items[:1], embedder.embed_documents([TEXTS[3]]))  # same id, new vector: upsert
    assert store.count() == 4
    reopened = ChromaVectorStore(embedder.identity, path=tmp_path / "chroma")
    assert reopened.count() == 4
    hits = dict(reopened.query(embedder.embed_query(TEXTS[3]), 4))
    assert hits[items[0].chunk_id] == pytest.approx(1.0, abs=1e-4)


def test_each_embedder_gets_its_own_collection_and_mismatched_input_is_refused(tmp_path: Path):
    assert collection_name(FakeEmbedder(32).identity) != collection_name(FakeEmbedder(64).identity)
    store = ChromaVectorStore(FakeEmbedder(32).identity, path=tmp_path / "chroma")
    with pytest.raises(ValueError):
        store.add(chunks(), np.zeros((1, 32), dtype=np.float32))
    with pytest.raises(ValueError):
        ChromaVectorStore("x")  # neither a path nor a server URL
