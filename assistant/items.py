"""Identifies which 一件事 a message is about, from guide names, aliases and synonyms (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

_SUFFIX = re.compile(r"[“\"「]?一件事[”\"」]?|（[^）]*）|\([^)]*\)")


def core_name(name: str) -> str:
    """'新生儿出生“一件事”' -> '新生儿出生'; '教育入学“一件事”(义务教育入学)' -> '教育入学'."""
    return _SUFFIX.sub("", name).strip("“”\"' ")


class GuideLike(Protocol):
    """What the matcher needs of a service guide."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def aliases(self) -> Sequence[str]: ...


class WorkflowLike(Protocol):
    """What the matcher needs of a workflow: the guide it runs and the words that name it."""

    @property
    def guide_id(self) -> str: ...

    @property
    def keywords(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class ItemEntry:
    item_id: str
    name: str
    terms: tuple[str, ...]


class ItemMatcher:
    """Longest term match wins, so 开办餐饮店 is not mistaken for 企业开办."""

    def __init__(self, entries: Iterable[ItemEntry]) -> None:
        self._entries = {e.item_id: e for e in entries}
        pairs = [(t.lower(), e.item_id) for e in self._entries.values() for t in e.terms if len(t) >= 2]
        self._terms = sorted(pairs, key=lambda p: -len(p[0]))

    @classmethod
    def from_guides(
        cls,
        guides: Iterable[GuideLike],
        synonyms: dict[str, str] | None = None,
        keywords: dict[str, list[str]] | None = None,
    ) -> ItemMatcher:
        """Builds from ServiceGuide-like objects (id, name, aliases); synonyms map colloquial -> official;
        keywords are extra terms per item (the workflow catalog's)."""
        entries = []
        for g in guides:
            gid, name, aliases = g.id, g.name, list(g.aliases)
            core = core_name(name)
            terms = {core, name, *aliases, *(keywords or {}).get(gid, [])}
            for colloquial, official in (synonyms or {}).items():
                if official in (core, name) or official in aliases:
                    terms.add(colloquial)
            entries.append(ItemEntry(gid, name, tuple(sorted(terms))))
        return cls(entries)

    @classmethod
    def from_catalog(
        cls, guides: Mapping[str, GuideLike], workflows: Iterable[WorkflowLike], synonyms: dict[str, str]
    ) -> ItemMatcher:
        """The product's matcher: guide names and aliases, colloquial synonyms, workflow keywords."""
        keywords = {wf.guide_id: list(wf.keywords) for wf in workflows}
        return cls.from_guides(guides.values(), synonyms, keywords)

    def name(self, item_id: str) -> str:
        return self._entries[item_id].name

    def terms(self) -> dict[str, list[str]]:
        """Every term that names each item (training rows for the item model)."""
        return {i: list(e.terms) for i, e in self._entries.items()}

    def ids(self) -> list[str]:
        return list(self._entries)

    def match(self, text: str) -> str | None:
        found = self.match_all(text)
        return found[0] if found else None

    def covered_by(self, bundles: Mapping[str, str]) -> dict[str, frozenset[str]]:
        """For each item, the other items its own bundle names (its bundled services and materials):
        身后 lists 逝者社会保障卡 and 户口注销, so 社保卡 and 注销 said while 身后 is in focus belong to it."""
        return {
            item_id: frozenset(i for i in self.match_all(text) if i != item_id)
            for item_id, text in bundles.items()
        }

    def match_all(self, text: str) -> list[str]:
        t = text.lower()
        out: list[str] = []
        for term, item_id in self._terms:
            if term in t and item_id not in out:
                out.append(item_id)
                t = t.replace(term, " ")
        return out
