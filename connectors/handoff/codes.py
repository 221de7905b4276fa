"""办件 lifecycle code tables (DOMAIN-NOTES §4) and how a status record maps to one stage.

Field names follow the national-style 办件 exchange (SBLSH, SXBM, YSLZTDM, SLZTDM, SPHJDM, BJJGDM);
these are conventions from published vendor code, not an official Hubei specification.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Stage = Literal[
    "declared",
    "pre_accepted",
    "pre_rejected",
    "pre_correction",
    "accepted",
    "in_review",
    "correction",
    "rejected",
    "completed",
]

YSLZTDM = {"1": "通过", "2": "不受理", "3": "补交补正"}  # 预受理
SLZTDM = {"1": "受理", "2": "不受理", "3": "补齐补正", "4": "不予受理"}  # 受理
SPHJDM = {"1": "承办", "2": "审核", "3": "批准"}  # 审批环节
BJJGDM = {  # 办结结果
    "0": "出证办结",
    "1": "退回",
    "2": "作废",
    "3": "删除",
    "5": "补正不来办结",
    "6": "准予许可",
    "7": "不予许可",
}

STAGE_LABELS: dict[Stage, str] = {
    "declared": "已申报",
    "pre_accepted": "预受理通过",
    "pre_rejected": "预受理不受理",
    "pre_correction": "预受理补交补正",
    "accepted": "已受理",
    "in_review": "审查中",
    "correction": "补齐补正",
    "rejected": "不予受理",
    "completed": "已办结",
}


def stage_of(record: Mapping[str, object]) -> Stage:
    """The furthest lifecycle stage a 办件 status record shows."""

    def code(name: str) -> str:
        value = record.get(name)
        return "" if value is None else str(value)

    if code("BJJGDM"):
        return "completed"
    slz = code("SLZTDM")
    if slz == "1":
        return "in_review" if code("SPHJDM") else "accepted"
    if slz in ("2", "4"):
        return "rejected"
    if slz == "3":
        return "correction"
    ysl = code("YSLZTDM")
    return {"1": "pre_accepted", "2": "pre_rejected", "3": "pre_correction"}.get(ysl, "declared")  # type: ignore[return-value]


def describe(record: Mapping[str, object]) -> str:
    """A short Chinese status line, e.g. ``已办结（出证办结）`` or ``审查中（审核）``."""
    stage = stage_of(record)
    label = STAGE_LABELS[stage]
    if stage == "completed":
        return f"{label}（{BJJGDM.get(str(record.get('BJJGDM')), '未知结果')}）"
    if stage == "in_review":
        return f"{label}（{SPHJDM.get(str(record.get('SPHJDM')), '')}）"
    return label
