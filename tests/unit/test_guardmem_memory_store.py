"""In-process session store: TTL on a fake clock, trimming, isolation from caller mutation, locking."""

from __future__ import annotations

import anyio
import pytest

from assistant.memory import InMemorySessionStore, SessionLockTimeout, SessionState, Turn

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def turn(i: int, role: str = "user") -> Turn:
    return Turn(role=role, content=f"第{i}条", ts=float(i))


async def test_session_expires_after_ttl_without_writes() -> None:
    clock = FakeClock()
    store = InMemorySessionStore(ttl_s=60, max_turns=5, clock=clock)
    await store.append("s", turn(1))
    clock.now += 59
    assert len((await store.load("s")).history) == 1
    clock.now += 2
    assert await store.load("s") == SessionState()
    assert len(store) == 0


async def test_each_write_refreshes_the_ttl() -> None:
    clock = FakeClock()
    store = InMemorySessionStore(ttl_s=60, max_turns=5, clock=clock)
    await store.append("s", turn(1))
    for i in range(2, 5):
        clock.now += 50
        await store.save_state("s", SessionState(topic=f"topic-{i}"))
    clock.now += 50
    state = await store.load("s")
    assert state.topic == "topic-4"
    assert [t.content for t in state.history] == ["第1条"]


async def test_reads_do_not_refresh_the_ttl() -> None:
    clock = FakeClock()
    store = InMemorySessionStore(ttl_s=60, max_turns=5, clock=clock)
    await store.append("s", turn(1))
    clock.now += 40
    await store.load("s")
    clock.now += 40
    assert (await store.load("s")).is_empty


async def test_expired_sessions_are_swept_from_memory() -> None:
    clock = FakeClock()
    store = InMemorySessionStore(ttl_s=10, max_turns=5, clock=clock)
    for i in range(100):
        await store.append(f"old-{i}", turn(i))
    clock.now += 100
    await store.append("new", turn(0))
    assert len(store._entries) == 1


async def test_mutating_a_loaded_state_does_not_change_the_store() -> None:
    store = InMemorySessionStore(ttl_s=60, max_turns=5)
    await store.save_state("s", SessionState(data={"answers": {"age": 30}}))
    loaded = await store.load("s")
    loaded.data["answers"]["age"] = 99
    assert (await store.load("s")).data == {"answers": {"age": 30}}


async def test_values_that_redis_could_not_store_are_refused_here_too() -> None:
    store = InMemorySessionStore(ttl_s=60, max_turns=5)
    with pytest.raises(TypeError):
        await store.save_state("s", SessionState(data={"when": object()}))


async def test_lock_wait_times_out_with_a_clear_error() -> None:
    store = InMemorySessionStore(ttl_s=60, max_turns=5, lock_wait_s=0.05)
    async with store.lock("s"):
        with pytest.raises(SessionLockTimeout):
            async with store.lock("s"):
                pass
    async with store.lock("s"):  # released properly after the timeout
        pass
    assert store._locks == {}


async def test_a_cancelled_turn_releases_the_lock() -> None:
    store = InMemorySessionStore(ttl_s=60, max_turns=5, lock_wait_s=1)
    entered = anyio.Event()

    async def hold() -> None:
        async with store.lock("s"):
            entered.set()
            await anyio.sleep(30)

    async with anyio.create_task_group() as tg:
        tg.start_soon(hold)
        await entered.wait()
        tg.cancel_scope.cancel()
    with anyio.fail_after(1):
        async with store.lock("s"):
            pass


@pytest.mark.parametrize(("ttl", "turns", "wait"), [(0, 5, 1), (10, 0, 1), (10, 5, 0)])
def test_invalid_configuration_is_refused(ttl: float, turns: int, wait: float) -> None:
    with pytest.raises(ValueError):
        InMemorySessionStore(ttl_s=ttl, max_turns=turns, lock_wait_s=wait)
