"""Citation check for LLM answers (pure): every [n] must point at a passage that was given."""

from __future__ import annotations

import re
from dataclasses import dataclass

_MARK = re.compile(r"\[(\d{1,3})\]")


@dataclass(frozen=True)
class CitationCheck:
    text: str  # the answer with out-of-range markers removed
    cited: tuple[int, ...]  # valid passage numbers, in order of first use
    invalid: tuple[int, ...]  # markers that pointed at nothing


def check_citations(answer: str, n_passages: int) -> CitationCheck:
    cited: list[int] = []
    invalid: list[int] = []

    def keep(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if 1 <= n <= n_passages:
            if n not in cited:
                cited.append(n)
            return m.group(0)
        invalid.append(n)
        return ""

    text = _MARK.sub(keep, answer)
    return CitationCheck(text.strip(), tuple(cited), tuple(invalid))


NO_BASIS_MARKERS = ("没有找到相关依据", "现有资料中没有", "资料不足")


def declines(answer: str) -> bool:
    """The model followed rule 4 and declined: that is a valid answer without citations."""
    return any(m in answer for m in NO_BASIS_MARKERS)
