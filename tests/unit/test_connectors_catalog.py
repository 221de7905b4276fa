"""Catalog loading: the 14 shipped workflows load, and every broken file names its file and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.catalog_loader import CatalogError, load_catalog, load_guides
from connectors.types import Condition
from tests.unit._connectors_fixtures import shipped, small_guide, small_workflow_data

pytestmark = pytest.mark.unit


def _write(folder: Path, data: dict[str, Any], name: str = "demo.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _load(tmp_path: Path, data: dict[str, Any]) -> None:
    _write(tmp_path, data)
    load_catalog(tmp_path, {"demo": small_guide()})


def test_small_catalog_loads_and_takes_item_code_from_guide(tmp_path: Path) -> None:
    _write(tmp_path, small_workflow_data())
    catalog = load_catalog(tmp_path, {"demo": small_guide(item_code="HB-DEMO-001")})
    assert catalog["demo"].item_code == "HB-DEMO-001"
    assert [s.id for s in catalog["demo"].slots] == ["huji", "married", "city", "born", "kids"]


def _rule(material: str, **cond: Any) -> dict[str, Any]:
    return {"material": material, "when": cond}


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (
            {"material_rules": [_rule("户口本", slot="huji", equals="other")]},
            "material_rules[0].material",
            "户口本",
        ),
        (
            {"material_rules": [_rule("居住证", slot="hukou", equals="other")]},
            "material_rules[0].when[0].slot",
            "hukou",
        ),
        (
            {"material_rules": [_rule("居住证", slot="huji", equals="abroad")]},
            "material_rules[0].when[0].equals",
            "abroad",
        ),
        (
            {"material_rules": [_rule("居住证", slot="huji", **{"in": ["x"]})]},
            "material_rules[0].when[0].in",
            "'x'",
        ),
        (
            {"material_rules": [_rule("结婚证", slot="married", equals="是")]},
            "material_rules[0].when[0].equals",
            "yes/no",
        ),
        (
            {"material_rules": [_rule("结婚证", slot="city", equals="999999")]},
            "material_rules[0].when[0].equals",
            "999999",
        ),
        (
            {"material_rules": [_rule("结婚证", slot="huji", days_ago_gt=3)]},
            "material_rules[0].when[0].days_ago_gt",
            "date",
        ),
        (
            {"eligibility": [{"when": {"slot": "nope", "equals": 1}, "message": "x"}]},
            "eligibility[0].when[0].slot",
            "nope",
        ),
        ({"guide_id": "missing"}, "guide_id", "missing"),
        ({"id": "other"}, "id", "file name"),
        ({"handoff": ["fax"]}, "handoff[0]", "online_link"),
        ({"handoff": []}, "handoff", "at least 1"),
    ],
)
def test_broken_cross_references_name_file_and_field(
    tmp_path: Path, change: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(CatalogError) as err:
        _load(tmp_path, small_workflow_data(**change))
    assert err.value.file == "demo.yaml"
    assert err.value.field == field
    assert reason in err.value.reason
    assert str(err.value).startswith(f"demo.yaml: {field}: ")


def _with_slot(index: int, **patch: Any) -> dict[str, Any]:
    data = small_workflow_data()
    data["slots"][index] = {**data["slots"][index], **patch}
    return data


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        (_with_slot(0, kind="dropdown"), "slots[0].kind", "choice"),
        (_with_slot(0, choices=[{"value": "hubei", "label": "本省"}]), "slots[0]", "at least two"),
        (
            _with_slot(1, choices=[{"value": "a", "label": "甲"}, {"value": "b", "label": "乙"}]),
            "slots[1]",
            "only choice",
        ),
        (
            _with_slot(2, validation={"pattern": "([unclosed"}),
            "slots[2].validation.pattern",
            "regular expression",
        ),
        (_with_slot(4, ask_when={"slot": "later", "equals": True}), "slots[4].ask_when[0].slot", "later"),
        (_with_slot(1, id="Bad-Id"), "slots[1].id", "pattern"),
        (_with_slot(1, id="huji"), "slots", "duplicate slot ids"),
        (_with_slot(1, unknown_field=1), "slots[1].unknown_field", "Extra inputs"),
    ],
)
def test_broken_schema_names_file_and_field(
    tmp_path: Path, data: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(CatalogError) as err:
        _load(tmp_path, data)
    assert (err.value.file, err.value.field) == ("demo.yaml", field)
    assert reason in err.value.reason


def test_ask_when_may_only_look_back(tmp_path: Path) -> None:
    data = small_workflow_data()
    data["slots"][0]["ask_when"] = {"slot": "married", "equals": True}  # married is asked later
    with pytest.raises(CatalogError, match=r"slots\[0\]\.ask_when\[0\]\.slot: unknown slot 'married'"):
        _load(tmp_path, data)


def test_condition_needs_exactly_one_operator() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Condition.model_validate({"slot": "a", "equals": 1, "not_equals": 2})
    with pytest.raises(ValueError, match="exactly one"):
        Condition.model_validate({"slot": "a"})


def test_yaml_syntax_error_and_non_mapping(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"^demo\.yaml: \(file\): cannot be read as YAML"):
        load_catalog(tmp_path, {"demo": small_guide()})
    (tmp_path / "demo.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"^demo\.yaml: \(root\): must be a mapping"):
        load_catalog(tmp_path, {"demo": small_guide()})


def test_missing_folder_and_required_ids(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalog(tmp_path / "nope", {})
    _write(tmp_path, small_workflow_data())
    with pytest.raises(CatalogError, match="birth: no workflow file"):
        load_catalog(tmp_path, {"demo": small_guide()}, require=["demo", "birth"])


def test_broken_guide_file_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "g.yaml").write_text("id: demo\nname: x\n", encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_guides(tmp_path)
    assert err.value.file == "g.yaml"
    assert err.value.field == "audience"


# ------------------------------------------------------------------ the shipped catalog


# The 14 items of the national 高效办成一件事 list (the domain notes' yijianshi_facts.json), by our ids.
FACT_IDS = [
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
]


def test_every_fact_item_has_a_guide_and_a_workflow() -> None:
    guides, catalog = shipped()
    assert len(FACT_IDS) == 14
    assert sorted(catalog) == sorted(FACT_IDS)
    assert set(guides) >= set(FACT_IDS)


@pytest.mark.parametrize("wid", FACT_IDS)
def test_shipped_workflow_is_meaningful(wid: str) -> None:
    guides, catalog = shipped()
    wf = catalog[wid]
    assert wf.guide_id == wid
    assert 2 <= len(wf.slots) <= 5
    assert set(wf.handoff) >= {"caseworker", "ticket_12345"}
    names = {m.name for m in guides[wid].materials}
    assert {r.material for r in wf.material_rules} <= names
