"""ChatModel over any OpenAI-compatible server (vLLM in production; Ollama or llama.cpp on a laptop).

Why the official ``openai`` SDK (``AsyncOpenAI``) rather than langchain-openai: one layer instead of three,
native async streaming whose HTTP response we can close ourselves (so a cancelled turn cancels the upstream
generation and frees the GPU), typed errors that tell a connection failure from a 4xx, and
``response_format`` (json_schema) passes through untouched to vLLM's structured outputs. LangChain stays at
the edges of the project.

Retry policy (the SDK's own retries are disabled, so these are the only ones):

- retried, with exponential backoff, up to ``max_retries`` times: connection failures (refused, reset,
  dropped) and 5xx answers, but only while no text has been yielded to the caller;
- never retried: timeouts (the citizen is already waiting; falling back is better than waiting twice),
  4xx answers (the request itself is wrong), malformed streams, anything after the first token.

Every failure ends as ``LLMUnavailable`` (``LLMRequestRejected`` for 4xx).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

import anyio
import openai

from assistant.llm.base import ChatMessage, LLMRequestRejected, LLMUnavailable

log = logging.getLogger(__name__)

# Errors that may come out of a request or while iterating its stream (ValueError: undecodable JSON).
_CALL_ERRORS = (openai.OpenAIError, ValueError)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APITimeoutError):
        return False
    if isinstance(exc, openai.APIConnectionError):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def _unavailable(exc: BaseException) -> LLMUnavailable:
    """The caller-facing error; messages name the failure, never the prompt."""
    if isinstance(exc, LLMUnavailable):
        return exc
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code < 500:
            return LLMRequestRejected(
                f"LLM server rejected the request (HTTP {exc.status_code})", exc.status_code
            )
        return LLMUnavailable(f"LLM server error (HTTP {exc.status_code})")
    if isinstance(exc, openai.APITimeoutError):
        return LLMUnavailable("LLM server timed out")
    if isinstance(exc, openai.APIConnectionError):
        return LLMUnavailable("cannot reach the LLM server")
    return LLMUnavailable(f"malformed answer from the LLM server ({type(exc).__name__})")


def _chunk_delta(chunk: object) -> tuple[str, str | None]:
    """(text, finish_reason) of one stream chunk; raises LLMUnavailable when it is not a chat chunk."""
    choices = getattr(chunk, "choices", None)
    if not isinstance(choices, list):
        raise LLMUnavailable("malformed stream chunk from the LLM server (no choices)")
    if not choices:
        return "", None  # e.g. a usage-only chunk
    choice = choices[0]
    delta = getattr(choice, "delta", None)
    content = getattr(delta, "content", None) if delta is not None else None
    finish = getattr(choice, "finish_reason", None)
    if (content is not None and not isinstance(content, str)) or (
        finish is not None and not isinstance(finish, str)
    ):
        raise LLMUnavailable("malformed stream chunk from the LLM server")
    return content or "", finish


async def _close_quietly(sdk_stream: openai.AsyncStream[Any]) -> None:
    try:
        await sdk_stream.close()
    except Exception as exc:  # cleanup must not mask the error or cancellation being handled
        log.debug("closing the LLM stream failed: %s", exc)


def _completion_text(response: object) -> str:
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise LLMUnavailable("malformed answer from the LLM server (no choices)")
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None)
    if content is not None and not isinstance(content, str):
        raise LLMUnavailable("malformed answer from the LLM server")
    return content or ""


class OpenAICompatChatModel:
    """Chat model behind an OpenAI-compatible ``/v1/chat/completions`` endpoint.

    The HTTP client is built lazily on first use: constructing the model touches no network, so the
    composition root can build it even while the LLM server is still starting.

    Args:
        base_url: e.g. ``http://127.0.0.1:8000/v1``.
        model: model name as served (also the ``identity``).
        api_key: bearer token; vLLM ignores it unless started with ``--api-key``.
        timeout_s: read timeout, i.e. the longest wait for the first token or between two tokens.
        connect_timeout_s: TCP connect timeout.
        max_retries: extra attempts on connection failures and 5xx (see the module docstring).
        retry_backoff_s: first backoff; doubles per attempt, capped at 4 s.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "EMPTY",
        timeout_s: float = 30.0,
        connect_timeout_s: float = 3.0,
        max_retries: int = 2,
        *,
        retry_backoff_s: float = 0.5,
    ) -> None:
        if not base_url or not model:
            raise ValueError("base_url and model are required")
        if timeout_s <= 0 or connect_timeout_s <= 0 or max_retries < 0 or retry_backoff_s < 0:
            raise ValueError("timeouts must be positive, retries and backoff non-negative")
        self._base_url = base_url
        self._model = model
        self._api_key = api_key or "EMPTY"
        self._timeout = openai.Timeout(timeout_s, connect=connect_timeout_s)
        self._max_retries = max_retries
        self._retry_backoff_s = retry_backoff_s
        self._client: openai.AsyncOpenAI | None = None

    @property
    def identity(self) -> str:
        return self._model

    def _sdk(self) -> openai.AsyncOpenAI:
        if self._client is None:
            # Our own plain pool: the SDK's default wrapper closes a garbage-collected client by
            # scheduling aclose() on whatever event loop is running then, which breaks when the
            # connections belong to another loop (tests, worker threads). We close it in aclose().
            self._client = openai.AsyncOpenAI(
                base_url=self._base_url,
                api_key=self._api_key,
                timeout=self._timeout,
                max_retries=0,
                http_client=openai.DefaultAsyncHttpxClient(timeout=self._timeout),
            )
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP connection pool (composition root shutdown)."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _request(
        self,
        messages: Sequence[ChatMessage],
        temperature: float,
        max_tokens: int,
        response_format: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        if not messages:
            raise ValueError("at least one message is required")
        request: dict[str, Any] = {
            "model": self._model,
            "messages": [m.to_openai() for m in messages],
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if response_format is not None:
            request["response_format"] = dict(response_format)
        return request

    async def _may_retry(self, exc: BaseException, attempt: int) -> bool:
        """Sleep the backoff and return True when ``exc`` deserves another attempt."""
        if attempt >= self._max_retries or not _retryable(exc):
            return False
        delay = min(self._retry_backoff_s * 2**attempt, 4.0)
        log.warning(
            "LLM call failed (%s), retry %d/%d in %.2fs",
            _unavailable(exc),
            attempt + 1,
            self._max_retries,
            delay,
        )
        await anyio.sleep(delay)
        return True

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float,
        max_tokens: int,
        response_format: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[str, None]:
        request = self._request(messages, temperature, max_tokens, response_format)
        attempt = 0
        yielded = False
        while True:
            try:
                sdk_stream = await self._sdk().chat.completions.create(**request, stream=True)
            except _CALL_ERRORS as exc:
                if await self._may_retry(exc, attempt):
                    attempt += 1
                    continue
                raise _unavailable(exc) from exc
            try:
                finished = False
                async for chunk in sdk_stream:
                    text, finish = _chunk_delta(chunk)
                    finished = finished or finish is not None
                    if text:
                        yielded = True
                        yield text
                if not finished:
                    raise LLMUnavailable("the LLM stream ended before the answer was finished")
                return
            except _CALL_ERRORS as exc:
                if not yielded and await self._may_retry(exc, attempt):
                    attempt += 1
                    continue
                raise _unavailable(exc) from exc
            finally:
                # Also runs on cancellation and on aclose(): closing the response drops the connection,
                # which makes vLLM abort the generation.
                await _close_quietly(sdk_stream)

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float,
        max_tokens: int,
        response_format: Mapping[str, Any] | None = None,
    ) -> str:
        request = self._request(messages, temperature, max_tokens, response_format)
        attempt = 0
        while True:
            try:
                response = await self._sdk().chat.completions.create(**request)
            except _CALL_ERRORS as exc:
                if await self._may_retry(exc, attempt):
                    attempt += 1
                    continue
                raise _unavailable(exc) from exc
            return _completion_text(response)
