"""Load and validate the 一件事 catalog at start-up.

Each ``connectors/catalog/<id>.yaml`` becomes a ``Workflow``; schema errors and broken cross-references
(unknown material, unknown slot, a choice value that is not offered) raise ``CatalogError`` with the
message ``"<file>: <field>: <reason>"`` so a bad edit stops the app with a pointer to the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from connectors.regions import get_region
from connectors.types import Condition, Slot, Workflow
from retrieval.guide import ServiceGuide


class CatalogError(ValueError):
    """A catalog or guide file that cannot be used; ``str()`` is ``"<file>: <field>: <reason>"``."""

    def __init__(self, file: str, field: str, reason: str) -> None:
        super().__init__(f"{file}: {field}: {reason}")
        self.file, self.field, self.reason = file, field, reason


def default_catalog_dir() -> Path:
    return Path(str(resources.files("connectors").joinpath("catalog")))


def _loc(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CatalogError(path.name, "(file)", f"cannot be read as YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(path.name, "(root)", "must be a mapping of fields")
    return data


def _from_validation(name: str, exc: ValidationError) -> CatalogError:
    err = exc.errors()[0]
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "tagged-union")))]
    return CatalogError(name, _loc(loc), err["msg"])


def load_guides(guides_dir: Path) -> dict[str, ServiceGuide]:
    """Every ``*.yaml`` service guide in a folder, by id (a convenience for tests and the CLI)."""
    guides: dict[str, ServiceGuide] = {}
    for path in sorted(Path(guides_dir).glob("*.y*ml")):
        try:
            guide = ServiceGuide.model_validate(_read_yaml(path))
        except ValidationError as exc:
            raise _from_validation(path.name, exc) from exc
        guides[guide.id] = guide
    return guides


def _check_condition(cond: Condition, slots: Mapping[str, Slot], where: str, name: str) -> None:
    slot = slots.get(cond.slot)
    if slot is None:
        raise CatalogError(name, f"{where}.slot", f"unknown slot '{cond.slot}'")
    op, _ = cond.operator
    if op == "days_ago_gt":
        if slot.kind != "date":
            raise CatalogError(
                name, f"{where}.days_ago_gt", f"only applies to date slots ('{slot.id}' is {slot.kind})"
            )
        return
    for value in cond.values():
        reason = ""
        if slot.kind == "choice" and not (isinstance(value, str) and slot.choice(value)):
            reason = f"'{value}' is not a choice of slot '{slot.id}' ({[c.value for c in slot.choices]})"
        elif slot.kind == "yesno" and not isinstance(value, bool):
            reason = f"slot '{slot.id}' is yes/no: compare with true or false, not {value!r}"
        elif slot.kind == "region" and get_region(str(value)) is None:
            reason = f"'{value}' is not a known Hubei administrative code"
        elif slot.kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
            reason = f"slot '{slot.id}' is a number: {value!r} is not"
        elif slot.kind == "date":
            try:
                date.fromisoformat(str(value))
            except ValueError:
                reason = f"slot '{slot.id}' is a date: {value!r} is not YYYY-MM-DD"
        if reason:
            raise CatalogError(name, f"{where}.{op}", reason)


def validate_workflow(wf: Workflow, guides: Mapping[str, ServiceGuide], name: str) -> Workflow:
    """Cross-reference checks that the schema alone cannot do; returns the workflow with its item code."""
    guide = guides.get(wf.guide_id)
    if guide is None:
        raise CatalogError(name, "guide_id", f"no loaded guide has id '{wf.guide_id}'")
    slots: dict[str, Slot] = {}
    for i, slot in enumerate(wf.slots):
        for j, cond in enumerate(slot.ask_when):
            # Only earlier slots: the order of questions must never depend on a later answer.
            _check_condition(cond, slots, f"slots[{i}].ask_when[{j}]", name)
        slots[slot.id] = slot
    materials = {m.name for m in guide.materials}
    for i, rule in enumerate(wf.material_rules):
        if rule.material not in materials:
            raise CatalogError(
                name,
                f"material_rules[{i}].material",
                f"'{rule.material}' is not a material of guide '{guide.id}'",
            )
        for j, cond in enumerate(rule.when):
            _check_condition(cond, slots, f"material_rules[{i}].when[{j}]", name)
    for i, elig in enumerate(wf.eligibility):
        for j, cond in enumerate(elig.when):
            _check_condition(cond, slots, f"eligibility[{i}].when[{j}]", name)
    return wf if wf.item_code else wf.model_copy(update={"item_code": guide.item_code})


def load_workflow(path: Path, guides: Mapping[str, ServiceGuide]) -> Workflow:
    data = _read_yaml(path)
    try:
        wf = Workflow.model_validate(data)
    except ValidationError as exc:
        raise _from_validation(path.name, exc) from exc
    if wf.id != path.stem:
        raise CatalogError(path.name, "id", f"'{wf.id}' must equal the file name '{path.stem}'")
    return validate_workflow(wf, guides, path.name)


def load_catalog(
    catalog_dir: Path | None, guides: Mapping[str, ServiceGuide], *, require: Iterable[str] = ()
) -> dict[str, Workflow]:
    """Load every ``*.yaml`` in ``catalog_dir`` (default: the shipped catalog) against ``guides``.

    Args:
        catalog_dir: folder of workflow files; None = ``connectors/catalog``.
        guides: the loaded service guides by id.
        require: workflow ids that must be present (e.g. every guide id).

    Raises:
        CatalogError: naming the file and field of the first problem found.
    """
    folder = Path(catalog_dir) if catalog_dir is not None else default_catalog_dir()
    if not folder.is_dir():
        raise CatalogError(str(folder), "(folder)", "catalog folder does not exist")
    catalog: dict[str, Workflow] = {}
    for path in sorted(folder.glob("*.y*ml")):
        wf = load_workflow(path, guides)
        catalog[wf.id] = wf
    for wid in require:
        if wid not in catalog:
            raise CatalogError(str(folder), wid, "no workflow file for this item")
    return catalog
