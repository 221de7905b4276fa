"""The gold sets say what the issue asks of them, and every expectation points at something real.

A fact string that is not in its document, a section that does not exist or a slot the workflow never
asks would make a case unwinnable and the report wrong; these tests catch that before a run does.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from assistant.pii import luhn_ok, mask_pii, validate_id_number
from evals.cases import (
    CASE_KINDS,
    GOLD_DIR,
    GoldError,
    fast_subset,
    load_gold,
    parse_case,
    parse_flow,
    spread,
)
from evals.fake_pii import compact, id_check_char, luhn_check_digit, make_card_number, make_id_number
from retrieval.factory import SAMPLE_KB_DIR
from retrieval.loaders import load_path
from tests.paths import POLICY_DOC

pytestmark = pytest.mark.unit
CATALOG = Path(__file__).resolve().parents[2] / "connectors" / "catalog"


def _norm(s: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


@pytest.fixture(scope="module")
def gold():  # type: ignore[no-untyped-def]
    return load_gold()


@pytest.fixture(scope="module")
def kb_docs() -> dict[str, tuple[str, set[str]]]:
    """doc id -> (normalised full text, section names) for the sample KB and the shared policy."""
    files = [*sorted(p for p in SAMPLE_KB_DIR.rglob("*") if p.suffix in (".yaml", ".md")), POLICY_DOC]
    out = {}
    for f in files:
        doc = load_path(f)
        out[doc.doc_id] = (_norm(doc.text), {b.section for b in doc.blocks})
    return out


@pytest.fixture(scope="module")
def catalog() -> dict[str, dict]:  # type: ignore[type-arg]
    return {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in CATALOG.glob("*.yaml")}


def test_sizes_match_the_issue(gold) -> None:  # type: ignore[no-untyped-def]
    kinds = {k: sum(1 for c in gold.cases if c.kind == k) for k in CASE_KINDS}
    assert len(gold.cases) >= 300
    assert all(n >= 10 for n in kinds.values()), kinds
    assert kinds["unanswerable"] / len(gold.cases) >= 0.15
    assert len(gold.flows) >= 20
    assert len(gold.condense) >= 20
    assert all(c.expect_decline for c in gold.cases if c.kind == "unanswerable")


def test_consult_facts_and_sections_exist_in_the_expected_document(gold, kb_docs) -> None:  # type: ignore[no-untyped-def]
    for c in gold.cases:
        if c.expected_doc is None:
            continue
        text, sections = kb_docs[c.expected_doc]
        for fact in c.expected_facts:
            assert _norm(fact) in text, (c.id, fact)
        if c.expected_section is not None:
            assert c.expected_section in sections, (c.id, c.expected_section)


def test_questions_are_the_citizens_words_not_the_guides(gold, kb_docs) -> None:  # type: ignore[no-untyped-def]
    corpus = "\n".join(t for t, _ in kb_docs.values())
    questions = [c.question for c in gold.cases] + [p.followup for p in gold.condense]
    for q in questions:
        bare = _norm(q).rstrip("？?")
        assert len(bare) < 6 or bare not in corpus, q
    assert len({c.question for c in gold.cases}) == len(gold.cases), "duplicate questions"


def test_pii_values_are_well_formed_and_recognised_by_the_masker(gold) -> None:  # type: ignore[no-untyped-def]
    pii = [c for c in gold.cases if c.kind == "pii"]
    assert len(pii) >= 10
    kinds = set()
    for c in pii:
        for v in c.pii_values:
            assert compact(v) in compact(unicodedata.normalize("NFKC", c.question)), (c.id, v)
            if "@" in v:
                kinds.add("email")
            elif len(v) == 18:
                assert validate_id_number(v), v
                kinds.add("id")
            elif len(v) == 11:
                assert re.fullmatch(r"1[3-9]\d{9}", v), v
                kinds.add("phone")
            else:
                assert luhn_ok(v), v
                kinds.add("card")
            masked = mask_pii(c.question).text
            assert compact(v) not in compact(unicodedata.normalize("NFKC", masked)), (c.id, v)
    assert kinds == {"email", "id", "phone", "card"}


def test_flows_answer_real_slots_and_end_in_an_offered_handoff(gold, catalog) -> None:  # type: ignore[no-untyped-def]
    guides = {
        p.stem: yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in (SAMPLE_KB_DIR / "guides").glob("*.yaml")
    }
    assert {f.workflow for f in gold.flows} == set(catalog), "every workflow has a flow"
    for f in gold.flows:
        wf = catalog[f.workflow]
        slots = {s["id"] for s in wf["slots"]}
        assert set(f.answers) <= slots, (f.id, set(f.answers) - slots)
        assert f.expected_handoff in wf["handoff"], f.id
        names = {m["name"] for m in guides[wf["guide_id"]]["materials"]}
        assert set(f.expected_materials) <= names, (f.id, set(f.expected_materials) - names)
    assert any(f.expect_ineligible for f in gold.flows)


def test_transact_cases_name_catalog_workflows(gold, catalog) -> None:  # type: ignore[no-untyped-def]
    named = {c.expected_workflow for c in gold.cases if c.kind == "transact"}
    assert named == set(catalog)


def test_fast_subset_is_deterministic_and_covers_every_kind(gold) -> None:  # type: ignore[no-untyped-def]
    a, b = fast_subset(gold), fast_subset(gold)
    assert [c.id for c in a.cases] == [c.id for c in b.cases]
    assert 70 <= len(a.cases) <= 95
    assert {c.kind for c in a.cases} == set(CASE_KINDS)
    assert len(a.flows) == 5 and len({f.workflow for f in a.flows}) == 5
    assert {c.id for c in a.cases} <= {c.id for c in gold.cases}


@pytest.mark.parametrize(
    ("items", "n", "expected"),
    [
        (list(range(10)), 5, [0, 2, 4, 6, 8]),
        (list(range(3)), 5, [0, 1, 2]),
        ([], 3, []),
        (list(range(4)), 0, []),
        (list(range(7)), 3, [0, 2, 4]),
    ],
)
def test_spread(items: list[int], n: int, expected: list[int]) -> None:
    assert spread(items, n) == expected


@pytest.mark.parametrize(
    "obj",
    [
        {"id": "x", "kind": "consult", "question": "q", "expected_intent": "consult"},  # no doc/facts
        {"id": "x", "kind": "gossip", "question": "q", "expected_intent": "consult"},
        {"id": "x", "kind": "human", "question": "q", "expected_intent": "smalltalk"},
        {"id": "x", "kind": "transact", "question": "q", "expected_intent": "transact"},
        {"id": "x", "kind": "pii", "question": "q", "expected_intent": "consult"},
        {"id": "x", "kind": "human", "question": "q"},
        {
            "id": "x",
            "kind": "complaint",
            "question": "q",
            "expected_intent": "complaint",
            "expected_handoff": "fax",
        },
    ],
)
def test_bad_case_lines_are_refused(obj: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(GoldError):
        parse_case(obj)


@pytest.mark.parametrize(
    "obj",
    [
        {
            "id": "f",
            "workflow": "birth",
            "start": "s",
            "answers": {"a": []},
            "handoff": "x",
            "expected_handoff": "caseworker",
        },
        {
            "id": "f",
            "workflow": "birth",
            "start": "s",
            "answers": {},
            "handoff": [],
            "expected_handoff": "caseworker",
        },
        {
            "id": "f",
            "workflow": "birth",
            "start": "s",
            "answers": {},
            "handoff": "x",
            "expected_handoff": "pigeon",
        },
        {"id": "f", "workflow": "birth", "start": "s", "handoff": "x", "expected_handoff": "caseworker"},
    ],
)
def test_bad_flow_lines_are_refused(obj: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(GoldError):
        parse_flow(obj)


def test_broken_gold_file_names_the_line(tmp_path: Path) -> None:
    for name in ("cases.jsonl", "flows.jsonl", "condense.jsonl"):
        (tmp_path / name).write_text((GOLD_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "flows.jsonl").write_text('{"id": "f1"\n', encoding="utf-8")
    with pytest.raises(GoldError, match=r"flows.jsonl:1"):
        load_gold(tmp_path)
    (tmp_path / "flows.jsonl").write_text(
        (GOLD_DIR / "flows.jsonl").read_text(encoding="utf-8"), encoding="utf-8"
    )
    line = json.loads((GOLD_DIR / "cases.jsonl").read_text(encoding="utf-8").splitlines()[0])
    with (tmp_path / "cases.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    with pytest.raises(GoldError, match="duplicate"):
        load_gold(tmp_path)


# --- the fake personal data ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("region", "birth", "seq"),
    [
        ("420106", dt.date(1966, 3, 7), 451),
        ("110105", dt.date(1949, 12, 31), 2),
        ("420103", dt.date(2000, 2, 29), 999),
    ],
)
def test_made_id_numbers_pass_the_maskers_checksum(region: str, birth: dt.date, seq: int) -> None:
    value = make_id_number(region, birth, seq)
    assert len(value) == 18 and validate_id_number(value)
    wrong = value[:17] + ("0" if value[17] != "0" else "1")
    assert not validate_id_number(wrong)


def test_known_check_characters() -> None:
    assert id_check_char("11010519491231002") == "X"  # the GB 11643 worked example
    assert luhn_check_digit("7992739871") == "3"  # the textbook Luhn example


@pytest.mark.parametrize(
    ("prefix", "length", "seed"), [("622202", 19, 3200417781234), ("4", 16, 7), ("621700", 12, 0)]
)
def test_made_card_numbers_pass_luhn(prefix: str, length: int, seed: int) -> None:
    value = make_card_number(prefix, length, seed)
    assert len(value) == length and value.startswith(prefix) and luhn_ok(value)


@pytest.mark.parametrize(
    "call",
    [
        lambda: id_check_char("1234"),
        lambda: id_check_char("1101051949123100X"),
        lambda: id_check_char("１１０１０５１９４９１２３１００２"),  # full-width digits are not ASCII
        lambda: make_id_number("42010", dt.date(1990, 1, 1), 1),
        lambda: make_id_number("420106", dt.date(1990, 1, 1), 1000),
        lambda: luhn_check_digit("12a"),
        lambda: make_card_number("622202", 11, 1),
        lambda: make_card_number("6" * 19, 19, 1),
    ],
)
def test_fake_pii_refuses_bad_input(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        call()


def test_compact_joins_typed_variants() -> None:
    assert compact("１３８ 7129-4560") == "13871294560"
