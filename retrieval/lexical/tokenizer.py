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

import jieba

DEFAULT_GLOSSARY = Path(__file__).resolve().parent.parent / "resources" / "glossary.txt"

# Function words and question words that carry no topical signal in citizens' questions.
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "么",
        "嘛",
        "哦",
        "是",
        "在",
        "和",
        "与",
        "及",
        "或",
        "也",
        "都",
        "就",
        "还",
        "又",
        "要",
        "会",
        "能",
        "可以",
        "可",
        "请问",
        "请",
        "问",
        "一下",
        "一个",
        "这个",
        "那个",
        "什么",
        "怎么",
        "怎么样",
        "怎样",
        "如何",
        "哪些",
        "哪个",
        "哪里",
        "哪儿",
        "多少",
        "多久",
        "几",
        "啥",
        "咋",
        "为什么",
        "我",
        "我们",
        "你",
        "你们",
        "他",
        "她",
        "它",
        "他们",
        "自己",
        "有",
        "没有",
        "没",
        "不",
        "需要",
        "得",
        "想",
        "去",
        "给",
        "把",
        "被",
        "让",
        "对",
        "从",
        "到",
        "为",
        "以",
        "之",
        "其",
        "该",
        "此",
        "等",
        "个",
        "吗？",
        "呢？",
        "应该",
        "知道",
        "告诉",
        "帮",
        "帮我",
        "现在",
    ]
)
# Generic colloquial verbs and fillers: they say how a citizen asks, not what about.
STOPWORDS = STOPWORDS | frozenset(
    [
        "那",
        "那么",
        "这",
        "这样",
        "那样",
        "办好",
        "办完",
        "办下来",
        "下来",
        "拿到",
        "弄",
        "搞",
        "行",
        "可以吗",
        "能不能",
        "要不要",
        "一般",
        "大概",
        "请教",
        "了解",
        "问问",
        "的话",
    ]
)
_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)

# jieba logs its dictionary build at INFO on the root of its own logger; keep it quiet.
jieba.setLogLevel(logging.WARNING)


class ChineseTokenizer:
    def __init__(self, extra_words: Iterable[str] = (), glossary: Path | None = DEFAULT_GLOSSARY) -> None:
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
            if tok and tok not in STOPWORDS and _TOKEN_OK.search(tok):
                out.append(tok)
        return out

    def terms(self, text: str) -> list[str]:
        """Non-overlapping content words (precise mode): what the citizen asked about, each once."""
        out: list[str] = []
        for tok in self._jieba.lcut(text.lower(), HMM=False):
            tok = tok.strip()
            if tok and tok not in STOPWORDS and _TOKEN_OK.search(tok) and tok not in out:
                out.append(tok)
        return out

    def tokenize_many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.tokenize(t) for t in texts]
