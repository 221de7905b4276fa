"""First stop of every citizen message: length, emptiness, personal data, injection and sensitive screens.

The guard never rewrites the question beyond masking personal data and never truncates: the pipeline gets a
verdict and chooses the reply (a clear "too long" message, a fixed refusal, …). Phrase lists are data in
``prompts/guard`` so reviewers can extend them without touching code:

- ``injection.txt``: prompt-injection and jailbreak phrases,
- ``sensitive.yaml``: ``category: [phrases]`` for requests that get a fixed refusal,
- ``allow.txt``: contexts (reporting, penalties, being a victim) that make a sensitive phrase legitimate.

Matching runs on a normalised copy (NFKC, so full-width letters and digits fold; case-folded; spaces,
punctuation and zero-width characters dropped), which defeats the cheap evasions "忽 略，以上指令" and
"ＩＧＮＯＲＥ previous instructions".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import yaml

import prompts
from assistant.pii import PIIKind, mask_pii

_REGEX_PREFIX = "re:"
_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u2060\ufeff]+")


class GuardConfigError(ValueError):
    """A phrase file is missing or malformed (raised at start-up, never per message)."""


@dataclass(frozen=True)
class _Normalised:
    compact: str  # letters and digits only
    spaced: str  # words separated by single spaces, for whole-word ASCII phrases


def _normalise(text: str) -> _Normalised:
    folded = unicodedata.normalize("NFKC", text).casefold()
    compact = "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")
    spaced = " ".join("".join(ch if unicodedata.category(ch)[0] in "LN" else " " for ch in folded).split())
    return _Normalised(compact=compact, spaced=spaced)


@dataclass(frozen=True)
class PhraseSet:
    """Compiled phrases of one list; ``find`` returns the entry that matched (for the audit log)."""

    compact_phrases: tuple[str, ...] = ()
    word_patterns: tuple[tuple[str, re.Pattern[str]], ...] = ()
    regexes: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str], source: str = "<phrases>") -> PhraseSet:
        """Compile entries written in the phrase-file syntax (see ``prompts/guard/injection.txt``)."""
        compact: list[str] = []
        words: list[tuple[str, re.Pattern[str]]] = []
        regexes: list[re.Pattern[str]] = []
        for n, raw in enumerate(entries, start=1):
            entry = raw.strip()
            if not entry or entry.startswith("#"):
                continue
            if entry.startswith(_REGEX_PREFIX):
                try:
                    regexes.append(re.compile(entry[len(_REGEX_PREFIX) :]))
                except re.error as exc:
                    raise GuardConfigError(f"{source}:{n}: bad regex {entry!r}: {exc}") from exc
                continue
            norm = _normalise(entry)
            if not norm.compact:
                raise GuardConfigError(f"{source}:{n}: phrase {entry!r} has no letters or digits")
            if entry.isascii():
                body = r"\s*".join(re.escape(w) for w in norm.spaced.split())
                words.append((entry, re.compile(rf"(?<![a-z0-9]){body}(?![a-z0-9])")))
            else:
                compact.append(norm.compact)
        return cls(tuple(compact), tuple(words), tuple(regexes))

    def find(self, norm: _Normalised) -> str | None:
        for phrase in self.compact_phrases:
            if phrase in norm.compact:
                return phrase
        for entry, pattern in self.word_patterns:
            if pattern.search(norm.spaced):
                return entry
        for regex in self.regexes:
            if regex.search(norm.compact):
                return regex.pattern
        return None

    def __len__(self) -> int:
        return len(self.compact_phrases) + len(self.word_patterns) + len(self.regexes)


@dataclass(frozen=True)
class GuardPhrases:
    """All phrase lists the guard needs."""

    injection: PhraseSet
    sensitive: Mapping[str, PhraseSet]
    allow: PhraseSet = PhraseSet()


def default_phrase_dir() -> Path:
    """The phrase lists shipped in the ``prompts`` package."""
    return Path(prompts.__file__).resolve().parent / "guard"


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise GuardConfigError(f"cannot read phrase file {path}: {exc}") from exc


def load_guard_phrases(directory: Path | None = None) -> GuardPhrases:
    """Load ``injection.txt``, ``sensitive.yaml`` and (optional) ``allow.txt`` from ``directory``.

    Args:
        directory: folder with the phrase files; default: ``prompts/guard`` of this installation.

    Raises:
        GuardConfigError: a file is missing or malformed, so a broken deployment fails at start-up.
    """
    folder = directory if directory is not None else default_phrase_dir()
    injection_path = folder / "injection.txt"
    injection = PhraseSet.parse(_read_lines(injection_path), str(injection_path))
    sensitive_path = folder / "sensitive.yaml"
    try:
        raw = yaml.safe_load("\n".join(_read_lines(sensitive_path)))
    except yaml.YAMLError as exc:
        raise GuardConfigError(f"{sensitive_path}: invalid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not raw:
        raise GuardConfigError(f"{sensitive_path}: expected a mapping of category -> list of phrases")
    sensitive: dict[str, PhraseSet] = {}
    for category, phrases in raw.items():
        if not isinstance(category, str) or not isinstance(phrases, list):
            raise GuardConfigError(f"{sensitive_path}: category {category!r} must map to a list")
        if not all(isinstance(p, str) for p in phrases):
            raise GuardConfigError(f"{sensitive_path}: category {category!r} has a non-string entry")
        sensitive[category] = PhraseSet.parse(phrases, f"{sensitive_path}[{category}]")
    allow_path = folder / "allow.txt"
    allow = PhraseSet.parse(_read_lines(allow_path), str(allow_path)) if allow_path.exists() else PhraseSet()
    return GuardPhrases(injection=injection, sensitive=MappingProxyType(sensitive), allow=allow)


@dataclass(frozen=True)
class GuardResult:
    """The verdict on one message. ``masked_text`` is the only form that may leave the guard."""

    masked_text: str
    pii_found: tuple[PIIKind, ...]
    length: int
    too_long: bool
    empty: bool
    injection: bool
    sensitive: str | None
    matched: str | None = None  # the phrase that fired, for the audit log

    @property
    def ok(self) -> bool:
        """True when the message may go on to routing and answering."""
        return not (self.empty or self.too_long or self.injection or self.sensitive)


class Guard:
    """Screens citizen messages; pure and cheap, so it runs before anything touches the network."""

    def __init__(self, max_chars: int, phrases: GuardPhrases) -> None:
        if max_chars < 1:
            raise ValueError("max_chars must be positive")
        self._max_chars = max_chars
        self._phrases = phrases

    @classmethod
    def from_directory(cls, max_chars: int, directory: Path | None = None) -> Guard:
        """Build a guard with the phrase lists in ``directory`` (default: the shipped ones)."""
        return cls(max_chars, load_guard_phrases(directory))

    @property
    def max_chars(self) -> int:
        return self._max_chars

    def check(self, text: str) -> GuardResult:
        """Mask personal data and classify ``text``; never raises for any string."""
        masked = mask_pii(text)
        length = len(text.strip())
        norm = _normalise(text)
        injection = self._phrases.injection.find(norm)
        category, hit = self._sensitive(norm)
        return GuardResult(
            masked_text=masked.text,
            pii_found=masked.kinds,
            length=length,
            too_long=length > self._max_chars,
            empty=not _INVISIBLE.sub("", text),
            injection=injection is not None,
            sensitive=category,
            matched=hit or injection,
        )

    def _sensitive(self, norm: _Normalised) -> tuple[str | None, str | None]:
        for category, phrases in self._phrases.sensitive.items():
            hit = phrases.find(norm)
            if hit is not None:
                if self._phrases.allow.find(norm) is not None:
                    return None, None
                return category, hit
        return None, None
