"""LLM building blocks without a network: token estimates, history trimming, the scripted fake."""

from __future__ import annotations

from contextlib import aclosing

import pytest

from assistant.llm import (
    ChatMessage,
    ChatModel,
    LLMUnavailable,
    OpenAICompatChatModel,
    ScriptedChatModel,
    ScriptedFailure,
    estimate_tokens,
    fit_messages,
)

pytestmark = [pytest.mark.unit]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def sys(text: str) -> ChatMessage:
    return ChatMessage("system", text)


def user(text: str) -> ChatMessage:
    return ChatMessage("user", text)


def bot(text: str) -> ChatMessage:
    return ChatMessage("assistant", text)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("办理身份证", 5),
        ("abcd", 1),
        ("abcde", 2),
        ("hello world!", 3),
        ("身份证ID", 4),
        ("，。？", 3),
        ("😀", 1),
    ],
)
def test_estimate_tokens(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_fit_messages_keeps_everything_within_budget() -> None:
    messages = [sys("规则"), user("问1"), bot("答1"), user("问2")]
    assert fit_messages(messages, 100) == tuple(messages)


def test_fit_messages_drops_oldest_history_first() -> None:
    messages = [sys("S" * 10), user("a" * 10), bot("b" * 10), user("c" * 10), bot("d" * 10), user("q" * 10)]
    fitted = fit_messages(messages, 40)
    assert fitted == (messages[0], messages[3], messages[4], messages[5])


def test_fit_messages_never_starts_history_with_an_answer() -> None:
    messages = [sys("S"), user("a" * 10), bot("b" * 2), user("c" * 10), bot("d" * 2), user("q")]
    fitted = fit_messages(messages, 16)
    assert fitted == (messages[0], messages[3], messages[4], messages[5])  # "b" fits but lost its question


def test_fit_messages_always_keeps_system_and_question_even_over_budget() -> None:
    messages = [sys("S" * 100), sys("passages" * 10), user("a"), bot("b"), user("q" * 50)]
    assert fit_messages(messages, 10) == (messages[0], messages[1], messages[4])


def test_fit_messages_in_tokens() -> None:
    messages = [user("问" * 10), bot("答" * 10), user("ab" * 20)]
    assert fit_messages(messages, 30, measure=estimate_tokens) == tuple(messages)
    assert fit_messages(messages, 29, measure=estimate_tokens) == (messages[2],)


def test_fit_messages_edge_cases() -> None:
    assert fit_messages([], 10) == ()
    assert fit_messages([sys("only")], 1) == (sys("only"),)


def test_chat_message_rejects_unknown_roles() -> None:
    with pytest.raises(ValueError, match="role"):
        ChatMessage("tool", "x")


@pytest.mark.anyio
async def test_fake_streams_replies_in_order_and_records_calls() -> None:
    model = ScriptedChatModel(["你好，请问办理什么业务？", "第二个回答"], chunk_chars=4)
    assert isinstance(model, ChatModel)
    pieces = [p async for p in model.stream([user("你好")], temperature=0.1, max_tokens=50)]
    assert pieces == ["你好，请", "问办理什", "么业务？"]
    fmt = {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}}
    assert (
        await model.complete([user("再问")], temperature=0, max_tokens=10, response_format=fmt)
        == "第二个回答"
    )
    assert [c.streamed for c in model.calls] == [True, False]
    assert model.calls[1].response_format == fmt
    assert model.calls[0].messages == (user("你好"),)
    assert "再问" in model.sent_text()


@pytest.mark.anyio
async def test_fake_runs_out_loudly() -> None:
    model = ScriptedChatModel([])
    with pytest.raises(AssertionError, match="ran out"):
        await model.complete([user("x")], temperature=0, max_tokens=1)


@pytest.mark.anyio
async def test_fake_scripts_failures() -> None:
    model = ScriptedChatModel([LLMUnavailable("down"), ScriptedFailure(partial="部分回答")], chunk_chars=2)
    with pytest.raises(LLMUnavailable, match="down"):
        await model.complete([user("x")], temperature=0, max_tokens=1)
    got: list[str] = []
    with pytest.raises(LLMUnavailable):
        async for piece in model.stream([user("x")], temperature=0, max_tokens=1):
            got.append(piece)
    assert "".join(got) == "部分回答"


@pytest.mark.anyio
async def test_fake_reply_can_depend_on_the_messages() -> None:
    model = ScriptedChatModel(lambda msgs: f"收到{len(msgs)}条", chunk_chars=100)
    async with aclosing(model.stream([sys("s"), user("u")], temperature=0, max_tokens=5)) as stream:
        assert [p async for p in stream] == ["收到2条"]


def test_openai_model_construction_is_lazy_and_validated() -> None:
    model = OpenAICompatChatModel("http://127.0.0.1:1/v1", "qwen", timeout_s=1, max_retries=0)
    assert model.identity == "qwen"
    assert model._client is None  # nothing built, nothing connected
    with pytest.raises(ValueError):
        OpenAICompatChatModel("", "qwen")
    with pytest.raises(ValueError):
        OpenAICompatChatModel("http://x/v1", "qwen", max_retries=-1)
    with pytest.raises(ValueError):
        OpenAICompatChatModel("http://x/v1", "qwen", timeout_s=0)
