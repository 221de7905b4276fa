"""With an LLM configured, the eval runs the assistant through it and asks it to judge faithfulness.

The LLM is the scripted OpenAI-compatible server on loopback (a real HTTP client, a real server), so
the runner's LLM path — build from settings, answer, judge, report — is exercised end to end.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from evals.cases import GOLD_DIR, Case
from evals.runner import EvalOptions, _build, _faithfulness, evaluate
from evals.scoring import CitedPassage, Replies, TurnRecord, score_case
from retrieval.config import RetrievalSettings
from serving.settings import LLMSettings, Settings
from tests.integration._llm_server import Reply, ScriptedLLMServer
from tests.paths import POLICY_DOC

pytestmark = pytest.mark.integration


def _mini_gold(tmp: Path) -> Path:
    """Three cases, one flow and one condense pair taken from the real gold files."""
    gold = tmp / "gold"
    gold.mkdir()
    cases = [json.loads(x) for x in (GOLD_DIR / "cases.jsonl").read_text(encoding="utf-8").splitlines()]
    # consult, unanswerable, injection, and a question carrying a 身份证号
    keep = [c for c in cases if c["id"] in ("c002", "c139", "c296", "c308")]
    (gold / "cases.jsonl").write_text(
        "\n".join(json.dumps(c, ensure_ascii=False) for c in keep), encoding="utf-8"
    )
    for name in ("flows.jsonl", "condense.jsonl"):
        first = (GOLD_DIR / name).read_text(encoding="utf-8").splitlines()[0]
        (gold / name).write_text(first + "\n", encoding="utf-8")
    return gold


def test_configured_llm_answers_and_judges(tmp_path: Path) -> None:
    verdict = json.dumps({"score": 0.8, "unsupported": []})
    with ScriptedLLMServer(default=Reply(verdict)) as server:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path / "data",
            retrieval=RetrievalSettings(embedder="hashing"),
            llm=LLMSettings(base_url=server.base_url, model=server.model, max_retries=0, timeout_s=10),
        )
        options = EvalOptions(
            out=tmp_path / "out", gold_dir=_mini_gold(tmp_path), crud_news_limit=0, baseline=False
        )
        report = anyio.run(evaluate, settings, options)
        sent = [r.body for r in server.chat_requests()]
    assert report["setup"]["llm"] == server.model
    # The scripted reply cites nothing, so the pipeline falls back to extractive answers — and says so.
    assert report["cases"][0]["mode"] == "extractive"
    faith = report["faithfulness"]
    assert faith["score"] == 0.8 and faith["judged"] >= 1 and faith["judge"] == server.model
    assert report["headline"]["faithfulness"] == 0.8
    judge_calls = [
        b
        for b in sent
        if (b.get("response_format") or {}).get("json_schema", {}).get("name") == "faithfulness"
    ]
    assert judge_calls and "资料：" in judge_calls[0]["messages"][1]["content"]
    assert report["pii"]["leaks"] == 0
    assert "420106196603074519" not in json.dumps(sent, ensure_ascii=False)  # no request carried it


def test_judge_sees_the_question_masked(tmp_path: Path) -> None:
    """Whatever the assistant does with a PII question, the judge is an LLM too and gets it masked."""
    question = "我身份证号420106196603074519，明年退休要准备些啥材料"
    case = Case("p1", "pii", question, "consult", "retirement", pii_values=("420106196603074519",))
    with ScriptedLLMServer(default=Reply(json.dumps({"score": 1.0, "unsupported": []}))) as server:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            retrieval=RetrievalSettings(embedder="hashing"),
            llm=LLMSettings(base_url=server.base_url, model=server.model, max_retries=0, timeout_s=10),
        )
        services = _build(settings, tmp_path / "data", POLICY_DOC)
        chunk = services.kb.registry.document_chunks("retirement")[3]
        answered = TurnRecord(
            f"【申请材料】[1]\n{chunk.text}", "consult", "extractive", None,
            (CitedPassage(1, chunk.chunk_id, "retirement", chunk.section),), (chunk.chunk_id,), {chunk.chunk_id: chunk.text},
        )  # fmt: skip
        result = score_case(case, answered, Replies({}))
        faith = anyio.run(_faithfulness, services, [result], (case,))
        bodies = json.dumps([r.body for r in server.chat_requests()], ensure_ascii=False)
    assert faith["score"] == 1.0 and faith["judged"] == 1
    assert "4201**********4519" in bodies and "420106196603074519" not in bodies
