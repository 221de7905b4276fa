"""The citizen's personal checklist: guide materials selected by the catalog rules, never paraphrased.

Every fact line comes from ``ServiceGuide.field_text`` or ``Material.render`` unchanged; this module
only chooses which materials apply and adds headings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from connectors import messages as msg
from connectors.conditions import all_hold
from connectors.slots import display_value
from connectors.types import Checklist, ChecklistItem, Mark, Scalar, Workflow
from retrieval.guide import SAMPLE_NOTICE, UNVERIFIED_NOTE, Material, ServiceGuide


def material_mark(material: Material) -> Mark:
    """可免提交 when the guide names an exemption (电子证照 / 数据共享) or the material comes by data sharing."""
    if material.exemption or material.source == "数据共享":
        return "可免提交"
    return material.necessity


def applicable_materials(
    workflow: Workflow, guide: ServiceGuide, answers: Mapping[str, Scalar | None], today: date
) -> tuple[list[Material], list[Material], list[Material]]:
    """(needed, not needed, undecided) in guide order: unruled materials always apply; ruled ones when any
    rule holds; a ruled material none of whose rules holds yet, but one of whose rules reads an unanswered
    slot, is undecided (the citizen asked to submit before that question): shown as 视情况."""
    rules: dict[str, list[tuple[bool, bool]]] = {}
    for rule in workflow.material_rules:
        open_ = any(c.slot not in answers for c in rule.when)
        rules.setdefault(rule.material, []).append((all_hold(rule.when, answers, today), open_))
    needed: list[Material] = []
    skipped: list[Material] = []
    undecided: list[Material] = []
    for m in guide.materials:
        outcomes = rules.get(m.name)
        if outcomes is None or any(held for held, _ in outcomes):
            needed.append(m)
        elif any(open_ for _, open_ in outcomes):
            undecided.append(m)
        else:
            skipped.append(m)
    return needed, skipped, undecided


def situation(workflow: Workflow, answers: Mapping[str, Scalar | None]) -> list[tuple[str, str]]:
    return [(s.label, display_value(s, answers[s.id])) for s in workflow.slots if s.id in answers]


def build_checklist(
    workflow: Workflow,
    guide: ServiceGuide,
    answers: Mapping[str, Scalar | None],
    *,
    today: date | None = None,
) -> Checklist:
    today = today or date.today()
    needed, skipped, undecided = applicable_materials(workflow, guide, answers, today)
    undecided_names = {m.name for m in undecided}
    return Checklist(
        workflow_id=workflow.id,
        workflow_name=workflow.name,
        guide_id=guide.id,
        item_code=workflow.item_code or guide.item_code,
        situation=situation(workflow, answers),
        bundled=guide.field_text("bundled_items") if guide.bundled_items else "",
        materials=[
            ChecklistItem(
                name=m.name,
                mark="视情况" if m.name in undecided_names else material_mark(m),
                text=m.render(),
                exemption=m.exemption,
            )
            for m in guide.materials
            if m in needed or m.name in undecided_names
        ],
        not_needed=[m.name for m in skipped],
        materials_note=UNVERIFIED_NOTE if guide.is_unverified("materials") else "",
        conditions=guide.field_text("conditions"),
        steps=guide.field_text("steps"),
        time_limit=guide.field_text("time_limit"),
        visits=guide.field_text("visits"),
        channels=guide.field_text("channels"),
        fees=guide.field_text("fees"),
        departments=guide.field_text("departments"),
        handoff=list(workflow.handoff),
        notice=SAMPLE_NOTICE if guide.sample else "",
    )


def render_checklist(cl: Checklist) -> str:
    """Plain text for chat and for the case record; headings from ``messages``, facts verbatim."""
    lines = [msg.CL_TITLE.format(name=cl.workflow_name)]
    if cl.situation:
        lines.append(msg.CL_SITUATION + "；".join(f"{label}：{value}" for label, value in cl.situation))
    if cl.bundled:
        lines += [msg.CL_BUNDLED, cl.bundled]
    lines.append(msg.CL_MATERIALS)
    lines += [
        f"{i}. {msg.CL_MARK.format(mark=item.mark)}{item.text}" for i, item in enumerate(cl.materials, 1)
    ]
    if cl.materials_note:
        lines.append(cl.materials_note)
    if cl.not_needed:
        lines.append(msg.CL_NOT_NEEDED + "、".join(cl.not_needed))
    for heading, text in (
        (msg.CL_CONDITIONS, cl.conditions),
        (msg.CL_STEPS, cl.steps),
        (msg.CL_TIME_LIMIT, cl.time_limit),
        (msg.CL_VISITS, cl.visits),
        (msg.CL_CHANNELS, cl.channels),
        (msg.CL_FEES, cl.fees),
        (msg.CL_DEPARTMENTS, cl.departments),
    ):
        lines += [heading, text]
    if cl.handoff:
        lines.append(msg.CL_HANDOFF)
        lines += [f"- {msg.handoff_label(k)}" for k in cl.handoff]
    if cl.notice:
        lines.append(cl.notice)
    return "\n".join(lines)
