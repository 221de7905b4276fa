"""Hubei administrative regions (市州 and 区县) with their 6-digit codes, and a matcher for free text.

The table is data (``connectors/data/hubei_regions.yaml``), read once on first use. Matching is a
greedy longest-alias scan, so "襄阳市樊城区" finds the district and "恩施州" is not read as 恩施市.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Literal

import yaml

RegionLevel = Literal["city", "district"]

# A place right after one of these is being denied ("不是武汉，是襄阳").
_NEGATIONS = ("不是", "不在", "并非", "不属于", "而非", "非")
_MAX_SCAN = 2000


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: RegionLevel
    parent_code: str = ""  # the 市州 of a 区县; empty for a 市州
    aliases: tuple[str, ...] = field(default=())

    @property
    def city_code(self) -> str:
        return self.parent_code or self.code


@dataclass(frozen=True)
class _Table:
    by_code: dict[str, Region]
    alias_to_code: dict[str, str]
    max_alias: int


def _short(name: str) -> str:
    for suffix in ("林区", "区", "县", "市"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return ""


@cache
def _table() -> _Table:
    text = resources.files("connectors").joinpath("data/hubei_regions.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    no_short = set(raw.get("no_short", []))
    by_code: dict[str, Region] = {}
    alias_to_code: dict[str, str] = {}
    for c in raw["cities"]:
        city = Region(code=str(c["code"]), name=c["name"], level="city", aliases=tuple(c.get("aliases", [])))
        by_code[city.code] = city
        for alias in (city.name, *city.aliases):
            alias_to_code[alias] = city.code
    district_aliases: dict[str, set[str]] = {}
    for parent, rows in raw["districts"].items():
        for row in rows:
            code, name, *extra = (str(x) for x in row)
            short = "" if name in no_short else _short(name)
            aliases = tuple(a for a in (*extra, short) if a)
            by_code[code] = Region(
                code=code, name=name, level="district", parent_code=str(parent), aliases=aliases
            )
            alias_to_code.setdefault(name, code)
            for alias in aliases:
                district_aliases.setdefault(alias, set()).add(code)
    for alias, codes in district_aliases.items():
        # A short form shared with a 市州 (荆州区 → 荆州) or by two districts stays unmatched.
        if alias not in alias_to_code and len(codes) == 1:
            alias_to_code[alias] = next(iter(codes))
    return _Table(by_code, alias_to_code, max(len(a) for a in alias_to_code))


def all_regions() -> list[Region]:
    return list(_table().by_code.values())


def cities() -> list[Region]:
    return [r for r in _table().by_code.values() if r.level == "city"]


def districts_of(city_code: str) -> list[Region]:
    return [r for r in _table().by_code.values() if r.parent_code == city_code]


def get_region(code: str) -> Region | None:
    return _table().by_code.get(str(code))


def find_mentions(text: str) -> list[tuple[int, Region, bool]]:
    """Every region named in ``text`` as (position, region, negated), scanning greedily left to right."""
    table = _table()
    text = text[:_MAX_SCAN]
    out: list[tuple[int, Region, bool]] = []
    i = 0
    while i < len(text):
        for length in range(min(table.max_alias, len(text) - i), 1, -1):
            code = table.alias_to_code.get(text[i : i + length])
            if code is not None:
                before = text[max(0, i - 4) : i].rstrip(" ，,、")
                negated = before.endswith(_NEGATIONS)
                out.append((i, table.by_code[code], negated))
                i += length
                break
        else:
            i += 1
    return out


def match_region(text: str) -> Region | None:
    """The region a message means, or None.

    Denied places are ignored; a 市州 named together with one of its own 区县 yields the 区县; when
    several remain, the last one mentioned wins ("原来在武汉，现在在襄阳").
    """
    kept = [r for _, r, negated in find_mentions(text) if not negated]
    district_parents = {r.parent_code for r in kept if r.level == "district"}
    kept = [r for r in kept if not (r.level == "city" and r.code in district_parents)]
    return kept[-1] if kept else None


@cache
def _other_places() -> tuple[tuple[str, str], ...]:
    text = resources.files("connectors").joinpath("data/other_provinces.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)["provinces"]
    pairs = [(name, name) for name in raw] + [
        (place, name) for name, places in raw.items() for place in places
    ]
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


def other_province(text: str) -> str | None:
    """The province outside Hubei that ``text`` places something in ("在浙江杭州生的"), or None.

    A place right after a negation ("不是在深圳") does not count."""
    t = text[:_MAX_SCAN]
    for place, province in _other_places():
        start = t.find(place)
        while start >= 0:
            before = t[:start].removesuffix("在")
            if not any(before.endswith(n) for n in _NEGATIONS):
                return province
            start = t.find(place, start + 1)
    return None
