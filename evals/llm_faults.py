"""Turn time with a broken LLM: hanging, slow-drip, HTTP 500 and dead, against a healthy baseline.

python -m evals.llm_faults [--turns 30] [--first-token-s 3] [--turn-s 20] [--out DIR]

Runs the real assistant (sample knowledge base, hashing embedder, the real OpenAI client) against the
scripted OpenAI-compatible server of the tests, one fault at a time with a fresh circuit breaker, and
prints per fault the turn time p50/p99, time to the first streamed text, how many requests reached the
LLM, and what the citizen saw. Run it from the repository root (it uses ``tests/integration``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

QUESTIONS = (
    "生孩子上户口要带什么材料",
    "新生儿出生一件事要带哪些材料",
    "开饭馆要办哪些证",
    "退休一件事需要准备什么材料",
    "企业注销要多久",
    "社保卡怎么申领",
)
ROUTE = json.dumps({"intent": "consult", "confidence": 0.9, "workflow_id": None})


@dataclass
class FaultReport:
    fault: str
    turns: int
    p50_s: float
    p99_s: float
    max_s: float
    first_text_p50_s: float
    first_text_p99_s: float
    llm_requests: int
    modes: dict[str, int]
    with_notice: int
    sample_answer: str
    times_s: list[float] = field(repr=False)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _behaviours() -> dict[str, Any]:
    from tests.integration._llm_server import Hang, Reply, Respond, Status

    def drip(body: dict[str, Any]) -> Any:
        if not body.get("stream"):
            return Reply(ROUTE)
        return Reply(
            "新生儿出生一件事需要父母双方的居民身份证户口簿结婚证" * 20 + " [1]。",
            chunk_chars=1,
            chunk_delay_s=0.5,
        )

    def healthy(body: dict[str, Any]) -> Any:
        """Quotes the first sentence of passage [1] and cites it, as a grounded model would."""
        if not body.get("stream"):
            return Reply(ROUTE)
        passages = body["messages"][1]["content"]
        first = passages.split("[1] ", 1)[-1].split("\n", 1)[0]
        sentence = first.split("：", 1)[-1].split("。", 1)[0][:80]
        return Reply(f"{sentence} [1]。", chunk_chars=4)

    return {
        "healthy": Respond(healthy),
        "hanging": Hang(hold_s=600),
        "slow_drip": Respond(drip),
        "http_500": Status(500, "internal error"),
        "dead": None,  # the server is stopped: connection refused
    }


async def _run_fault(services: Any, turns: int) -> tuple[list[float], list[float], list[Any]]:
    times, firsts, results = [], [], []
    for i in range(turns):
        started = time.perf_counter()
        first = None
        async for event in services.assistant.stream(None, QUESTIONS[i % len(QUESTIONS)]):
            if event.event == "token" and first is None:
                first = time.perf_counter() - started
            if event.event == "done":
                results.append(event.data["result"])
        total = time.perf_counter() - started
        times.append(total)
        firsts.append(first if first is not None else total)
    return times, firsts, results


async def _measure_all(
    services: Any, server: Any, turns: int, fresh_breaker: Callable[[], Any]
) -> list[FaultReport]:
    notices = tuple(services.assistant.prompts.reply(n) for n in ("llm_unavailable", "llm_answer_withheld"))
    reports: list[FaultReport] = []
    for name, behaviour in _behaviours().items():
        server.reset()
        if behaviour is None:
            server.stop()
        else:
            server.default = behaviour
        services.llm.breaker = fresh_breaker()
        times, firsts, results = await _run_fault(services, turns)
        reports.append(
            FaultReport(
                fault=name,
                turns=turns,
                p50_s=statistics.median(times),
                p99_s=_pct(times, 0.99),
                max_s=max(times),
                first_text_p50_s=statistics.median(firsts),
                first_text_p99_s=_pct(firsts, 0.99),
                llm_requests=len(server.chat_requests()),
                modes=dict(Counter(r.mode for r in results)),
                with_notice=sum(1 for r in results if any(n in r.answer for n in notices)),
                sample_answer=results[-1].answer[:90].replace("\n", " "),
                times_s=[round(t, 3) for t in times],
            )
        )
    await services.aclose()
    return reports


def measure(
    turns: int, first_token_s: float, turn_s: float, fresh_breaker: Callable[[], Any]
) -> list[FaultReport]:
    from retrieval.factory import SAMPLE_KB_DIR
    from serving.services import build_services
    from tests.assistant_fixtures import make_settings
    from tests.integration._llm_server import ScriptedLLMServer

    with tempfile.TemporaryDirectory(prefix="govchat-llm-faults-") as tmp, ScriptedLLMServer() as server:
        llm = {
            "base_url": server.base_url,
            "model": server.model,
            "first_token_s": first_token_s,
            "turn_s": turn_s,
        }
        services = build_services(make_settings(Path(tmp), llm=llm))
        services.kb.ingest_paths([SAMPLE_KB_DIR])
        return asyncio.run(_measure_all(services, server, turns, fresh_breaker))


def table(reports: list[FaultReport]) -> str:
    lines = [
        "| LLM | turns | turn p50 | turn p99 | first text p50 / p99 | LLM requests | modes | notice | the citizen sees |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        modes = ", ".join(f"{k} {v}" for k, v in sorted(r.modes.items()))
        lines.append(
            f"| {r.fault} | {r.turns} | {r.p50_s:.2f} s | {r.p99_s:.2f} s | {r.first_text_p50_s:.2f} / "
            f"{r.first_text_p99_s:.2f} s | {r.llm_requests} | {modes} | {r.with_notice}/{r.turns} | {r.sample_answer}… |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.llm_faults", description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--first-token-s", type=float, default=3.0)
    parser.add_argument("--turn-s", type=float, default=20.0)
    parser.add_argument("--breaker-failures", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="also write llm_faults.json and .md here")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from connectors.resilience import CircuitBreaker

    def fresh() -> CircuitBreaker:
        return CircuitBreaker(failure_threshold=args.breaker_failures, reset_timeout_s=3600, name="LLM")

    reports = measure(args.turns, args.first_token_s, args.turn_s, fresh)
    text = table(reports)
    print(f"first token deadline {args.first_token_s} s, turn deadline {args.turn_s} s, "
          f"breaker opens after {args.breaker_failures} failed calls\n")  # fmt: skip
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "llm_faults.json").write_text(
            json.dumps([asdict(r) for r in reports], ensure_ascii=False, indent=2), encoding="utf-8"
        )
        (args.out / "llm_faults.md").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
