"""A scripted OpenAI-compatible LLM server on loopback, for integration tests of LLM clients.

It speaks ``/v1/chat/completions`` (JSON, and SSE ``data: {...}`` chunks closed by ``data: [DONE]``) and
``/v1/models``, served by a real uvicorn in a background thread on a free port. Each request takes the next
scripted behaviour (or the default reply): a normal answer, a slow first token, a slow drip, an HTTP error, a
malformed chunk, a dropped connection, a stream that hangs; a behaviour may also be computed from the request
body (``Respond``), e.g. an LLM that obeys whatever the prompt tells it. Every request is recorded with its
JSON body and whether the client disconnected before the server finished, so tests can check retries,
pass-through of ``response_format`` and that cancelling a turn really closes the upstream request.

Usage::

    with ScriptedLLMServer() as server:
        server.script(Status(503), Reply("你好"))
        model = OpenAICompatChatModel(server.base_url, server.model, ...)
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send


@dataclass(frozen=True)
class Reply:
    """A normal answer. Streamed in pieces of ``chunk_chars``; ``first_token_delay_s`` simulates a busy GPU."""

    text: str
    chunk_chars: int = 2
    first_token_delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Status:
    """An HTTP error answer (e.g. 500, 503, 400)."""

    code: int
    message: str = "scripted error"


@dataclass(frozen=True)
class MalformedChunk:
    """Stream ``before`` normally, then a chunk that is not JSON."""

    before: str = ""


@dataclass(frozen=True)
class DropMidStream:
    """Stream ``before``, then close the connection without finishing the HTTP body."""

    before: str = ""


@dataclass(frozen=True)
class Hang:
    """Stream ``before``, then send nothing for ``hold_s`` (for cancellation tests)."""

    before: str = ""
    hold_s: float = 30.0


Behaviour = Reply | Status | MalformedChunk | DropMidStream | Hang


@dataclass(frozen=True)
class Respond:
    """The behaviour computed from the request body (its ``messages``, ``stream``, ``response_format``)."""

    fn: Callable[[dict[str, Any]], Behaviour]


Scripted = Behaviour | Respond


@dataclass
class RecordedRequest:
    """One request the server received."""

    path: str
    body: dict[str, Any]
    disconnected: bool = False
    finished: bool = False
    events: threading.Event = field(default_factory=threading.Event, repr=False)


class _Dropped(Exception):
    """Raised inside the app to make uvicorn abort the connection mid-body."""


def _chunk(model: str, delta: dict[str, Any], finish: str | None) -> bytes:
    payload = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


class _Watched:
    """ASGI response produced by ``produce`` while a second task watches for the client going away.

    ``produce`` sends everything but the closing message; a disconnect cancels it and marks the record.
    """

    def __init__(self, record: RecordedRequest, produce: Callable[[Send], Awaitable[None]]) -> None:
        self._record = record
        self._produce = produce

    def _end(self, *, disconnected: bool) -> None:
        if not self._record.events.is_set():
            self._record.disconnected = disconnected
            self._record.finished = not disconnected
            self._record.events.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                self._end(disconnected=True)
                tg.cancel_scope.cancel()

            tg.start_soon(watch)
            try:
                await self._produce(send)
            except _Dropped:
                self._end(disconnected=False)
                raise
            self._end(disconnected=False)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            tg.cancel_scope.cancel()


def _sse_producer(model: str, b: Behaviour) -> Callable[[Send], Awaitable[None]]:
    async def produce(send: Send) -> None:
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})

        async def body(data: bytes) -> None:
            await send({"type": "http.response.body", "body": data, "more_body": True})

        await body(_chunk(model, {"role": "assistant", "content": ""}, None))
        if isinstance(b, Reply):
            await anyio.sleep(b.first_token_delay_s)
            for i in range(0, len(b.text), b.chunk_chars):
                await body(_chunk(model, {"content": b.text[i : i + b.chunk_chars]}, None))
                await anyio.sleep(b.chunk_delay_s)
            await body(_chunk(model, {}, b.finish_reason))
            await body(b"data: [DONE]\n\n")
            return
        if isinstance(b, Status):
            raise AssertionError("HTTP errors are answered before streaming")
        if b.before:
            await body(_chunk(model, {"content": b.before}, None))
        if isinstance(b, MalformedChunk):
            await body('data: {"id": "x", "choices": [{"delta": {"content": "坏\n\n'.encode())
            await body(b"data: [DONE]\n\n")
        elif isinstance(b, DropMidStream):
            raise _Dropped("scripted connection drop")
        else:
            await anyio.sleep(b.hold_s)

    return produce


def _broken_json_producer(b: Behaviour) -> Callable[[Send], Awaitable[None]]:
    """Non-streaming answer that hangs or drops after promising a body (headers sent, body incomplete)."""

    async def produce(send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"500")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"id": "chatcmpl-scripted", ', "more_body": True})
        if isinstance(b, Hang):
            await anyio.sleep(b.hold_s)
        raise _Dropped("scripted connection drop")

    return produce


class ScriptedLLMServer:
    """The server; a context manager that starts and stops uvicorn in a daemon thread."""

    def __init__(self, model: str = "scripted-qwen", default: Scripted | None = None) -> None:
        self.model = model
        self.default: Scripted = default or Reply("默认回复")
        self.requests: list[RecordedRequest] = []
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *behaviours: Scripted) -> None:
        """Queue behaviours for the next requests, in order."""
        with self._lock:
            self._script.extend(behaviours)

    def reset(self) -> None:
        """Forget recorded requests and queued behaviours (between tests sharing one server)."""
        with self._lock:
            self.requests.clear()
            self._script.clear()

    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def wait_for_end(self, index: int, timeout_s: float = 5.0) -> RecordedRequest:
        """Block until request ``index`` finished or its client disconnected (call via a thread in async)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                reqs = self.chat_requests()
            if len(reqs) > index and reqs[index].events.wait(max(0.0, deadline - time.monotonic())):
                return reqs[index]
            time.sleep(0.01)
        raise TimeoutError(f"request {index} did not end within {timeout_s}s")

    def _next(self, body: dict[str, Any]) -> Behaviour:
        with self._lock:
            scripted = self._script.popleft() if self._script else self.default
        return scripted.fn(body) if isinstance(scripted, Respond) else scripted

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        record = RecordedRequest(path=request.url.path, body=body)
        with self._lock:
            self.requests.append(record)
        behaviour = self._next(body)
        if isinstance(behaviour, Status):
            record.finished = True
            record.events.set()
            return JSONResponse(
                {"error": {"message": behaviour.message, "type": "scripted", "code": behaviour.code}},
                status_code=behaviour.code,
            )
        if body.get("stream"):
            return _Watched(record, _sse_producer(self.model, behaviour))  # type: ignore[return-value]
        if isinstance(behaviour, Hang | DropMidStream):
            return _Watched(record, _broken_json_producer(behaviour))  # type: ignore[return-value]
        return await self._json_reply(behaviour, record)

    async def _json_reply(self, b: Reply | MalformedChunk, record: RecordedRequest) -> Response:
        if isinstance(b, Reply):
            # Not streamed, the whole text is due at once: a slow drip makes the caller wait for all of it.
            pieces = -(-len(b.text) // max(b.chunk_chars, 1))
            await anyio.sleep(b.first_token_delay_s + b.chunk_delay_s * pieces)
            record.finished = True
            record.events.set()
            return JSONResponse(
                {
                    "id": "chatcmpl-scripted",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": self.model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": b.text},
                            "finish_reason": b.finish_reason,
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            )
        record.finished = True
        record.events.set()
        return Response(b'{"choices": [ {"message": ', media_type="application/json")

    async def _models(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(RecordedRequest(path=request.url.path, body={}, finished=True))
        return JSONResponse(
            {"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "test"}]}
        )

    def start(self) -> ScriptedLLMServer:
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="critical", lifespan="off", loop="asyncio", http="h11", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("scripted LLM server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
