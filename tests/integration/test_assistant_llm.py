"""The conversation engine with an LLM: grounded, cited, checked, and never the last word when it fails.

A scripted fake ChatModel stands in for vLLM in most tests; the last ones run the real OpenAI SDK client
against a scripted OpenAI-compatible streaming server on loopback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.llm.base import ChatMessage, LLMUnavailable
from assistant.llm.fake import ScriptedChatModel, ScriptedFailure
from assistant.prompt_store import PromptStore
from tests.assistant_fixtures import make_services

pytestmark = pytest.mark.integration
REPLIES = PromptStore()


def responder(answer: str, route: dict | None = None):
    """A fake LLM that routes by JSON, condenses by echoing, and answers with ``answer``."""

    def reply(messages: tuple[ChatMessage, ...]):
        system = messages[0].content
        if "意图分类器" in system:
            return json.dumps(route or {"intent": "consult", "confidence": 0.9, "workflow_id": None})
        if "改写成一个不依赖上下文" in system:
            return "新生儿出生一件事办理需要多长时间"
        return answer

    return reply


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kb-llm")
    make_services(path).close()  # ingest once; each test re-opens the same data dir with its own LLM
    return path


def services_with(kb_dir: Path, llm):
    return make_services(kb_dir, llm=llm, ingest=False)


@pytest.mark.anyio
async def test_llm_answer_with_valid_citations_is_streamed_and_kept(kb_dir):
    llm = ScriptedChatModel(
        responder("新生儿出生一件事需要父母双方居民身份证、户口簿和结婚证 [1]。联办本身不收费 [2]。")
    )
    services = services_with(kb_dir, llm)
    tokens: list[str] = []
    result = None
    async for event in services.assistant.stream("llm-1", "生孩子上户口要带什么材料"):
        if event.event == "token":
            tokens.append(event.data["text"])
        if event.event == "done":
            result = event.data["result"]
    assert result is not None and result.mode == "llm"
    # Streamed sentence by sentence: each is held back until the output guard passed it.
    assert tokens == ["新生儿出生一件事需要父母双方居民身份证、户口簿和结婚证 [1]。", "联办本身不收费 [2]。"]
    assert result.answer.startswith("新生儿出生一件事需要")
    assert [c.n for c in result.citations] == [1, 2]
    answer_call = llm.calls[-1]
    assert answer_call.streamed and answer_call.temperature <= 0.2
    passages = answer_call.messages[1].content
    assert passages.startswith("参考资料：\n[1]") and "居民身份证" in passages


@pytest.mark.anyio
async def test_uncited_llm_answer_is_replaced_by_the_extractive_one(kb_dir):
    services = services_with(kb_dir, ScriptedChatModel(responder("一般需要身份证和户口本，具体问当地。")))
    r = await services.assistant.turn("llm-2", "生孩子上户口要带什么材料")
    assert r.mode == "extractive"
    assert "一般需要身份证和户口本" not in r.answer
    assert "结婚证" in r.answer and r.citations[0].doc_id == "birth"


@pytest.mark.anyio
async def test_out_of_range_citation_markers_are_removed(kb_dir):
    services = services_with(kb_dir, ScriptedChatModel(responder("联办本身不收费 [1][9]。")))
    r = await services.assistant.turn("llm-3", "出生一件事收费吗")
    assert r.mode == "llm" and "[9]" not in r.answer and "[1]" in r.answer


@pytest.mark.anyio
@pytest.mark.parametrize(
    "failure",
    [
        LLMUnavailable("connection refused"),
        ScriptedFailure(partial="新生儿出生一件事需", error=LLMUnavailable("dropped")),
    ],
)
async def test_unreachable_or_dropped_llm_falls_back_to_extractive_and_says_so(kb_dir, failure):
    def reply(messages):
        if "意图分类器" in messages[0].content:
            raise LLMUnavailable("down")
        return failure

    services = services_with(kb_dir, ScriptedChatModel(reply))
    r = await services.assistant.turn("llm-4", "生孩子上户口要带什么材料")
    assert r.mode == "extractive"
    assert REPLIES.reply("llm_unavailable") in r.answer
    assert "结婚证" in r.answer


@pytest.mark.anyio
async def test_no_evidence_means_the_llm_is_never_asked_to_answer(kb_dir):
    llm = ScriptedChatModel(responder("护照续签需要……（编造）"))
    services = services_with(kb_dir, llm)
    r = await services.assistant.turn("llm-5", "护照过期了怎么续签")
    assert r.answer == REPLIES.reply("no_evidence")
    assert not any(call.streamed for call in llm.calls)


@pytest.mark.anyio
async def test_personal_data_never_reaches_the_llm(kb_dir):
    llm = ScriptedChatModel(responder("联办本身不收费 [1]。"))
    services = services_with(kb_dir, llm)
    raw_id, phone, card = "11010519491231002X", "13812345678", "6222021234567890128"
    await services.assistant.turn(
        "llm-6", f"我身份证{raw_id}，电话 138 1234 5678，卡号{card}，出生一件事收费吗"
    )
    await services.assistant.turn("llm-6", "那要多久")
    sent = llm.sent_text()
    assert llm.calls and raw_id not in sent and phone not in sent and card not in sent
    assert "138 1234 5678" not in sent
    rows = json.dumps(services.audit.turns("llm-6"), ensure_ascii=False)
    assert raw_id not in rows and phone not in rows and card not in rows


@pytest.mark.anyio
async def test_system_prompt_is_byte_identical_across_turns_for_prefix_caching(kb_dir):
    llm = ScriptedChatModel(responder("联办本身不收费 [1]。"))
    services = services_with(kb_dir, llm)
    await services.assistant.turn("llm-7", "出生一件事收费吗")
    await services.assistant.turn("llm-8", "退休一件事要交钱吗")
    answers = [c for c in llm.calls if c.streamed]
    assert len(answers) == 2
    assert answers[0].messages[0].content == answers[1].messages[0].content
    assert answers[0].messages[0].role == "system" and answers[1].messages[1].content.startswith("参考资料")


@pytest.mark.anyio
async def test_llm_router_is_asked_only_when_the_trained_understanding_is_unsure(kb_dir):
    route = {"intent": "transact", "confidence": 0.92, "workflow_id": "retirement"}
    llm = ScriptedChatModel(responder("unused", route))
    services = services_with(kb_dir, llm)
    r = await services.assistant.turn("llm-9", "我爸下个月到年龄了，想把退休手续办了")
    assert r.intent == "transact" and r.workflow and r.workflow["id"] == "retirement"
    assert not [c for c in llm.calls if c.response_format], "a confident reading costs no LLM round trip"
    services.assistant.llm_route_below = 1.01  # every reading is unsure now: the LLM decides
    r = await services.assistant.turn("llm-10", "那个事情想弄一下")
    assert r.intent == "transact" and r.workflow and r.workflow["id"] == "retirement"
    routed = next(c for c in llm.calls if c.response_format)
    assert routed.response_format["type"] == "json_schema"


# --- the real HTTP client against a scripted OpenAI-compatible server -----------------------------
@pytest.fixture(scope="module")
def llm_server():
    from tests.integration._llm_server import ScriptedLLMServer

    with ScriptedLLMServer() as server:
        yield server


@pytest.mark.anyio
async def test_real_client_streams_a_cited_answer(kb_dir, llm_server):
    from assistant.llm.openai_compat import OpenAICompatChatModel
    from tests.integration._llm_server import Reply, Respond

    llm_server.reset()
    route = json.dumps({"intent": "consult", "confidence": 0.9, "workflow_id": "birth"})
    answer = Reply("新生儿出生一件事联办本身不收费 [1]。", chunk_chars=2)
    # Routing is asked only when the trained understanding is unsure: answer whichever comes.
    llm_server.default = Respond(lambda body: answer if body.get("stream") else Reply(route))
    model = OpenAICompatChatModel(
        base_url=llm_server.base_url, model="scripted-qwen", timeout_s=5, max_retries=0
    )
    services = services_with(kb_dir, model)
    r = await services.assistant.turn("http-1", "出生一件事收费吗")
    llm_server.default = Reply("默认回复")
    assert r.mode == "llm" and "不收费" in r.answer and r.citations
    bodies = [req.body for req in llm_server.chat_requests()]
    assert all(b["response_format"]["type"] == "json_schema" for b in bodies if not b.get("stream"))
    streamed = [b for b in bodies if b.get("stream")]
    assert len(streamed) == 1 and streamed[0]["messages"][0]["role"] == "system"
    await model.aclose()


@pytest.mark.anyio
async def test_real_client_5xx_and_timeouts_fall_back_to_extractive(kb_dir, llm_server):
    from assistant.llm.openai_compat import OpenAICompatChatModel
    from tests.integration._llm_server import Reply, Status

    llm_server.reset()
    llm_server.default = Status(503, "overloaded")
    model = OpenAICompatChatModel(
        base_url=llm_server.base_url, model="scripted-qwen", timeout_s=1, max_retries=1
    )
    services = services_with(kb_dir, model)
    r = await services.assistant.turn("http-2", "生孩子上户口要带什么材料")
    assert r.mode == "extractive" and "结婚证" in r.answer
    assert REPLIES.reply("llm_unavailable") in r.answer
    llm_server.default = Reply("默认回复")
    llm_server.script(Reply("{}"), Reply("迟到的回答 [1]", first_token_delay_s=3))
    slow = await services.assistant.turn("http-3", "生孩子上户口要带什么材料")
    assert slow.mode == "extractive" and "迟到" not in slow.answer
    await model.aclose()


def test_answer_prompt_forbids_own_knowledge():
    text = PromptStore().template("answer_system").text
    assert "只依据" in text and re.search(r"不得.*编造", text)


@pytest.mark.anyio
async def test_request_stays_within_the_context_budget(kb_dir):
    """Long conversations lose their oldest turns, never the instructions, passages or question."""
    llm = ScriptedChatModel(responder("联办本身不收费 [1]。"))
    services = services_with(kb_dir, llm)
    services.assistant.consult.context_chars = 3000
    services.assistant.consult.history_chars = 100_000
    for i in range(8):
        await services.assistant.turn("budget-1", f"出生一件事收费吗？第{i}次问，" + "补充说明" * 40)
    last = [c for c in llm.calls if c.streamed][-1]
    assert sum(len(m.content) for m in last.messages) <= 3000
    assert last.messages[0].role == "system" and last.messages[1].content.startswith("参考资料")
    assert "第7次问" in last.messages[-1].content
