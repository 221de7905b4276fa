"""The OpenAI-compatible endpoints with the official SDK against a live server, and cancellation of a
streamed turn (client disconnect closes the upstream LLM request)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import AsyncOpenAI, BadRequestError

from tests.integration._api_fixtures import LiveServer, api_settings, sse_events, start_app
from tests.integration._llm_server import Hang, Reply, Respond, ScriptedLLMServer

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

QUESTION = "电子证照怎么用"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with start_app(api_settings(tmp_path_factory.mktemp("api-openai"))) as srv:
        yield srv
    assert not srv.blocking_reports(), srv.blocking_reports()


def _sdk(server: LiveServer) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=30)


async def test_models_list_names_govchat(server: LiveServer) -> None:
    async with _sdk(server) as client:
        models = await client.models.list()
    assert [m.id for m in models.data] == ["govchat"]


async def test_non_streaming_completion_carries_the_answer_and_the_extension(server: LiveServer) -> None:
    async with _sdk(server) as client:
        done = await client.chat.completions.create(
            model="govchat",
            messages=[{"role": "system", "content": "ignored"}, {"role": "user", "content": QUESTION}],
        )
        ext = done.model_extra["govchat"]  # type: ignore[index]
        assert done.object == "chat.completion" and done.choices[0].finish_reason == "stop"
        assert done.choices[0].message.content and ext["citations"] and ext["mode"] == "extractive"
        # The returned session keeps the conversation when sent back in metadata.
        again = await client.chat.completions.create(
            model="govchat",
            messages=[{"role": "user", "content": "谢谢"}],
            metadata={"session": ext["session"]},
        )
        assert again.model_extra["govchat"]["session"] == ext["session"]  # type: ignore[index]
    turns = server.services.assistant
    sid = server.ctx.tokens.verify(ext["session"])
    assert sid is not None and len(await turns.history(sid)) == 4


async def test_user_field_keeps_a_session_for_an_api_key_caller_only(server: LiveServer) -> None:
    server.ctx.users.add_user("sdk-app", "caseworker", "correct horse battery")
    key = server.ctx.users.issue_for("sdk-app", "apikey")
    keyed = AsyncOpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=30)
    async with keyed as client, _sdk(server) as anonymous:
        a = await client.chat.completions.create(
            model="govchat", messages=[{"role": "user", "content": QUESTION}], user="app-user-42"
        )
        b = await client.chat.completions.create(
            model="govchat", messages=[{"role": "user", "content": "谢谢"}], user="app-user-42"
        )
        c = await client.chat.completions.create(
            model="govchat", messages=[{"role": "user", "content": "谢谢"}], user="someone-else"
        )
        d = await anonymous.chat.completions.create(
            model="govchat", messages=[{"role": "user", "content": "谢谢"}], user="app-user-42"
        )
    session = lambda r: r.model_extra["govchat"]["session"]  # noqa: E731
    assert session(a) == session(b) != session(c)
    assert session(d) not in (session(a), session(c))  # an anonymous `user` names no one's session


async def test_streaming_completion_assembles_to_the_same_answer(server: LiveServer) -> None:
    async with _sdk(server) as client:
        plain = await client.chat.completions.create(
            model="govchat", messages=[{"role": "user", "content": QUESTION}]
        )
        stream = await client.chat.completions.create(
            model="govchat", messages=[{"role": "user", "content": QUESTION}], stream=True
        )
        pieces: list[str] = []
        finals = []
        async for chunk in stream:
            assert chunk.object == "chat.completion.chunk"
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            if chunk.choices and chunk.choices[0].finish_reason == "stop":
                finals.append(chunk.model_extra["govchat"])  # type: ignore[index]
    assert "".join(pieces) == plain.choices[0].message.content
    assert len(finals) == 1 and finals[0]["citations"] and "replaced" not in finals[0]


async def test_request_without_a_user_message_is_400(server: LiveServer) -> None:
    async with _sdk(server) as client:
        with pytest.raises(BadRequestError) as err:
            await client.chat.completions.create(
                model="govchat", messages=[{"role": "system", "content": "hi"}]
            )
    assert err.value.status_code == 400


def test_raw_stream_ends_with_done_marker(server: LiveServer) -> None:
    body = {"model": "govchat", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    with (
        httpx.Client(base_url=server.url, timeout=30) as c,
        c.stream("POST", "/v1/chat/completions", json=body) as r,
    ):
        data = [d for _, d in sse_events(r)]
    assert data[-1] == "[DONE]" and data[-2]["choices"][0]["finish_reason"] == "stop"


def test_client_disconnect_cancels_the_turn_and_the_upstream_llm_request(tmp_path: Path) -> None:
    sentence = "电子证照可以在鄂汇办APP中亮证使用。"
    with ScriptedLLMServer() as llm:
        # Routing (if asked) gets no JSON → rule routing; the answer stream sends one whole sentence (text
        # is released sentence by sentence, after the output guard), then hangs.
        llm.default = Respond(
            lambda body: Hang(before=sentence, hold_s=30) if body.get("stream") else Reply("不是JSON")
        )
        settings = api_settings(
            tmp_path,
            # A cold first turn on a busy test machine must not hit the first-token deadline here.
            llm={"base_url": llm.base_url, "model": llm.model, "max_retries": 0, "first_token_s": 15},
        )
        with start_app(settings) as srv:
            with (
                httpx.Client(base_url=srv.url, timeout=30) as c,
                c.stream("POST", "/api/chat/stream", json={"message": QUESTION}) as r,
            ):
                for name, data in sse_events(r):
                    if name == "token":
                        assert data["text"] == sentence
                        break  # the citizen closes the page mid-answer
            answer = next(i for i, req in enumerate(llm.chat_requests()) if req.body.get("stream"))
            upstream = llm.wait_for_end(answer, timeout_s=10)
            assert upstream.disconnected and not upstream.finished
            assert not srv.blocking_reports()
