"""Citizen text without the editors' provenance notes (pure).

The sample guides keep notes for their editors inside field text: where a fact came from (外省厦门做法,
外省参考：…), how sure it is (推断项, 出自旧版…需按现行办法核对, 第三方资料) and the sample marker
(``UNVERIFIED_NOTE``). An answer quotes the facts verbatim but shows none of these notes; the citation
carries one plain sentence for the citizen instead (``Cleaned.note``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.guide import UNVERIFIED_NOTE

# Words that mark an editor's note, not a fact for the citizen.
_NOTE_WORDS = ("做法", "推断", "样例信息", "出自旧版", "第三方资料", "外省样本", "按现行办法核对", "未经核实")
_PAREN = re.compile(r"（[^（）\n]*）")
_OTHER_REGION_REF = re.compile(r"外省(?:（([^（）\n]{1,12})）)?参考[：:]")
_THIRD_PARTY = re.compile(r"第三方资料(?:显示|称)[，,]?")
_CLAUSE = re.compile(r"[^；;\n]+[；;]?")

OTHER_REGION_NOTE = "本条参考外省做法，湖北以现行办事指南为准。"
UNVERIFIED_CITIZEN_NOTE = "本条为样例信息，尚未核实，以湖北政务服务网现行办事指南为准。"


@dataclass(frozen=True)
class Cleaned:
    text: str
    note: str  # for the citation / source view; "" when the text held no note


def _is_note(text: str) -> bool:
    return any(w in text for w in _NOTE_WORDS)


def _line(line: str) -> tuple[str, bool]:
    """One line without its notes; whether it held a note about another region's practice."""
    other = "外省" in line or "做法" in line
    line = _PAREN.sub(lambda m: "" if _is_note(m.group(0)) or "外省" in m.group(0) else m.group(0), line)
    line = _THIRD_PARTY.sub("据公开资料，", line)
    clauses = [c for c in _CLAUSE.findall(line) if not _is_note(c)]
    line = "".join(clauses).rstrip("；;，, ")
    line = re.sub(r"；\s*说明：\s*$|说明：\s*(?=；|$)", "", line)
    region = lambda m: f"其他地方{'（' + m.group(1) + '）' if m.group(1) else ''}的情况供参考："  # noqa: E731
    line = _OTHER_REGION_REF.sub(region, line)
    return line.replace("外省", "外地"), other


def clean(text: str) -> Cleaned:
    """``text`` with provenance notes taken out, and the plain note the citation shows instead."""
    unverified = UNVERIFIED_NOTE in text
    text = text.replace(UNVERIFIED_NOTE, "")
    lines: list[str] = []
    other_region = False
    for raw in text.splitlines():
        line, other = _line(raw)
        other_region = other_region or other
        if line.strip() or not raw.strip():
            lines.append(line)
    body = "\n".join(lines).strip()
    note = OTHER_REGION_NOTE if other_region else (UNVERIFIED_CITIZEN_NOTE if unverified else "")
    return Cleaned(body, note)
