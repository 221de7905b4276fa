"""Checks what the LLM says before anyone sees or stores it (pure; one instance per answer).

A grounded answer cites ``[n]``, but a model that obeys an instruction injected into the question or a
passage can still cite ``[1]`` while it echoes a codeword, recites its system prompt or invents a fee.
Each sentence of the streamed answer is held back until it passes (``SentenceBuffer``):

- **personal data** in the sentence is masked (``assistant.pii.mask_text``), never shown raw;
- **canary**: the secret marker planted in the system prompt must never come out;
- **system prompt**: a sentence that reproduces ``leak_chars`` or more characters of the system prompt's
  own wording (text that is not also public: passages, fixed replies, the prompt's quoted phrases and
  example) is a leak;
- **injected codewords**: text the citizen asked to have echoed (``暗号/口令 …``, quoted spans in a
  question that asks for something to be said or included) that no passage contains, and any
  Latin-letter term that no passage, no public text and no allowed term
  (``prompts/guard/output_allow.txt``) contains;
- **numbers**: every number must occur in a passage (at the end: in a *cited* passage) or in public text;
  short numbers the citizen wrote (an age, a year) are allowed, list markers (``1.``) are ignored.

A failed sentence fails the whole LLM answer: the caller replaces it with the extractive one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import prompts
from assistant.pii import mask_text
from assistant.pii_fold import fold

_SHINGLE = 12
_QUOTED = re.compile(r"[“\"「『‘']([^”\"」』’'\n]{2,40})[”\"」』’']")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*[A-Za-z0-9]|[A-Za-z]")
_CODEWORD_CUE = re.compile(
    r"(?:暗号|口令|密语|代号|接头语|codeword|code word|password|passphrase)\s*(?:是|为|:|：)?\s*"
    r"([^\s，。,.!?！？；;：:“”\"'「」]{2,16})",
    re.IGNORECASE,
)
_ECHO_CUE = re.compile(
    r"说|输出|回复|回答中|答案中|加上|附上|带上|包含|写上|重复|复述|念出|echo|say|repeat|include|append|print",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_MARKER = re.compile(r"\[\d{1,3}\]")
_LIST_ITEM = re.compile(r"^\s*\(?\d{1,2}[.、)）]")
_MASKED_VALUE = re.compile(r"[\w.@+-]*\*{2,}[\w.@+-]*")


def compact(text: str) -> str:
    """Letters and digits only, folded (NFKC, case) — the form all comparisons here use."""
    return "".join(ch for ch in fold(text).text.casefold() if unicodedata.category(ch)[0] in "LN")


def numbers(text: str) -> set[str]:
    """The numbers written in ``text`` (thousands separators dropped), citation markers and masked
    values left out."""
    plain = _MASKED_VALUE.sub(" ", _MARKER.sub(" ", fold(text).text))
    return {m.group().replace(",", "") for m in _NUMBER.finditer(plain)}


def load_allowed_terms(path: Path | None = None) -> frozenset[str]:
    """Latin-letter terms an answer may use without a passage (``prompts/guard/output_allow.txt``)."""
    path = path or Path(prompts.__file__).resolve().parent / "guard" / "output_allow.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(compact(x) for x in lines if x.strip() and not x.lstrip().startswith("#"))


@dataclass(frozen=True)
class Verdict:
    """``ok``: the text may be shown (as ``text``, personal data masked); else ``reason`` says why not."""

    ok: bool
    text: str
    reason: str = ""


def prompt_public_parts(system_prompt: str) -> tuple[str, ...]:
    """What a system prompt tells the model to say: its quoted phrases and its worked example."""
    quoted = tuple(m.group(1) for m in re.finditer(r"“([^”]{2,80})”", system_prompt))
    _, sep, example = system_prompt.partition("示例")
    return (*quoted, example) if sep else quoted


def _shingles(text: str, n: int = _SHINGLE) -> set[str]:
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def codewords(question: str) -> set[str]:
    """Text the question asks to have said (compact): ``暗号：…``, and quoted spans when the question asks
    for something to be said, echoed or included. (Latin-letter tokens need no list: any Latin term
    that no passage supports fails anyway.)"""
    found = {m.group(1) for m in _CODEWORD_CUE.finditer(question)}
    if _ECHO_CUE.search(question):
        found |= {m.group(1) for m in _QUOTED.finditer(question)}
    return {c for c in (compact(x) for x in found) if len(c) >= 2}


@dataclass(frozen=True)
class PromptFacts:
    """What every answer is checked against, computed once per system prompt (not per answer)."""

    canary: str  # compact
    prompt_shingles: frozenset[str]  # wording of the system prompt that is not public
    public: str  # compact public texts, joined
    public_numbers: frozenset[str]
    allowed_terms: frozenset[str]

    @classmethod
    def build(
        cls,
        system_prompt: str,
        canary: str,
        public: Iterable[str],
        allowed_terms: frozenset[str] = frozenset(),
    ) -> PromptFacts:
        """Args: the system prompt as sent (canary included), the secret canary in it, text the model may
        repeat freely (fixed replies; the prompt's quoted phrases and example), allowed Latin terms."""
        public = tuple(public)
        public_texts = [compact(p) for p in public]
        public_shingles = set().union(*(_shingles(t) for t in public_texts))
        lines = [_LIST_ITEM.sub(" ", line) for text in public for line in text.splitlines()]
        return cls(
            canary=compact(canary),
            prompt_shingles=frozenset(_shingles(compact(system_prompt)) - public_shingles),
            public="\n".join(public_texts),
            public_numbers=frozenset(set().union(*(numbers(line) for line in lines)) if lines else ()),
            allowed_terms=allowed_terms,
        )


class OutputGuard:
    """Checks one LLM answer against what the model was given.

    Args:
        facts: the system prompt's facts (``PromptFacts.build``).
        passages: the numbered passages, in order (passage ``n`` is ``passages[n - 1]``).
        question: the citizen's (masked) question.
        earlier: the citizen's earlier messages the model also saw (codewords may be planted there).
        leak_chars: characters of non-public system-prompt wording that make a sentence a leak.
    """

    def __init__(
        self,
        facts: PromptFacts,
        passages: Sequence[str],
        question: str,
        earlier: Sequence[str] = (),
        leak_chars: int = 24,
    ) -> None:
        self._facts = facts
        self._canary = facts.canary
        self._passages = [compact(p) for p in passages]
        self._passage_numbers = [numbers(p) for p in passages]
        self._public = facts.public
        self._public_numbers = facts.public_numbers
        self._question_numbers = {n for n in numbers(question) if len(n.replace(".", "")) <= 4}
        asked = set().union(*(codewords(text) for text in (question, *earlier)))
        self._codewords = {c for c in asked if not any(c in p for p in self._passages)}
        self._allowed_terms = facts.allowed_terms
        self._leak_chars = leak_chars

    def _supported(self, term: str) -> bool:
        return term in self._allowed_terms or term in self._public or any(term in p for p in self._passages)

    def _leaked_chars(self, text: str) -> int:
        covered = [False] * len(text)
        for i in range(len(text) - _SHINGLE + 1):
            shingle = text[i : i + _SHINGLE]
            if shingle in self._facts.prompt_shingles and not any(shingle in p for p in self._passages):
                covered[i : i + _SHINGLE] = [True] * _SHINGLE
        return sum(covered)

    def _unsupported_numbers(self, sentence: str, allowed: set[str]) -> set[str]:
        body = _LIST_ITEM.sub(" ", sentence)
        return numbers(body) - allowed - self._public_numbers - self._question_numbers

    def check_sentence(self, sentence: str) -> Verdict:
        """The verdict on one sentence (numbers checked against every passage given)."""
        shown = mask_text(sentence)
        sentence = _MASKED_VALUE.sub(" ", shown)  # masked personal data is shown, and checked no further
        text = compact(sentence)
        if self._canary and (self._canary in text or self._canary[-8:] in text):
            return Verdict(False, "", "canary")
        if self._leaked_chars(text) >= self._leak_chars:
            return Verdict(False, "", "system_prompt")
        if any(c in text for c in self._codewords):
            return Verdict(False, "", "codeword")
        for m in _LATIN.finditer(fold(_MARKER.sub(" ", sentence)).text):
            if not self._supported(compact(m.group())):
                return Verdict(False, "", f"unsupported_term:{m.group()[:20]}")
        given = set().union(*self._passage_numbers) if self._passage_numbers else set()
        if self._unsupported_numbers(sentence, given):
            return Verdict(False, "", "number")
        return Verdict(True, shown)

    def check_answer(self, answer: str, cited: Sequence[int]) -> Verdict:
        """The final check on the whole answer: its numbers must occur in the passages it cites."""
        allowed: set[str] = set()
        for n in cited:
            if 1 <= n <= len(self._passage_numbers):
                allowed |= self._passage_numbers[n - 1]
        shown = mask_text(answer)
        lines = _MASKED_VALUE.sub(" ", shown).splitlines() or [""]
        if any(self._unsupported_numbers(line, allowed) for line in lines):
            return Verdict(False, "", "uncited_number")
        return Verdict(True, shown)
