"""Chat LLM access: the ``ChatModel`` interface, the OpenAI-compatible client, a scripted fake and
prompt-budget helpers."""

from assistant.llm.base import ChatMessage, ChatModel, LLMRequestRejected, LLMUnavailable
from assistant.llm.budget import estimate_tokens, fit_messages
from assistant.llm.fake import RecordedCall, ScriptedChatModel, ScriptedFailure
from assistant.llm.openai_compat import OpenAICompatChatModel

__all__ = [
    "ChatMessage",
    "ChatModel",
    "LLMRequestRejected",
    "LLMUnavailable",
    "OpenAICompatChatModel",
    "RecordedCall",
    "ScriptedChatModel",
    "ScriptedFailure",
    "estimate_tokens",
    "fit_messages",
]
