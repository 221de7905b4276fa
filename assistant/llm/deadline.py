"""One deadline per citizen turn for every LLM call the turn makes.

A turn may call the LLM several times (routing, condensing, slot extraction, then the streamed answer).
Giving each call its own timeout lets a hanging server cost the sum of them; instead the turn starts a
``TurnClock`` (``llm_turn()`` around ``Assistant.stream``) and ``ResilientChatModel`` measures every
call against it: until the answer's first token arrives, all calls share the first-token deadline;
after it, the whole-turn deadline. Calls outside a turn (the caseworker's draft) get a fresh pair of
deadlines per call.

The clock lives in a ``ContextVar``, so concurrent turns on one event loop never see each other's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class TurnClock:
    """When the turn started and whether the LLM has produced answer text yet."""

    started: float = field(default_factory=time.monotonic)
    first_token_seen: bool = False


_CURRENT: ContextVar[TurnClock | None] = ContextVar("govchat_llm_turn", default=None)


@contextmanager
def llm_turn() -> Iterator[TurnClock]:
    """Start the turn's clock for the LLM calls made inside the block."""
    clock = TurnClock()
    token = _CURRENT.set(clock)
    try:
        yield clock
    finally:
        # An abandoned stream may be closed from another context: nothing to restore there.
        with suppress(ValueError):
            _CURRENT.reset(token)


def current_turn() -> TurnClock | None:
    """The clock of the turn being processed in this context, if any."""
    return _CURRENT.get()


@dataclass(frozen=True)
class Deadlines:
    """Monotonic times: by ``first`` the next call must produce its first token (or its whole answer,
    for a non-streamed call); by ``end`` everything must be done."""

    first: float
    end: float


def deadlines(first_token_s: float, turn_s: float, now: float | None = None) -> Deadlines:
    """The deadlines for an LLM call starting ``now`` under the current turn's clock (if any)."""
    now = time.monotonic() if now is None else now
    clock = current_turn()
    if clock is None:
        return Deadlines(now + first_token_s, now + turn_s)
    end = clock.started + turn_s
    first = end if clock.first_token_seen else min(end, clock.started + first_token_s)
    return Deadlines(first, end)
