"""Colloquial → official term mapping used for query expansion (editable by admins as YAML)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_SYNONYMS = Path(__file__).resolve().parent.parent / "resources" / "synonyms.yaml"


class SynonymsError(ValueError):
    """The synonyms file is malformed; the message names the entry."""


@dataclass(frozen=True)
class SynonymMap:
    """``variants[colloquial] = official``. Longest variants match first, so 开饭馆 wins over 饭馆."""

    variants: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, source: str = "synonyms") -> SynonymMap:
        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise SynonymsError(f"{source}: expected a mapping of official term -> [colloquial variants]")
        variants: dict[str, str] = {}
        for official, alts in data.items():
            if not isinstance(official, str) or not official.strip():
                raise SynonymsError(f"{source}: empty official term")
            if not isinstance(alts, list) or not all(isinstance(a, str) and a.strip() for a in alts):
                raise SynonymsError(f"{source}: {official}: variants must be a list of non-empty strings")
            for alt in alts:
                variants[alt.strip()] = official.strip()
        return cls(variants)

    @classmethod
    def load(cls, path: Path | None = None) -> SynonymMap:
        path = path or DEFAULT_SYNONYMS
        if not path.exists():
            return cls({})
        return cls.parse(path.read_text(encoding="utf-8"), str(path))

    def matches(self, query: str) -> list[tuple[str, str]]:
        """(colloquial variant, official term) pairs found in the query, longest variants first,
        never two overlapping matches."""
        found: list[tuple[str, str]] = []
        covered = [False] * len(query)
        for alt in sorted(self.variants, key=len, reverse=True):
            start = query.find(alt)
            while start != -1:
                span = range(start, start + len(alt))
                if not any(covered[i] for i in span):
                    for i in span:
                        covered[i] = True
                    found.append((alt, self.variants[alt]))
                start = query.find(alt, start + 1)
        return found

    def official_terms_in(self, query: str) -> list[str]:
        """Official terms implied by the query that it does not already contain."""
        out: list[str] = []
        for _, official in self.matches(query):
            if official not in out and official not in query:
                out.append(official)
        return out

    def expand(self, query: str) -> str:
        """The query followed by the official terms it implies; unchanged when nothing matches."""
        extra = self.official_terms_in(query)
        return f"{query} {' '.join(extra)}" if extra else query

    def words(self) -> set[str]:
        return set(self.variants) | set(self.variants.values())
