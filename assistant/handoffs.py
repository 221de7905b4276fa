"""Chooses and performs handoffs: which channel the citizen picked, and the connector call."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from assistant.pii import mask_text
from connectors.handoff.base import HandoffConnector
from connectors.types import AppealType, ContactInfo, Handoff, HandoffRequest

log = logging.getLogger(__name__)

HANDOFF_LABELS: dict[str, str] = {
    "online_link": "在鄂汇办/湖北政务服务网线上办理",
    "platform": "直接向省政务服务平台提交申报",
    "caseworker": "预约窗口工作人员帮办",
    "ticket_12345": "登记12345工单",
}
_CUES: dict[str, tuple[str, ...]] = {
    "online_link": ("线上", "网上", "在线", "链接", "鄂汇办", "二维码", "自己办", "手机办"),
    "platform": ("直接申报", "提交申报", "帮我提交", "直接提交", "申报"),
    "caseworker": ("窗口", "帮办", "工作人员", "人工", "代办", "找人"),
    "ticket_12345": ("12345", "热线", "工单"),
}


def options_prompt(options: Sequence[str]) -> str:
    lines = [f"{i}. {HANDOFF_LABELS.get(k, k)}" for i, k in enumerate(options, 1)]
    return "接下来您希望怎么办理？请回复序号或名称：\n" + "\n".join(lines)


def pick_option(text: str, options: Sequence[str]) -> str | None:
    """The option a reply names: by number (1/第一个/选1) or by a cue word; None when unclear."""
    t = text.strip().lower()
    m = re.fullmatch(r"(?:选|第)?\s*([1-9])\s*(?:个|项|号)?[。.!！]?", t)
    if m:
        i = int(m.group(1))
        return options[i - 1] if i <= len(options) else None
    found = [k for k in options if any(c in t for c in _CUES.get(k, ()))]
    return found[0] if len(found) == 1 else None


class HandoffService:
    """One connector per kind; a kind without a connector is not offered."""

    def __init__(self, connectors: Mapping[str, HandoffConnector]) -> None:
        self._connectors = dict(connectors)

    def available(self, wanted: Sequence[str]) -> list[str]:
        return [k for k in wanted if k in self._connectors]

    async def submit(
        self,
        kind: str,
        *,
        session_id: str,
        workflow: Mapping[str, Any] | None = None,
        answers: Mapping[str, Any] | None = None,
        checklist: Any = None,
        summary: str = "",
        content: str = "",
        appeal_type: AppealType = "求助",
        contact: ContactInfo | None = None,
        consent: bool = False,
        priority: int = 1,
    ) -> Handoff:
        connector = self._connectors[kind]
        wf = dict(workflow or {})
        request = HandoffRequest(
            session_id=session_id,
            workflow_id=str(wf.get("id", "")),
            workflow_name=str(wf.get("name", "")),
            item_code=str(wf.get("item_code", "")),
            region_code=str(wf.get("region_code", "")),
            answers=dict(answers or {}),
            checklist=checklist,
            # Case records are read by caseworkers and by whoever holds the case code: masked text only
            # (contact data travels separately, encrypted at rest, with the citizen's consent).
            summary=mask_text(summary),
            content=mask_text(content),
            appeal_type=appeal_type,
            contact=contact,
            consent=consent,
            priority=priority,
        )
        return await connector.submit(request)


def handoff_json(h: Handoff) -> dict[str, Any]:
    data = h.model_dump(mode="json")
    data["label"] = HANDOFF_LABELS.get(h.kind, h.kind)
    return data
