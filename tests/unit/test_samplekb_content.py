"""Content checks for the shipped sample knowledge base, synonyms, glossary and retrieval gold set.

These are data files written by hand; the checks catch what a citizen or an evaluator would notice:
a guide that fails to load, an unverified fact shown without the "以湖北政务服务网现行办事指南为准"
warning, a synonym that maps one word to two meanings, or a gold question copied from the answer text.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from retrieval.guide import FIELD_SECTIONS, UNVERIFIED_NOTE, ServiceGuide

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
KB = ROOT / "retrieval" / "sample_kb"
GUIDES_DIR = KB / "guides"
DOCS_DIR = KB / "docs"
SYNONYMS = ROOT / "retrieval" / "resources" / "synonyms.yaml"
GLOSSARY = ROOT / "retrieval" / "resources" / "glossary.txt"
GOLD = ROOT / "evals" / "gold" / "retrieval.jsonl"

# The 14 item ids of /work/shared/domain/yijianshi_facts.json (copied so the test runs without that folder).
EXPECTED_GUIDE_IDS = {
    "birth",
    "school_entry",
    "retirement",
    "after_death",
    "company_setup",
    "open_restaurant",
    "house_transfer_utilities",
    "disability_services",
    "social_security_card",
    "company_deregistration",
    "credit_repair",
    "employee_onboarding",
    "individual_to_company",
    "veteran_services",
}
# The real public policy the gold set also targets (shipped in sample_kb/policies).
POLICY_ID = "hubei-ai-industry-implementation-opinions-2025"
# Its sections as the Markdown loader cuts them (Chinese numbering lines act as headings).
POLICY_SECTIONS = {
    "一、突破关键核心技术",
    "二、培育壮大产业能级",
    "三、夯实基础要素支撑",
    "四、打造普惠应用场景",
    "五、营造一流创新生态",
}

GUIDE_FILES = sorted(GUIDES_DIR.glob("*.yaml"))
DOC_FILES = sorted(DOCS_DIR.glob("*.md"))
POLICY_FILE = KB / "policies" / f"{POLICY_ID}.md"


def _load_guide(path: Path) -> ServiceGuide:
    return ServiceGuide.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def _guide_text(guide: ServiceGuide) -> str:
    return "\n".join([guide.name, *(text for _, _, text in guide.sections())])


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, flags=re.S)
    assert match, "document must start with a '---' YAML front matter block"
    meta = yaml.safe_load(match.group(1))
    assert isinstance(meta, dict)
    return meta, match.group(2)


def _headings(body: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^#{1,6}\s+(.+)$", body, flags=re.M)]


def _gold_rows() -> list[dict[str, Any]]:
    lines = [ln for ln in GOLD.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return [json.loads(ln) for ln in lines]


# --- service guides -------------------------------------------------------------------------------


def test_guide_files_are_exactly_the_fourteen_items() -> None:
    assert {p.stem for p in GUIDE_FILES} == EXPECTED_GUIDE_IDS


@pytest.mark.parametrize("path", GUIDE_FILES, ids=lambda p: p.stem)
def test_guide_parses_and_id_matches_file_name(path: Path) -> None:
    guide = _load_guide(path)
    assert guide.id == path.stem
    assert guide.sample is True
    assert guide.region == "湖北省"
    assert guide.status == "有效"


@pytest.mark.parametrize("path", GUIDE_FILES, ids=lambda p: p.stem)
def test_guide_has_citizen_facing_extras(path: Path) -> None:
    guide = _load_guide(path)
    assert 3 <= len(guide.aliases) <= 8
    assert len(set(guide.aliases)) == len(guide.aliases)
    assert 3 <= len(guide.faq) <= 5
    assert all(f.q.strip() and f.a.strip() for f in guide.faq)
    assert guide.sources, "every sample guide cites where its facts came from"
    assert all(s.title and s.url.startswith("http") for s in guide.sources)
    assert guide.materials and guide.steps and guide.bundled_items and guide.departments


@pytest.mark.parametrize("path", GUIDE_FILES, ids=lambda p: p.stem)
def test_every_field_has_an_explicit_confidence_and_none_claims_verified(path: Path) -> None:
    # A missing label silently means "verified" in ServiceGuide; sample data must never look verified.
    guide = _load_guide(path)
    assert set(guide.confidence) == set(FIELD_SECTIONS)
    assert "verified" not in guide.confidence.values()


@pytest.mark.parametrize("path", GUIDE_FILES, ids=lambda p: p.stem)
def test_unverified_fields_show_the_check_official_guide_note(path: Path) -> None:
    guide = _load_guide(path)
    assert "以湖北政务服务网现行办事指南为准" in UNVERIFIED_NOTE
    rendered = {name: text for name, _, text in guide.sections()}
    for field, level in guide.confidence.items():
        if level in ("inferred_typical", "unknown"):
            assert UNVERIFIED_NOTE in rendered[field], f"{guide.id}.{field} is {level} but shows no note"
        else:
            assert UNVERIFIED_NOTE not in rendered[field], f"{guide.id}.{field} is {level} but flagged"


@pytest.mark.parametrize("path", GUIDE_FILES, ids=lambda p: p.stem)
def test_unknown_time_limit_says_not_found_instead_of_a_number(path: Path) -> None:
    guide = _load_guide(path)
    if guide.confidence["time_limit"] == "unknown":
        assert "未找到" in guide.time_limit
        assert not re.search(r"\d+\s*个?工作日", guide.time_limit)


@pytest.mark.parametrize("path", GUIDE_FILES, ids=lambda p: p.stem)
def test_guide_aliases_carry_no_personal_data(path: Path) -> None:
    guide = _load_guide(path)
    for alias in guide.aliases:
        assert not re.search(r"\d{6,}", alias), alias  # no ID-card or phone numbers
        assert "@" not in alias


# --- articles -------------------------------------------------------------------------------------


def test_there_are_four_or_five_docs() -> None:
    assert 4 <= len(DOC_FILES) <= 5


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.stem)
def test_doc_front_matter_is_valid(path: Path) -> None:
    meta, body = _split_front_matter(path.read_text(encoding="utf-8"))
    assert re.fullmatch(r"[a-z0-9-]+", meta["id"])
    assert meta["id"] == path.stem
    assert meta["title"] and isinstance(meta["title"], str)
    assert meta["issuer"] == "govchat样例知识库"
    assert meta["region"] == "湖北省"
    assert meta["doc_type"] in ("article", "faq")
    assert isinstance(meta["published"], dt.date)
    assert meta["status"] == "有效"
    assert 300 <= len(body.strip()) <= 1200
    assert len([h for h in re.findall(r"^## .+$", body, flags=re.M)]) >= 3


def test_doc_ids_do_not_clash_with_guides_or_the_policy() -> None:
    doc_ids = {p.stem for p in DOC_FILES}
    assert not doc_ids & EXPECTED_GUIDE_IDS
    assert POLICY_ID not in doc_ids


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.stem)
def test_doc_marks_inferred_statements(path: Path) -> None:
    # Every doc says something the sources do not state outright, and must say so to the reader.
    _, body = _split_front_matter(path.read_text(encoding="utf-8"))
    assert "推断" in body


# --- synonyms -------------------------------------------------------------------------------------


def _synonyms() -> dict[str, list[str]]:
    data = yaml.safe_load(SYNONYMS.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_synonyms_file_has_one_flow_list_per_line() -> None:
    entries = [
        ln for ln in SYNONYMS.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")
    ]
    assert all(re.fullmatch(r"[^:\s]+: \[[^\[\]]+\]", ln) for ln in entries), "format: 术语: [变体, ...]"
    keys = [ln.split(":", 1)[0] for ln in entries]
    assert not [k for k, n in Counter(keys).items() if n > 1], "duplicate keys are silently merged by YAML"


def test_synonyms_are_string_lists_with_unambiguous_variants() -> None:
    data = _synonyms()
    assert len(data) >= 60
    variants: list[str] = []
    for official, colloquial in data.items():
        assert isinstance(official, str) and official.strip()
        assert isinstance(colloquial, list) and colloquial
        assert all(isinstance(v, str) and v.strip() for v in colloquial), official
        assert official not in colloquial
        variants.extend(colloquial)
    repeated = [v for v, n in Counter(variants).items() if n > 1]
    assert not repeated, f"variants under two official terms expand ambiguously: {repeated}"
    assert not set(variants) & set(data), "a variant must not also be an official term"


@pytest.mark.parametrize(
    ("colloquial", "official"),
    [
        ("生娃", "新生儿出生"),
        ("生孩子", "新生儿出生"),
        ("上户口", "户口登记"),
        ("医保卡", "社保卡"),
        ("房产证", "不动产权证书"),
        ("退休金", "养老金"),
        ("开饭馆", "开办餐饮店"),
        ("开饭店", "开办餐饮店"),
        ("驾照", "驾驶证"),
        ("执照", "营业执照"),
        ("注销公司", "企业注销"),
        ("个体户转公司", "个体工商户转型为企业"),
        ("死亡证明", "居民死亡医学证明"),
        ("残疾证", "残疾人证"),
        ("退伍", "军人退役"),
        ("公积金", "住房公积金"),
        ("身份证", "居民身份证"),
        ("户口本", "居民户口簿"),
        ("出生证", "出生医学证明"),
        ("上学", "义务教育入学"),
        ("入学", "义务教育入学"),
        ("二手房过户", "存量房转移登记"),
    ],
)
def test_required_colloquial_terms_map_to_the_official_term(colloquial: str, official: str) -> None:
    assert colloquial in _synonyms()[official]


# --- glossary -------------------------------------------------------------------------------------


def _glossary_lines() -> list[str]:
    return GLOSSARY.read_text(encoding="utf-8").splitlines()


def test_glossary_lines_are_jieba_user_dict_entries() -> None:
    lines = _glossary_lines()
    assert len(lines) >= 150
    bad = [ln for ln in lines if not re.fullmatch(r"\S+ [1-9]\d* [a-z]{1,3}", ln)]
    assert not bad, bad[:5]
    words = [ln.split(" ")[0] for ln in lines]
    assert len(set(words)) == len(words)


@pytest.mark.parametrize(
    ("sentence", "term"),
    [
        ("孩子的出生医学证明丢了怎么办", "出生医学证明"),
        ("二手房水电气网联动过户要多久", "水电气网联动过户"),
        ("个体工商户转型为企业去哪里办", "个体工商户转型为企业"),
        ("退役军人优待证在哪领", "退役军人优待证"),
        ("需要不动产权证书吗", "不动产权证书"),
        ("可以拨打12345政务服务便民热线", "12345政务服务便民热线"),
    ],
)
def test_glossary_keeps_government_terms_whole_in_jieba(sentence: str, term: str) -> None:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.load_userdict(str(GLOSSARY))
    assert term in tokenizer.lcut(sentence)


# --- retrieval gold set ---------------------------------------------------------------------------


def test_gold_set_size_and_unique_ids() -> None:
    rows = _gold_rows()
    assert len(rows) >= 130
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"r\d{3}", i) for i in ids)
    for row in rows:
        assert set(row) == {"id", "question", "expected_doc", "expected_section", "kind"}
        assert row["kind"] in ("guide", "doc", "policy")
        assert row["question"].strip()


def test_gold_targets_exist_and_sections_are_real() -> None:
    guides = {p.stem: _load_guide(p) for p in GUIDE_FILES}
    doc_headings = {
        p.stem: _headings(_split_front_matter(p.read_text(encoding="utf-8"))[1]) for p in DOC_FILES
    }
    for row in _gold_rows():
        doc, section, kind = row["expected_doc"], row["expected_section"], row["kind"]
        if kind == "guide":
            assert doc in guides, row
            titles = {title for _, title, _ in guides[doc].sections()}
            assert section in titles, row
        elif kind == "doc":
            assert doc in doc_headings, row
            assert section == "" or section in doc_headings[doc], row
        else:
            assert doc == POLICY_ID, row
            assert section == "" or section in POLICY_SECTIONS, row


def test_gold_covers_every_guide_doc_and_policy() -> None:
    rows = _gold_rows()
    per_guide = Counter(r["expected_doc"] for r in rows if r["kind"] == "guide")
    assert set(per_guide) == EXPECTED_GUIDE_IDS
    assert min(per_guide.values()) >= 6
    for gid in EXPECTED_GUIDE_IDS:
        sections = {r["expected_section"] for r in rows if r["expected_doc"] == gid}
        assert len(sections) >= 5, f"{gid} questions should spread across sections"
    doc_rows = [r for r in rows if r["kind"] == "doc"]
    assert len(doc_rows) >= 10
    assert {r["expected_doc"] for r in doc_rows} == {p.stem for p in DOC_FILES}
    assert sum(r["kind"] == "policy" for r in rows) >= 20


def test_gold_questions_are_not_copied_from_their_target() -> None:
    targets = {p.stem: _guide_text(_load_guide(p)) for p in GUIDE_FILES}
    targets.update({p.stem: p.read_text(encoding="utf-8") for p in DOC_FILES})
    targets[POLICY_ID] = POLICY_FILE.read_text(encoding="utf-8")
    questions = [r["question"] for r in _gold_rows()]
    assert len(set(questions)) == len(questions), "duplicate questions"
    for row in _gold_rows():
        text = targets[row["expected_doc"]]
        core = row["question"].rstrip("？?")
        assert core not in text, f"{row['id']} is a verbatim substring of {row['expected_doc']}"


def test_the_real_policy_ships_with_its_source_metadata() -> None:
    """The one real public document in the sample KB keeps who issued it, when, and where it comes from."""
    head = POLICY_FILE.read_text(encoding="utf-8").split("---")[1]
    meta = yaml.safe_load(head)
    assert meta["issuer"] == "湖北省人民政府办公厅"
    assert str(meta["signed"]) == "2025-10-13" and str(meta["published"]) == "2025-10-23"
    assert meta["doc_type"] == "policy" and "公开发布" in meta["provenance"]
