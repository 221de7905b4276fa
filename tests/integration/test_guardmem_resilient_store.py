"""A Redis that is down must not take the assistant down: the resilient store falls back and says so."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import AsyncIterator

import anyio
import anyio.abc
import pytest
from redis.asyncio import Redis

from assistant.memory import (
    InMemorySessionStore,
    RedisSessionStore,
    ResilientSessionStore,
    SessionState,
    SessionStoreUnavailable,
    Turn,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def turn(i: int) -> Turn:
    return Turn(role="user", content=f"问题{i}", ts=float(i))


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    value = f"test:guardmem:resilient:{uuid.uuid4().hex}:"
    yield value
    raw = Redis.from_url(f"redis://{REDIS_HOST}:{REDIS_PORT}/0")
    keys = [k async for k in raw.scan_iter(match=f"{value}*")]
    if keys:
        await raw.delete(*keys)
    await raw.aclose()


async def test_redis_store_reports_a_down_server_as_unavailable() -> None:
    store = RedisSessionStore(f"redis://127.0.0.1:{closed_port()}/0", ttl_s=60, max_turns=5)
    started = time.monotonic()
    with pytest.raises(SessionStoreUnavailable):
        await store.load("s")
    with pytest.raises(SessionStoreUnavailable):
        async with store.lock("s"):
            pass
    assert time.monotonic() - started < 3  # fails fast, no ten retries with backoff
    await store.aclose()


async def test_down_redis_falls_back_to_memory_and_reports_degraded(prefix: str) -> None:
    primary = RedisSessionStore(f"redis://127.0.0.1:{closed_port()}/0", ttl_s=60, max_turns=5, prefix=prefix)
    store = ResilientSessionStore(primary, InMemorySessionStore(ttl_s=60, max_turns=5))
    assert not store.degraded
    async with store.lock("s"):
        assert store.degraded
        assert (await store.load("s")).is_empty
        await store.append("s", turn(1))
        await store.save_state("s", SessionState(topic="t"))
    state = await store.load("s")
    assert state.topic == "t" and [t.content for t in state.history] == ["问题1"]
    await store.delete("s")
    assert (await store.load("s")).is_empty
    await primary.aclose()


async def _pipe(reader: anyio.abc.ByteReceiveStream, writer: anyio.abc.ByteSendStream) -> None:
    try:
        async for chunk in reader:
            await writer.send(chunk)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass
    finally:
        await writer.aclose()


async def _forward(client: anyio.abc.SocketStream) -> None:
    async with (
        client,
        await anyio.connect_tcp(REDIS_HOST, REDIS_PORT) as upstream,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(_pipe, client, upstream)
        tg.start_soon(_pipe, upstream, client)


async def test_recovers_when_redis_comes_back(prefix: str) -> None:
    port = closed_port()
    clock = FakeClock()
    primary = RedisSessionStore(f"redis://127.0.0.1:{port}/0", ttl_s=60, max_turns=5, prefix=prefix)
    store = ResilientSessionStore(
        primary, InMemorySessionStore(ttl_s=60, max_turns=5), retry_after_s=30, clock=clock
    )
    await store.append("s", turn(1))
    assert store.degraded

    # Redis "comes back": a TCP forwarder to the real Redis starts listening on the dead port.
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, _forward)
        clock.now += 10
        await store.append("s", turn(2))  # not yet time to probe: still the fallback
        assert store.degraded
        clock.now += 25
        await store.append("s", turn(3))  # probe succeeds: back on Redis
        assert not store.degraded
        assert [t.content for t in (await store.load("s")).history] == ["问题3"]
        assert [t.content for t in (await primary.load("s")).history] == ["问题3"]
        await primary.aclose()
        tg.cancel_scope.cancel()
