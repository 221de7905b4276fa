"""Adapts a ChatModel to callers that pass OpenAI-style dict messages (the connectors' slot extractor).

connectors must not import assistant, so it declares its own minimal protocol with dict messages;
this adapter is the one place the two meet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from assistant.llm.base import ChatMessage, ChatModel


class DictMessagesModel:
    def __init__(self, model: ChatModel) -> None:
        self._model = model

    @property
    def identity(self) -> str:
        return self._model.identity

    async def complete(self, messages: Sequence[Mapping[str, str]], **kwargs: Any) -> str:
        converted = [ChatMessage(str(m["role"]), str(m["content"])) for m in messages]
        kwargs.setdefault("temperature", 0.0)
        kwargs.setdefault("max_tokens", 256)
        return await self._model.complete(converted, **kwargs)
