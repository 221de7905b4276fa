"""The crud_news benchmark: its metrics must be right, and it must run end to end on a small corpus."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from evals.bench_common import (
    doc_ranking,
    hit_at,
    latency,
    markdown_table,
    path_size,
    percentile,
    quality,
    query_variants,
    reciprocal_rank,
)
from evals.bench_crud_news import iter_records, main, run, to_document

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("chunk_doc_ids", "expected"),
    [
        (["a", "a", "b", "a", "c"], ["a", "b", "c"]),  # an article counts once, at its best chunk
        (["b", "a", "b"], ["b", "a"]),
        ([], []),
        (["", "", "x"], ["", "x"]),
    ],
)
def test_doc_ranking_keeps_each_article_at_its_first_rank(chunk_doc_ids, expected):
    assert doc_ranking(chunk_doc_ids) == expected


@pytest.mark.parametrize(
    ("ranking", "gold", "hit1", "hit5", "rr"),
    [
        (["g", "x"], "g", True, True, 1.0),
        (["x", "y", "g"], "g", False, True, 1 / 3),
        (["a", "b", "c", "d", "e", "g"], "g", False, False, 1 / 6),
        (["a"] * 10 + ["g"], "g", False, False, 0.0),  # rank 11 is outside MRR@10
        ([], "g", False, False, 0.0),
        (["G"], "g", False, False, 0.0),  # ids are compared exactly
    ],
)
def test_hit_and_reciprocal_rank(ranking, gold, hit1, hit5, rr):
    assert hit_at(ranking, gold, 1) is hit1
    assert hit_at(ranking, gold, 5) is hit5
    assert reciprocal_rank(ranking, gold, 10) == pytest.approx(rr)


def test_metrics_reject_nonsense_k_and_mismatched_lengths():
    with pytest.raises(ValueError):
        hit_at(["a"], "a", 0)
    with pytest.raises(ValueError):
        reciprocal_rank(["a"], "a", -1)
    with pytest.raises(ValueError):
        quality([["a"]], ["a", "b"])


def test_quality_averages_over_questions():
    q = quality([["g1"], ["x", "g2"], ["x"] * 12, []], ["g1", "g2", "g3", "g4"])
    assert (q.questions, q.hit_at_1, q.hit_at_5, q.hit_at_10) == (4, 0.25, 0.5, 0.5)
    assert q.mrr_at_10 == pytest.approx((1 + 0.5) / 4)
    assert quality([], []).questions == 0


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([5.0], 50, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),  # nearest rank: a sample that happened, no interpolation
        ([float(i) for i in range(1, 101)], 99, 99.0),
        ([float(i) for i in range(1, 101)], 100, 100.0),
        ([3.0, 1.0, 2.0], 99, 3.0),  # unsorted input
    ],
)
def test_percentile_nearest_rank(values, p, expected):
    assert percentile(values, p) == expected


def test_percentile_and_latency_refuse_empty_or_bad_input():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 0)
    with pytest.raises(ValueError):
        latency([])
    lat = latency([1.0, 2.0, 3.0, 100.0])
    assert (lat.queries, lat.p50_ms, lat.p99_ms, lat.max_ms) == (4, 2.0, 100.0, 100.0)


def test_query_variants_cover_every_question_before_repeating_and_are_distinct():
    qs = ["习近平强调了什么？", "纪念碑的名称是什么?", "  ", "？"]
    out = query_variants(qs, 20)
    assert len(out) == 20
    assert out[0] == "习近平强调了什么？" and out[1] == "纪念碑的名称是什么？"
    assert len(set(out)) == 20  # 2 usable questions x 10 rephrasings
    assert query_variants(["？"], 5) == []
    assert query_variants(qs, 0) == []


def test_markdown_table_escapes_pipes_and_checks_width():
    table = markdown_table(["a", "b"], [["x|y", 1]])
    assert table.splitlines() == ["| a | b |", "|---|---|", "| x\\|y | 1 |"]
    with pytest.raises(ValueError):
        markdown_table(["a"], [[1, 2]])


def test_path_size_counts_files_in_folders_and_missing_paths_as_zero(tmp_path):
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "f.bin").write_bytes(b"x" * 10)
    (tmp_path / "d" / "e" / "g.bin").write_bytes(b"x" * 5)
    assert path_size(tmp_path / "d") == 15
    assert path_size(tmp_path / "d" / "f.bin") == 10
    assert path_size(tmp_path / "missing") == 0


# --- a ~200-article corpus in the crud_news format --------------------------------------------

CITIES = ["武汉", "宜昌", "襄阳", "荆州", "黄石", "十堰", "孝感", "荆门", "鄂州", "黄冈"]
CITIES += ["咸宁", "随州", "恩施", "仙桃", "潜江", "天门", "神农架", "长沙", "成都", "杭州"]
TOPICS = [
    "龙舟赛",
    "马拉松",
    "读书节",
    "农民丰收节",
    "科技博览会",
    "樱花节",
    "美食节",
    "音乐节",
    "招聘会",
    "非遗展",
]
FILLER = [
    "活动期间，主办方安排了丰富多彩的配套活动，吸引了众多市民参与。",
    "当地交通部门增加了公交班次，并在周边道路设置了临时停车点，方便市民出行。",
    "有关负责人表示，将进一步完善服务保障，努力提升群众的获得感和满意度。",
    "据介绍，今年的活动在往年基础上进行了全面升级，新增了多个互动体验区。",
    "不少外地游客专程赶来，纷纷表示活动组织有序，体验感很好，明年还会再来。",
    "气象部门提醒，近期气温较高，请参加户外活动的市民注意防暑降温。",
]


def _article(i: int) -> dict[str, object]:
    city, topic = CITIES[i % 20], TOPICS[i // 20 % 10]
    head = f"{city}7月{i % 28 + 1}日电 第{i + 3}届{city}{topic}今天开幕，共吸引游客{i * 7 + 11}万人次。"
    body = "".join(FILLER[(i + j) % len(FILLER)] for j in range(18))
    return {"id": f"n{i + 1:06d}", "date": None if i % 5 == 0 else "2023-07-28 16:40", "text": head + body}


def _write_shared(root: Path, n_docs: int = 200) -> list[dict[str, object]]:
    folder = root / "bench" / "crud_news"
    folder.mkdir(parents=True)
    articles = [_article(i) for i in range(n_docs)]
    with gzip.open(folder / "docs.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(a, ensure_ascii=False) + "\n" for a in articles)
    questions = []
    for i in (3, 47, 88, 120, 161, 199):
        city, topic = CITIES[i % 20], TOPICS[i // 20 % 10]
        questions.append(
            {
                "qid": f"q{i}",
                "question": f"第{i + 3}届{city}{topic}吸引了多少游客？",
                "answer": "",
                "gold_doc_id": f"n{i + 1:06d}",
            }
        )
    (folder / "qa_dev.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in questions), encoding="utf-8"
    )
    return articles


def test_to_document_keeps_the_article_id_date_and_full_text():
    doc = to_document(
        {"id": "n000007", "date": "2023-07-28 16:40", "text": "人民网柏林7月28日电 " + "正文" * 50}
    )
    assert doc.doc_id == "n000007" and doc.doc_type == "article" and doc.source == "crud_news"
    assert doc.metadata == {"published": "2023-07-28"}
    assert doc.title == "人民网柏林7月28日电 正文正文正文正文正文正文正文正文正文"
    assert doc.text.endswith("正文") and len(doc.text) == 112
    assert to_document({"id": "n000008", "date": None, "text": "短"}).metadata == {}


def test_limit_keeps_the_first_articles_and_every_gold_article(tmp_path):
    _write_shared(tmp_path, 30)
    path = tmp_path / "bench" / "crud_news" / "docs.jsonl.gz"
    ids = [r["id"] for r in iter_records(path, 5, frozenset({"n000020", "n999999"}))]
    assert ids == ["n000001", "n000002", "n000003", "n000004", "n000005", "n000020"]
    assert len(list(iter_records(path))) == 30


@pytest.mark.slow
def test_benchmark_runs_end_to_end_and_finds_the_gold_articles(tmp_path):
    _write_shared(tmp_path / "shared")
    out = tmp_path / "report" / "bench.json"
    assert main(
        ["--shared", str(tmp_path / "shared"), "--work-dir", str(tmp_path / "work"), "--out", str(out),
         "--chunk-size", "200", "--queries", "60"]
    ) == 0  # fmt: skip
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["corpus"]["documents"] == 200
    assert report["corpus"]["chunks"] > 400  # ~640-char articles at chunk_size 200
    assert report["ingestion"]["chunks"] == report["corpus"]["chunks"]
    assert report["ingestion"]["chunks_per_s"] > 0
    assert report["ingestion"]["cpu_seconds"] > 0 and report["ingestion"]["chunks_per_cpu_s"] > 0
    assert all(report["index_bytes"][k] > 0 for k in ("chroma", "lexical", "sqlite", "baseline"))
    assert set(report["search"]) == {"default", "lexical", "dense", "hybrid", "baseline"}
    for mode in ("lexical", "hybrid", "baseline"):
        assert report["search"][mode]["quality"]["hit_at_5"] >= 5 / 6, mode
    assert report["search"]["hybrid"]["latency"]["queries"] == 60
    assert report["search"]["hybrid"]["stages_p50_ms"]["dense"] > 0
    assert (
        report["search"]["lexical"]["stages_p50_ms"]["dense"]
        < report["search"]["hybrid"]["stages_p50_ms"]["dense"]
    )
    assert report["checks"]["chunks_at_least_100k"] is False
    md = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "| hybrid |" in md and "| baseline |" in md and "chunks/s" in md


def test_reusing_a_work_dir_searches_without_ingesting_again(tmp_path):
    _write_shared(tmp_path / "shared", 40)
    kwargs = {
        "shared": tmp_path / "shared",
        "work_dir": tmp_path / "w",
        "chunk_size": 200,
        "limit": None,
        "queries": 12,
    }
    first = run(**kwargs, baseline=False)
    again = run(**kwargs, reuse=True, baseline=False)
    assert "skipped" in again["ingestion"] and "chunks_per_s" in first["ingestion"]
    assert again["corpus"] == first["corpus"]
    assert again["search"]["hybrid"]["quality"] == first["search"]["hybrid"]["quality"]
