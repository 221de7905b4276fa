"""Chinese tokenizer for BM25: a private jieba instance with the government dictionary loaded.

A private ``jieba.Tokenizer`` (not the module-level default) keeps our user dictionary from leaking
into other code in the process and lets tests build tokenizers with different dictionaries.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jieba

DEFAULT_GLOSSARY = Path(__file__).resolve().parent.parent / "resources" / "glossary.txt"

DEFAULT_STOPWORDS = Path(__file__).resolve().parent.parent / "resources" / "stopwords.txt"


def load_stopwords(path: Path = DEFAULT_STOPWORDS) -> frozenset[str]:
    """Function words, question words and colloquial fillers (a data file admins can edit)."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
# jieba POS tags of words that carry the form of a question, not its topic (see ``asking_words``).
_ASKING_FLAGS = frozenset(
    {"r", "rr", "rz", "ry", "c", "f", "d", "u", "uj", "ul", "p", "q", "mq", "y", "e", "o"}
)

# jieba logs its dictionary build at INFO on the root of its own logger; keep it quiet.
jieba.setLogLevel(logging.WARNING)


class ChineseTokenizer:
    def __init__(
        self,
        extra_words: Iterable[str] = (),
        glossary: Path | None = DEFAULT_GLOSSARY,
        stopwords: Path = DEFAULT_STOPWORDS,
    ) -> None:
        self._stop = load_stopwords(stopwords)
        self._pos: Any = None
        self._jieba = jieba.Tokenizer()
        self._jieba.tmp_dir = tempfile.gettempdir()
        self._jieba.initialize()
        if glossary is not None and glossary.exists():
            self._jieba.load_userdict(str(glossary))
        self.add_words(extra_words)

    def add_words(self, words: Iterable[str]) -> None:
        """Adds domain words (guide names, materials) so they are kept whole as one token."""
        for word in words:
            word = word.strip()
            if 1 < len(word) <= 20 and " " not in word:
                self._jieba.add_word(word, freq=2000)

    def tokenize(self, text: str) -> list[str]:
        """Search-mode tokens (long words also yield their sub-words), lowercased, stopwords removed."""
        out = []
        for tok in self._jieba.cut_for_search(text.lower(), HMM=False):
            tok = tok.strip()
            if tok and tok not in self._stop and _TOKEN_OK.search(tok):
                out.append(tok)
        return out

    def terms(self, text: str) -> list[str]:
        """Non-overlapping content words (precise mode): what the citizen asked about, each once."""
        out: list[str] = []
        for tok in self._jieba.lcut(text.lower(), HMM=False):
            tok = tok.strip()
            if tok and tok not in self._stop and _TOKEN_OK.search(tok) and tok not in out:
                out.append(tok)
        return out

    def nounlike(self, text: str) -> set[str]:
        """The words of ``text`` that jieba tags as nouns, names, English or numbers: the words that
        carry a topic (护照, 游艇, 12345), as opposed to verbs, adverbs, time words and idioms."""
        return {
            w.word.lower()
            for w in self._pos_tokenizer().lcut(text.lower(), HMM=False)
            if w.flag.startswith(("n", "vn", "eng", "j")) or (w.flag == "m" and w.word.isdigit())
        }

    def asking_words(self, text: str) -> set[str]:
        """The words of ``text`` that say how something is asked rather than what about: pronouns and
        question words (哪个, 这边), conjunctions, localisers (以后, 里面), adverbs, particles, measure
        words and non-digit numerals (几个, 好多). A colloquial question is full of them; a topic never
        hangs on one."""
        return {
            w.word.lower()
            for w in self._pos_tokenizer().lcut(text.lower(), HMM=False)
            if w.flag in _ASKING_FLAGS or (w.flag == "m" and not any(ch.isdigit() for ch in w.word))
        }

    def _pos_tokenizer(self) -> Any:
        if self._pos is None:
            from jieba.posseg import POSTokenizer

            self._pos = POSTokenizer(self._jieba)
        return self._pos

    def tokenize_many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.tokenize(t) for t in texts]
