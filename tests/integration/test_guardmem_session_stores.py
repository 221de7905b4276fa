"""One contract, every SessionStore: the in-process store and the real Redis on 127.0.0.1:6379.

``SessionStoreContract`` holds the behaviour the turn pipeline relies on; each implementation subclasses it
and says how to build a store and how to let time pass beyond the TTL.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from redis.asyncio import Redis

from assistant.memory import (
    InMemorySessionStore,
    RedisSessionStore,
    SessionLockTimeout,
    SessionState,
    SessionStore,
    Turn,
)
from assistant.memory.file_store import FileSessionStore

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

REDIS_URL = "redis://127.0.0.1:6379/0"
TTL_S = 1.0
MAX_TURNS = 4


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def turn(i: int, role: str = "user", **meta: object) -> Turn:
    return Turn(role=role, content=f"第{i}条消息 ✓", ts=1_700_000_000.0 + i, meta=dict(meta))


class SessionStoreContract:
    """Behaviour every SessionStore must show. Subclasses provide the ``store`` fixture and ``expire``."""

    async def expire(self, store: SessionStore) -> None:
        raise NotImplementedError

    async def test_unknown_session_loads_fresh(self, store: SessionStore) -> None:
        state = await store.load(f"never-seen-{uuid.uuid4()}")
        assert state == SessionState()
        assert state.is_empty

    async def test_turns_round_trip_in_order(self, store: SessionStore) -> None:
        await store.append("s1", turn(1, meta={"intent": "consult", "citations": [1, 2]}))
        await store.append("s1", turn(2, role="assistant"))
        state = await store.load("s1")
        assert [t.content for t in state.history] == ["第1条消息 ✓", "第2条消息 ✓"]
        assert state.history[0] == turn(1, meta={"intent": "consult", "citations": [1, 2]})
        assert state.history[1].role == "assistant"

    async def test_history_is_trimmed_to_the_newest_turns(self, store: SessionStore) -> None:
        for i in range(1, 8):
            await store.append("s1", turn(i))
        history = (await store.load("s1")).history
        assert [t.ts for t in history] == [turn(i).ts for i in range(8 - MAX_TURNS, 8)]

    async def test_state_round_trips(self, store: SessionStore) -> None:
        state = SessionState(
            topic="newborn-birth",
            flow={"step": "ask_hukou", "answers": {"parents_married": True}},
            data={"区": "江岸区", "n": 3, "list": [1, "二"]},
        )
        await store.save_state("s1", state)
        assert await store.load("s1") == state

    async def test_save_state_keeps_history_appended_meanwhile(self, store: SessionStore) -> None:
        loaded = await store.load("s1")
        await store.append("s1", turn(1))
        await store.save_state("s1", SessionState(history=loaded.history, topic="t"))
        state = await store.load("s1")
        assert state.topic == "t"
        assert [t.ts for t in state.history] == [turn(1).ts]

    async def test_save_state_replaces_the_previous_state(self, store: SessionStore) -> None:
        await store.save_state("s1", SessionState(topic="a", flow={"x": 1}, data={"k": "v"}))
        await store.save_state("s1", SessionState(topic=None, flow=None))
        assert await store.load("s1") == SessionState()

    async def test_sessions_are_isolated(self, store: SessionStore) -> None:
        await store.append("s1", turn(1))
        await store.save_state("s2", SessionState(topic="other"))
        assert (await store.load("s1")).topic is None
        assert (await store.load("s2")).history == ()

    async def test_delete_forgets_the_session(self, store: SessionStore) -> None:
        await store.append("s1", turn(1))
        await store.save_state("s1", SessionState(topic="t"))
        await store.delete("s1")
        await store.delete("never-existed")
        assert await store.load("s1") == SessionState()

    async def test_session_expires_after_ttl(self, store: SessionStore) -> None:
        await store.append("s1", turn(1))
        await store.save_state("s1", SessionState(topic="t"))
        await self.expire(store)
        assert await store.load("s1") == SessionState()

    async def test_odd_session_ids_work(self, store: SessionStore) -> None:
        for sid in ["a:b", "{braces}", "中文会话", "x" * 300, ""]:
            await store.append(sid, turn(1))
            assert len((await store.load(sid)).history) == 1
        assert (await store.load("a")).history == ()

    async def test_lock_serialises_turns_of_one_session(self, store: SessionStore) -> None:
        log: list[str] = []

        async def one_turn(name: str) -> None:
            async with store.lock("s1"):
                log.append(f"{name}-start")
                await anyio.sleep(0.05)
                state = await store.load("s1")
                await store.append("s1", turn(len(state.history) + 1))
                log.append(f"{name}-end")

        async with anyio.create_task_group() as tg:
            for name in ("a", "b", "c"):
                tg.start_soon(one_turn, name)
        assert all(log[i].split("-")[0] == log[i + 1].split("-")[0] for i in range(0, 6, 2))
        assert [t.ts for t in (await store.load("s1")).history] == [turn(i).ts for i in (1, 2, 3)]

    async def test_locks_of_different_sessions_do_not_block_each_other(self, store: SessionStore) -> None:
        async with store.lock("s1"):
            with anyio.fail_after(1):
                async with store.lock("s2"):
                    pass

    async def test_lock_released_after_an_error_in_the_turn(self, store: SessionStore) -> None:
        with pytest.raises(RuntimeError):
            async with store.lock("s1"):
                raise RuntimeError("turn failed")
        with anyio.fail_after(1):
            async with store.lock("s1"):
                pass


class FakeClock:
    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


class TestInMemorySessionStore(SessionStoreContract):
    @pytest.fixture
    def store(self) -> SessionStore:
        return InMemorySessionStore(ttl_s=TTL_S, max_turns=MAX_TURNS, lock_wait_s=2, clock=FakeClock())

    async def expire(self, store: SessionStore) -> None:
        assert isinstance(store, InMemorySessionStore) and isinstance(store._clock, FakeClock)
        store._clock.now += TTL_S + 0.01


class TestRedisSessionStore(SessionStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[RedisSessionStore]:
        prefix = f"test:guardmem:{uuid.uuid4().hex}:"
        store = RedisSessionStore(REDIS_URL, ttl_s=TTL_S, max_turns=MAX_TURNS, prefix=prefix, lock_wait_s=2)
        yield store
        await store.aclose()
        raw = Redis.from_url(REDIS_URL)
        keys = [k async for k in raw.scan_iter(match=f"{prefix}*")]
        if keys:
            await raw.delete(*keys)
        await raw.aclose()

    async def expire(self, store: SessionStore) -> None:
        await anyio.sleep(TTL_S + 0.2)

    async def test_keys_carry_the_prefix_and_a_refreshed_ttl(self, store: RedisSessionStore) -> None:
        raw = Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            await store.append("s1", turn(1))
            await store.save_state("s1", SessionState(topic="t"))
            keys = sorted([k async for k in raw.scan_iter(match=f"{store.prefix}*")])
            assert keys == [store.key("s1", "history"), store.key("s1", "state")]
            await anyio.sleep(0.5)
            before = await raw.pttl(store.key("s1", "state"))
            await store.append("s1", turn(2))
            after = await raw.pttl(store.key("s1", "state"))
            assert 0 < before < after <= TTL_S * 1000
        finally:
            await raw.aclose()

    async def test_corrupt_data_loads_as_fresh_state(self, store: RedisSessionStore) -> None:
        raw = Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            await raw.rpush(store.key("s1", "history"), "not json", turn(1).to_json())
            await raw.hset(store.key("s1", "state"), mapping={"topic": "{broken", "data": "[]"})
            state = await store.load("s1")
            assert [t.ts for t in state.history] == [turn(1).ts]
            assert state.topic is None and state.data == {}
        finally:
            await raw.aclose()

    async def test_lock_held_elsewhere_times_out(self, store: RedisSessionStore) -> None:
        other = RedisSessionStore(
            REDIS_URL, ttl_s=TTL_S, max_turns=MAX_TURNS, prefix=store.prefix, lock_wait_s=0.3
        )
        try:
            async with store.lock("s1"):
                with pytest.raises(SessionLockTimeout):
                    async with other.lock("s1"):
                        pass
        finally:
            await other.aclose()

    async def test_constructor_touches_no_network(self) -> None:
        store = RedisSessionStore("redis://127.0.0.1:1/0", ttl_s=10, max_turns=3)
        assert not await store.ping()
        await store.aclose()


class TestFileSessionStore(SessionStoreContract):
    """The CLI's one-file-per-session store (embedded default without Redis) keeps the same contract."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> SessionStore:
        return FileSessionStore(tmp_path / "sessions", ttl_s=TTL_S, max_turns=MAX_TURNS, lock_wait_s=2)

    async def expire(self, store: SessionStore) -> None:
        assert isinstance(store, FileSessionStore)
        past = time.time() - TTL_S - 1
        for path in store._dir.glob("*.json"):
            os.utime(path, (past, past))
