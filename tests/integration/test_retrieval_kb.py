"""The knowledge base against real Chroma (temp dir) and both SQL databases: what an admin and a
citizen notice — documents become searchable, re-ingest is a no-op, replace/delete/retire are
consistent in every index, a crash mid-replace loses nothing, broken files don't stop a batch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrieval.config import RetrievalSettings
from retrieval.factory import SAMPLE_KB_DIR, build_knowledge_base
from retrieval.knowledge_base import KnowledgeBase
from retrieval.langchain_retriever import GovKnowledgeBaseRetriever
from retrieval.types import SearchFilters
from serving.services import make_engine
from tests.paths import POLICY_DOC

pytestmark = pytest.mark.integration

NOTICE_MD = """---
id: test-notice
title: 关于调整政务服务大厅办公时间的通知
issuer: 测试发布单位
region: 湖北省
doc_type: notice
status: 有效
---

# 关于调整政务服务大厅办公时间的通知

一、自下月起，政务服务大厅工作日办公时间调整为上午九点至下午五点半，周六上午提供延时服务。

二、延时服务期间可以办理户籍证明、社保卡补换等高频事项。
"""


def make_kb(data_dir: Path, db_url: str, **overrides: object) -> KnowledgeBase:
    cfg = RetrievalSettings(embedder="hashing", **overrides)  # type: ignore[arg-type]
    return build_knowledge_base(cfg, data_dir, make_engine(db_url))


@pytest.fixture
def kb(tmp_path: Path, db_url: str) -> KnowledgeBase:
    return make_kb(tmp_path / "data", db_url)


def top_docs(kb: KnowledgeBase, query: str, k: int = 3, **filters: object) -> list[str]:
    return [h.chunk.doc_id for h in kb.search(query, k=k, filters=SearchFilters(**filters)).hits]  # type: ignore[arg-type]


def test_sample_kb_and_real_policy_become_searchable_and_reingest_is_a_noop(kb: KnowledgeBase):
    report = kb.ingest_paths([SAMPLE_KB_DIR, POLICY_DOC])
    assert not report.failed
    guides = {p.stem for p in (SAMPLE_KB_DIR / "guides").glob("*.yaml")}
    assert guides <= set(report.added)
    assert "hubei-ai-industry-implementation-opinions-2025" in report.added
    version = kb.registry.kb_version()

    again = kb.ingest_paths([SAMPLE_KB_DIR, POLICY_DOC])
    assert again.added == [] and again.replaced == [] and again.failed == []
    assert len(again.unchanged) == len(report.added)
    assert kb.registry.kb_version() == version  # nothing was rewritten

    assert top_docs(kb, "生孩子上户口要带什么材料")[0] == "birth"
    assert top_docs(kb, "开饭馆要办哪些证")[0] == "open_restaurant"
    assert "hubei-ai-industry-implementation-opinions-2025" in top_docs(kb, "人形机器人创新中心", k=3)
    result = kb.search("怎么办理护照和港澳通行证续签", k=3)
    assert not result.has_evidence  # in-domain but not in the KB: the caller must decline


def test_guide_materials_list_is_retrieved_whole(kb: KnowledgeBase):
    kb.ingest_paths([SAMPLE_KB_DIR / "guides"])
    hits = kb.search("新生儿出生一件事需要准备哪些材料", k=5).hits
    materials = [h for h in hits if h.chunk.doc_id == "birth" and h.chunk.section == "申请材料"]
    assert materials, [h.chunk.section for h in hits]
    text = materials[0].chunk.text
    assert "居民身份证" in text and "结婚证" in text  # several materials in one passage


def test_replace_is_atomic_and_old_text_disappears(kb: KnowledgeBase, tmp_path: Path):
    doc = tmp_path / "notice.md"
    doc.write_text(NOTICE_MD, encoding="utf-8")
    assert kb.ingest_paths([doc]).added == ["test-notice"]
    assert top_docs(kb, "周六上午延时服务")[0] == "test-notice"

    doc.write_text(NOTICE_MD.replace("周六上午", "周日全天"), encoding="utf-8")
    report = kb.ingest_paths([doc])
    assert report.replaced == ["test-notice"]
    rec = kb.registry.get("test-notice")
    assert rec is not None and rec.version == 2
    hits = kb.search("周日全天延时服务", k=3).hits
    assert hits[0].chunk.doc_id == "test-notice" and hits[0].chunk.version == 2
    assert all("周六上午" not in h.chunk.text for h in kb.search("周六上午延时服务", k=10).hits)
    # every index holds exactly the live version
    assert kb.vectors.count() == kb.registry.chunk_count() == rec.chunk_count


def test_crash_mid_replace_keeps_old_version_searchable(kb: KnowledgeBase, tmp_path: Path, monkeypatch):
    doc = tmp_path / "notice.md"
    doc.write_text(NOTICE_MD, encoding="utf-8")
    kb.ingest_paths([doc])
    live_chunks = kb.vectors.count()

    def crash(*_a: object, **_k: object) -> list[str]:
        raise RuntimeError("power cut")

    monkeypatch.setattr(kb.registry, "publish", crash)
    doc.write_text(NOTICE_MD.replace("周六上午", "周日全天"), encoding="utf-8")
    report = kb.ingest_paths([doc])
    assert report.failed and "power cut" in report.failed[0][1]
    monkeypatch.undo()

    hits = kb.search("周六上午延时服务", k=3).hits
    assert hits[0].chunk.doc_id == "test-notice" and hits[0].chunk.version == 1
    assert all(h.chunk.version == 1 for h in kb.search("周日全天", k=10).hits)
    # a restart cleans up the half-written version from every index
    kb.warm_up()
    assert kb.vectors.count() == live_chunks == kb.registry.chunk_count()


def test_delete_and_retire(kb: KnowledgeBase, tmp_path: Path):
    doc = tmp_path / "notice.md"
    doc.write_text(NOTICE_MD, encoding="utf-8")
    kb.ingest_paths([doc, SAMPLE_KB_DIR / "guides" / "birth.yaml"])

    assert kb.retire("test-notice")
    assert "test-notice" not in top_docs(kb, "周六上午延时服务", k=10)
    assert top_docs(kb, "周六上午延时服务", k=10, include_retired=True)[0] == "test-notice"

    before = kb.vectors.count()
    assert kb.delete("test-notice")
    assert not kb.delete("test-notice")
    assert kb.registry.get("test-notice") is None
    assert "test-notice" not in top_docs(kb, "周六上午延时服务", k=10, include_retired=True)
    assert kb.vectors.count() < before
    assert kb.vectors.count() == kb.registry.chunk_count()


def test_broken_files_are_reported_and_the_batch_goes_on(kb: KnowledgeBase, tmp_path: Path):
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "good.md").write_text(NOTICE_MD, encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n this is not really a pdf")
    (folder / "bad.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    (folder / "empty.txt").write_text("   \n", encoding="utf-8")
    report = kb.ingest_paths([folder])
    assert report.added == ["test-notice"]
    failed = {Path(p).name: reason for p, reason in report.failed}
    assert set(failed) == {"broken.pdf", "bad.yaml", "empty.txt"}
    assert all(reason for reason in failed.values())
    assert top_docs(kb, "周六上午延时服务")[0] == "test-notice"


def test_filters_by_doc_type_and_audience(kb: KnowledgeBase):
    kb.ingest_paths([SAMPLE_KB_DIR, POLICY_DOC])
    policy_only = kb.search("人工智能产业", k=5, filters=SearchFilters(doc_type="policy")).hits
    assert policy_only and all(h.chunk.metadata.get("doc_type") == "policy" for h in policy_only)
    business = kb.search("办理需要什么材料", k=10, filters=SearchFilters(audience="企业")).hits
    # guides for individuals are excluded; documents without an audience apply to everyone
    assert business and all(
        h.chunk.metadata.get("audience") in ("企业", "个人和企业", None) for h in business
    )
    assert any(h.chunk.metadata.get("audience") == "企业" for h in business)


def test_langchain_retriever_adapter(kb: KnowledgeBase):
    kb.ingest_paths([SAMPLE_KB_DIR / "guides"])
    retriever = GovKnowledgeBaseRetriever(kb=kb, k=3)
    docs = retriever.invoke("退休了公积金怎么取")
    assert docs and docs[0].metadata["doc_id"] == "retirement"
    assert retriever.invoke("明天股票会涨吗") == []  # no evidence, nothing for a chain to answer from


def test_real_sentence_transformers_model_gets_its_own_vector_space(tmp_path: Path, tiny_model_dir: Path):
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    st_kb = build_knowledge_base(
        RetrievalSettings(embedder="sentence-transformers", embedding_model=str(tiny_model_dir)),
        tmp_path / "data",
        make_engine(url),
    )
    assert st_kb.embedder.identity.startswith("st-")
    st_kb.ingest_paths(
        [SAMPLE_KB_DIR / "guides" / "birth.yaml", SAMPLE_KB_DIR / "guides" / "retirement.yaml"]
    )
    assert top_docs(st_kb, "退休公积金提取")[0] == "retirement"
    hashing_kb = make_kb(tmp_path / "data", url)  # same data dir, other model
    assert hashing_kb.vectors.count() == 0  # vectors never mix: a new space must be re-embedded
    assert st_kb.vectors.count() > 0


def test_missing_model_falls_back_fast_to_hashing(tmp_path: Path, caplog):
    import time

    started = time.perf_counter()
    cfg = RetrievalSettings(embedding_model=str(tmp_path / "no-such-model"))
    kb = build_knowledge_base(cfg, tmp_path / "d", make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    assert kb.embedder.identity.startswith("hashing")
    assert time.perf_counter() - started < 30  # never the ~70 s hub timeout
    assert any("hashing" in r.getMessage() for r in caplog.records)


def test_data_dir_can_move(tmp_path: Path):
    """The lexical index is rebuilt when missing, e.g. after restoring only the database."""
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    kb1 = make_kb(tmp_path / "data", url)
    kb1.ingest_paths([SAMPLE_KB_DIR / "guides" / "birth.yaml"])
    shutil.rmtree(tmp_path / "data" / "lexical")
    kb2 = make_kb(tmp_path / "data", url)
    assert top_docs(kb2, "出生医学证明")[0] == "birth"


def test_optional_reranker_reorders_and_calibrates(tmp_path: Path):
    """A reranker (cross-encoder in production; a deterministic fake here) decides the final order."""
    from retrieval.rerankers.fake import OverlapReranker

    kb = make_kb(tmp_path / "data", f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    kb.ingest_paths([SAMPLE_KB_DIR / "guides"])
    plain = kb.search("退休公积金提取", k=5)
    kb.reranker = OverlapReranker()
    reranked = kb.search("退休公积金提取", k=5)
    expected = sorted(
        (h.chunk.chunk_id for h in plain.hits),
        key=lambda cid: (
            -OverlapReranker().score("退休公积金提取", [kb.registry.fetch_live_chunks([cid])[cid][0].text])[0]
        ),
    )
    assert reranked.hits[0].chunk.doc_id == "retirement"
    assert reranked.hits[0].chunk.chunk_id == expected[0]
    assert all(0.0 <= h.relevance <= 1.0 for h in reranked.hits)
    assert kb.stats()["reranker"] == "fake-overlap"


def test_real_cross_encoder_loads_from_a_local_folder(tmp_path: Path):
    """The production reranker class loads a model folder offline and scores every candidate."""
    from retrieval.factory import build_reranker
    from tests.tiny_model import build_tiny_cross_encoder

    folder = build_tiny_cross_encoder(
        tmp_path / "ce", ["新生儿出生一件事需要父母身份证", "退休一件事公积金提取"] * 30
    )
    reranker = build_reranker(RetrievalSettings(reranker_model=str(folder)))
    assert reranker is not None and reranker.identity.startswith("cross-encoder")
    scores = reranker.score("退休公积金", ["退休一件事公积金提取", "新生儿出生一件事"])
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)
    assert (
        build_reranker(RetrievalSettings(reranker_model=str(tmp_path / "missing"))) is None
    )  # falls back, no crash
