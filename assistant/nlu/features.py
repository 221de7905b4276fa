"""Text views the NLU models learn from: characters, jieba words and pinyin syllables (pure, picklable).

Pinyin makes homophone slips (公基金 → gong ji jin, 注消 → zhu xiao) look like the words they stand for;
character n-grams carry dialect and partial names; words carry the phrase structure.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache

import jieba
from pypinyin import lazy_pinyin

jieba.setLogLevel(60)  # jieba prints its dictionary load to stderr otherwise

_FORMAT = re.compile(r"[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
_MASKED = re.compile(r"[\w.@+-]*\*{2,}[\w.@+-]*")
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
_HAN = re.compile(r"[\u4e00-\u9fff]+")


def normalise(text: str) -> str:
    """NFKC, lower case, format characters and masked values dropped, digit runs folded to 0."""
    t = unicodedata.normalize("NFKC", text or "")
    t = _FORMAT.sub("", t).lower()
    t = _MASKED.sub(" ", t)
    t = _DIGITS.sub("0", t)
    return _SPACE.sub(" ", t).strip()


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w in jieba.lcut(text) if w.strip())


def words(text: str) -> list[str]:
    """jieba words of the normalised text (an analyzer for sklearn)."""
    return list(_words(normalise(text)))


def pinyin(text: str) -> list[str]:
    """Toneless pinyin syllables of the Chinese characters, as unigrams and bigrams."""
    syl: list[str] = []
    for run in _HAN.findall(normalise(text)):
        syl += lazy_pinyin(run)
    return syl + [f"{a}_{b}" for a, b in itertools.pairwise(syl)]


def chars(text: str) -> str:
    """The normalised text for character n-grams."""
    return normalise(text)
