"""The caseworker's copilot: what a handed-off case is about, and a cited draft reply to it.

A case is about what the citizen asked up to the handoff: the 一件事 it was handed off from, the answers
collected and the checklist built then. Turns after the handoff are follow-ups, shown apart; a question
the citizen asks later about something else never becomes the subject of the draft.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from assistant.consult import ConsultAnswerer, ConsultOutcome
from connectors.types import Case, CaseMessage

# Turn records and the case row are written in the same request; allow for clock rounding between them.
_HANDOFF_SLACK_S = 2.0


def split_at_handoff(
    transcript: Sequence[dict[str, Any]], created_at: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(turns up to the handoff, turns after it) by the turns' timestamps."""
    cut = created_at.timestamp() + _HANDOFF_SLACK_S
    before = [t for t in transcript if float(t.get("ts") or 0.0) <= cut]
    after = [t for t in transcript if float(t.get("ts") or 0.0) > cut]
    return before, after


def case_question(
    case_messages: Sequence[CaseMessage],
    before: Sequence[dict[str, Any]],
    summary: str,
    workflow_name: str = "",
) -> str:
    """What the draft should answer, in order of preference:

    1. the citizen's own words on the case;
    2. the last chat message before the handoff that the assistant treated as a question (its reply's
       intent was consult), so answers to a flow's question cards ("否", "武汉市") are skipped;
    3. for a case handed off from a 一件事 flow, how to get that item done;
    4. the summary's last 群众 line, else the whole summary.
    """
    for m in reversed(case_messages):
        if m.role == "citizen" and m.text.strip():
            return m.text.strip()
    for user, reply in zip(reversed(before[:-1]), reversed(before[1:]), strict=True):
        content = str(user.get("content", "")).strip()
        intent = (reply.get("meta") or {}).get("intent")
        if (
            user.get("role") == "user"
            and reply.get("role") == "assistant"
            and intent == "consult"
            and content
        ):
            return content
    if workflow_name:
        return f"{workflow_name}怎么办理，需要哪些材料"
    for line in reversed(summary.splitlines()):
        if line.startswith("群众：") and line[3:].strip():
            return line[3:].strip()
    return summary.strip()


def checklist_part(checklist: dict[str, Any] | None) -> str:
    """The case's own checklist, verbatim: the situation collected and each material with its mark."""
    if not checklist or not checklist.get("materials"):
        return ""
    name = str(checklist.get("workflow_name", ""))
    lines = [f"根据您在对话中提供的情况办理{name}："]
    situation = [f"{label}：{value}" for label, value in checklist.get("situation") or []]
    if situation:
        lines.append("您的情况：" + "；".join(situation))
    lines.append("需要准备的材料：")
    for n, item in enumerate(checklist["materials"], 1):
        lines.append(f"{n}. 【{item.get('mark', '')}】{item.get('text') or item.get('name', '')}")
    return "\n".join(lines)


async def draft_reply(consult: ConsultAnswerer, case: Case, question: str) -> dict[str, Any]:
    """A reply the caseworker edits before sending: the case's checklist, then a cited answer to the
    question the case is about (the knowledge base's own words)."""
    out = ConsultOutcome()
    async for _ in consult.answer(question[:500], [], out, topic=case.workflow_id or None):
        pass
    answer = "\n\n".join([*out.notices, out.answer]) if out.notices else out.answer
    parts = [p for p in (checklist_part(case.checklist), answer) if p]
    return {
        "answer": "\n\n".join(parts),
        "citations": [c.to_json() for c in out.citations],
        "mode": out.mode.value,
        "question": question,
    }
