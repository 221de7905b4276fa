"""Observability: JSON log lines carrying the request id, and Prometheus metrics.

Log lines never carry request bodies or chat text; where text must be logged it is masked first
(``mask_for_log``). Metrics live in a registry per app, so several apps in one process (tests) do not
collide.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from assistant.pii import mask_pii

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("govchat_request_id", default="")

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


def mask_for_log(text: str, limit: int = 200) -> str:
    """Masked and shortened: the only form in which citizen text may reach a log."""
    return mask_pii(text[:limit]).text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", "") or request_id_var.get()
        if rid:
            out["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key != "request_id" and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the server process (the CLI's other commands keep plain text)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("bm25s", "jieba", "chromadb", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


class Metrics:
    """The app's Prometheus metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "govchat_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "govchat_http_request_duration_seconds",
            "HTTP request latency (until the response starts for streams)",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.turns = Counter(
            "govchat_turns",
            "Assistant turns by intent and answer mode",
            ["intent", "mode"],
            registry=self.registry,
        )
        self.no_evidence = Counter(
            "govchat_no_evidence", "Consult turns answered 'not in my knowledge base'", registry=self.registry
        )
        self.rate_limited = Counter(
            "govchat_rate_limited", "Requests refused by a rate limit", ["scope"], registry=self.registry
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_turn(self, intent: str, mode: str, no_evidence: bool) -> None:
        self.turns.labels(intent, mode).inc()
        if no_evidence:
            self.no_evidence.inc()
