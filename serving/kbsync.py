"""Keeps this API process's lexical index current when another process (a Celery worker) changed the KB.

The registry's ``kb_version`` is the shared truth; when it moves, the BM25 index is rebuilt from the
stored tokens. Only needed when jobs run in other processes.
"""

from __future__ import annotations

import logging

import anyio

from retrieval.knowledge_base import KnowledgeBase

log = logging.getLogger(__name__)


async def follow_kb_version(kb: KnowledgeBase, interval_s: float = 5.0) -> None:
    """Runs until cancelled; a failed check is logged and retried on the next tick."""
    seen = await anyio.to_thread.run_sync(kb.registry.kb_version)
    while True:
        await anyio.sleep(interval_s)
        try:
            current = await anyio.to_thread.run_sync(kb.registry.kb_version)
            if current != seen:
                await anyio.to_thread.run_sync(kb.rebuild_lexical)
                log.info(
                    "knowledge base changed elsewhere (version %s → %s): lexical index reloaded",
                    seen,
                    current,
                )
                seen = current
        except Exception as exc:
            log.warning("checking the knowledge-base version failed: %s", type(exc).__name__)
