"""Cuts a streamed answer into sentences, so each can be checked before the citizen sees it (pure).

A sentence ends at ``。！？；!?;`` or a newline, or at a ``.`` that is not between digits (``1.5`` stays
whole), and takes along what belongs to it and has already arrived: citation markers written after the
full stop (``…不收费。[1]``), closing quotes and brackets, and the whitespace that follows. A sentence is
released as soon as its end arrives (a model that pauses after it must not hold it back), except while a
marker after it is still arriving (``。[`` + ``1]``).
"""

from __future__ import annotations

import re

_END = re.compile(r"[。！？；!?;\n]|(?<![0-9])\.(?=\s)|(?<![0-9])\.$")
# What may follow a sentence end and still belong to it.
_TAIL = re.compile(r"(?:\s*\[\d{1,3}\]|[”’」』）)\]】]|\s)*")
_PARTIAL_MARKER = re.compile(r"\s*\[\d{0,3}")


class SentenceBuffer:
    """``feed`` text pieces, get back whole sentences; ``flush`` returns the rest at the end."""

    def __init__(self, max_chars: int = 400) -> None:
        self._buf = ""
        self._max = max_chars  # a run-on "sentence" is released in pieces of this size

    def feed(self, piece: str) -> list[str]:
        self._buf += piece
        out: list[str] = []
        while True:
            cut = self._cut()
            if cut is None:
                break
            out.append(self._buf[:cut])
            self._buf = self._buf[cut:]
        return out

    def flush(self) -> str:
        rest, self._buf = self._buf, ""
        return rest

    def _cut(self) -> int | None:
        m = _END.search(self._buf)
        if m is not None:
            tail = _TAIL.match(self._buf, m.end())
            end = tail.end() if tail else m.end()
            if _PARTIAL_MARKER.fullmatch(self._buf, end):
                return None  # a citation marker is arriving: it belongs to this sentence
            return end
        if len(self._buf) > self._max:
            return self._max
        return None
