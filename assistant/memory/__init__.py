"""Session memory: the ``SessionStore`` interface, its Redis and in-process implementations, and a
resilient wrapper that falls back to the in-process store when Redis is down."""

from assistant.memory.base import (
    SessionLockTimeout,
    SessionState,
    SessionStore,
    SessionStoreUnavailable,
    Turn,
)
from assistant.memory.memory_store import InMemorySessionStore
from assistant.memory.redis_store import RedisSessionStore
from assistant.memory.resilient import ResilientSessionStore

__all__ = [
    "InMemorySessionStore",
    "RedisSessionStore",
    "ResilientSessionStore",
    "SessionLockTimeout",
    "SessionState",
    "SessionStore",
    "SessionStoreUnavailable",
    "Turn",
]
