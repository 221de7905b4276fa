"""The OpenAI-compatible client against a real HTTP server on loopback that misbehaves on request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing

import anyio
import pytest
from _llm_server import DropMidStream, Hang, MalformedChunk, Reply, ScriptedLLMServer, Status

from assistant.llm import ChatMessage, ChatModel, LLMRequestRejected, LLMUnavailable, OpenAICompatChatModel

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

QUESTION = [ChatMessage("system", "你是湖北政务服务助手。"), ChatMessage("user", "新生儿落户需要什么材料？")]
ANSWER = "需要出生医学证明、父母户口簿和身份证。"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as srv:
        yield srv


@pytest.fixture
async def llm(server: ScriptedLLMServer) -> AsyncIterator[OpenAICompatChatModel]:
    server.reset()
    model = OpenAICompatChatModel(
        server.base_url,
        server.model,
        timeout_s=1.0,
        connect_timeout_s=1.0,
        max_retries=2,
        retry_backoff_s=0.01,
    )
    yield model
    await model.aclose()


async def collect(llm: ChatModel, out: list[str] | None = None) -> str:
    pieces = out if out is not None else []
    async for piece in llm.stream(QUESTION, temperature=0.1, max_tokens=200):
        pieces.append(piece)
    return "".join(pieces)


async def test_streams_the_answer_piece_by_piece(
    server: ScriptedLLMServer, llm: OpenAICompatChatModel
) -> None:
    server.script(Reply(ANSWER, chunk_chars=3))
    pieces: list[str] = []
    assert await collect(llm, pieces) == ANSWER
    assert len(pieces) > 5
    body = server.chat_requests()[0].body
    assert body["model"] == server.model and body["stream"] is True
    assert body["messages"] == [{"role": m.role, "content": m.content} for m in QUESTION]
    assert body["max_tokens"] == 200 and body["temperature"] == 0.1


async def test_complete_returns_the_whole_answer(
    server: ScriptedLLMServer, llm: OpenAICompatChatModel
) -> None:
    server.script(Reply(ANSWER))
    assert await llm.complete(QUESTION, temperature=0, max_tokens=20) == ANSWER
    assert not server.chat_requests()[0].body.get("stream")


async def test_json_schema_response_format_reaches_the_server(
    server: ScriptedLLMServer, llm: OpenAICompatChatModel
) -> None:
    fmt = {
        "type": "json_schema",
        "json_schema": {
            "name": "route",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"intent": {"enum": ["consult", "transact", "human"]}},
                "required": ["intent"],
            },
        },
    }
    server.script(Reply('{"intent": "consult"}'), Reply('{"intent": "human"}'))
    assert (
        await llm.complete(QUESTION, temperature=0, max_tokens=20, response_format=fmt)
        == '{"intent": "consult"}'
    )
    async with aclosing(llm.stream(QUESTION, temperature=0, max_tokens=20, response_format=fmt)) as s:
        assert "".join([p async for p in s]) == '{"intent": "human"}'
    assert [r.body["response_format"] for r in server.chat_requests()] == [fmt, fmt]


async def test_slow_first_token_times_out_without_retry(
    server: ScriptedLLMServer, llm: OpenAICompatChatModel
) -> None:
    server.script(Reply(ANSWER, first_token_delay_s=3), Reply(ANSWER, first_token_delay_s=3))
    started = time.monotonic()
    with pytest.raises(LLMUnavailable, match="timed out"):
        await collect(llm)
    with pytest.raises(LLMUnavailable, match="timed out"):
        await llm.complete(QUESTION, temperature=0, max_tokens=20)
    assert time.monotonic() - started < 2.9  # two 1 s timeouts, not a wait for the slow server
    assert len(server.chat_requests()) == 2


@pytest.mark.parametrize("code", [500, 502, 503])
async def test_5xx_is_retried_then_succeeds(
    server: ScriptedLLMServer, llm: OpenAICompatChatModel, code: int
) -> None:
    server.script(Status(code), Status(503), Reply(ANSWER), Status(code), Reply("好的"))
    assert await collect(llm) == ANSWER
    assert await llm.complete(QUESTION, temperature=0, max_tokens=20) == "好的"
    assert len(server.chat_requests()) == 5


async def test_persistent_5xx_gives_up_after_the_retries(
    server: ScriptedLLMServer, llm: OpenAICompatChatModel
) -> None:
    server.script(*[Status(500)] * 3, *[Status(503)] * 3)
    with pytest.raises(LLMUnavailable, match="HTTP 500"):
        await collect(llm)
    with pytest.raises(LLMUnavailable, match="HTTP 503"):
        await llm.complete(QUESTION, temperature=0, max_tokens=20)
    assert len(server.chat_requests()) == 6  # 1 + max_retries, twice


@pytest.mark.parametrize("code", [400, 404, 422, 429])
async def test_4xx_is_not_retried(server: ScriptedLLMServer, llm: OpenAICompatChatModel, code: int) -> None:
    server.script(Status(code, "context too long"))
    with pytest.raises(LLMRequestRejected) as err:
        await collect(llm)
    assert err.value.status_code == code
    assert len(server.chat_requests()) == 1


async def test_malformed_chunk_is_unavailable(server: ScriptedLLMServer, llm: OpenAICompatChatModel) -> None:
    server.script(MalformedChunk(before="需要"), MalformedChunk())
    pieces: list[str] = []
    with pytest.raises(LLMUnavailable, match="malformed"):
        await collect(llm, pieces)
    assert pieces == ["需要"]
    with pytest.raises(LLMUnavailable, match="malformed"):
        await llm.complete(QUESTION, temperature=0, max_tokens=20)
    assert len(server.chat_requests()) == 2  # malformed answers are not retried


async def test_drop_after_tokens_is_not_retried(
    server: ScriptedLLMServer, llm: OpenAICompatChatModel
) -> None:
    server.script(DropMidStream(before="需要出生"))
    pieces: list[str] = []
    with pytest.raises(LLMUnavailable, match="cannot reach"):
        await collect(llm, pieces)
    assert pieces == ["需要出生"]  # what was shown stays shown; no second, different answer appended
    assert len(server.chat_requests()) == 1


async def test_drop_before_any_token_is_retried(
    server: ScriptedLLMServer, llm: OpenAICompatChatModel
) -> None:
    server.script(DropMidStream(), DropMidStream(), Reply(ANSWER))
    assert await collect(llm) == ANSWER
    assert len(server.chat_requests()) == 3


async def test_connection_refused_is_retried_then_unavailable() -> None:
    llm = OpenAICompatChatModel(
        "http://127.0.0.1:9/v1", "m", timeout_s=1, max_retries=2, retry_backoff_s=0.01
    )
    with pytest.raises(LLMUnavailable, match="cannot reach"):
        await collect(llm)
    with pytest.raises(LLMUnavailable, match="cannot reach"):
        await llm.complete(QUESTION, temperature=0, max_tokens=5)


async def test_cancelling_the_turn_closes_the_upstream_request(
    server: ScriptedLLMServer, llm: OpenAICompatChatModel
) -> None:
    server.script(Hang(before="需要", hold_s=30))
    first = anyio.Event()

    async def consume() -> None:
        async for _ in llm.stream(QUESTION, temperature=0, max_tokens=20):
            first.set()

    task = asyncio.get_running_loop().create_task(consume())
    with anyio.fail_after(5):
        await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    record = await anyio.to_thread.run_sync(server.wait_for_end, 0)
    assert record.disconnected and not record.finished


async def test_stopping_early_with_aclosing_closes_the_upstream_request(
    server: ScriptedLLMServer, llm: OpenAICompatChatModel
) -> None:
    server.script(Reply(ANSWER * 50, chunk_chars=1, chunk_delay_s=0.02))
    async with aclosing(llm.stream(QUESTION, temperature=0, max_tokens=20)) as stream:
        async for piece in stream:
            assert piece == ANSWER[0]
            break
    record = await anyio.to_thread.run_sync(server.wait_for_end, 0)
    assert record.disconnected


async def test_cancelling_a_completion_closes_the_upstream_request(
    server: ScriptedLLMServer, llm: OpenAICompatChatModel
) -> None:
    server.script(Hang(hold_s=30))
    with anyio.move_on_after(0.3):
        await llm.complete(QUESTION, temperature=0, max_tokens=20)
    record = await anyio.to_thread.run_sync(server.wait_for_end, 0)
    assert record.disconnected


async def test_models_endpoint_lists_the_model(server: ScriptedLLMServer) -> None:
    import httpx

    async with httpx.AsyncClient() as client:
        resp = await client.get(f"{server.base_url}/models")
    assert resp.json()["data"][0]["id"] == server.model
