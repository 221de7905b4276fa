"""Where personal data could leak, and a scripted LLM that records every request it is sent.

A raw 身份证号, phone or card number from a PII gold case must appear in no answer, no audit row, no
session history, no LLM request and nowhere else in the database. The database scan reads every text
column of every table, so a new table added later is covered without touching this file.
"""

from __future__ import annotations

import json

from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine

from assistant.llm.base import ChatMessage
from assistant.llm.fake import ScriptedChatModel


def database_text(engine: Engine) -> str:
    """Every value of every row of every table, as one string (for "appears anywhere" checks)."""
    meta = MetaData()
    meta.reflect(bind=engine)
    parts: list[str] = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                parts.extend(str(v) for v in row if v is not None)
    return "\n".join(parts)


def _responder(messages: tuple[ChatMessage, ...]) -> str:
    """JSON requests (routing, slot extraction) get a neutral route decision; answers echo the question
    inside a cited sentence, so a raw value that reached the model would also come back in the answer."""
    system = messages[0].content if messages and messages[0].role == "system" else ""
    if "JSON" in system.upper():
        return json.dumps({"intent": "consult", "confidence": 0.6, "workflow_id": None})
    last_user = next((m.content for m in reversed(messages) if m.role == "user"), "")
    return f"根据检索到的资料[1]，您的问题“{last_user[-200:]}”请参考相关办事指南。"


def echo_chat_model() -> ScriptedChatModel:
    """The LLM for the PII run: ``.sent_text()`` holds every message it was ever sent."""
    return ScriptedChatModel(_responder, identity="eval-echo-fake")
