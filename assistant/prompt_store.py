"""Loads prompts and fixed replies from the `prompts/` data folder, by name, with their versions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import prompts

PROMPTS_DIR = Path(prompts.__file__).resolve().parent


class PromptError(ValueError):
    """A prompt file is missing or malformed; raised at start-up, naming the file."""


@dataclass(frozen=True)
class Template:
    name: str
    version: str
    text: str


class PromptStore:
    def __init__(self, directory: Path = PROMPTS_DIR) -> None:
        self._dir = directory
        replies = self._yaml("replies.yaml")
        self.replies_version: str = str(replies.get("version", "unversioned"))
        self._replies: dict[str, str] = dict(replies.get("replies") or {})
        self.router: dict[str, Any] = self._yaml("router.yaml")
        self._templates = {
            name: self._template(name) for name in ("answer_system", "route_system", "condense_system")
        }

    def _yaml(self, name: str) -> dict[str, Any]:
        path = self._dir / name
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise PromptError(f"{path}: {exc}") from exc
        if not isinstance(data, dict):
            raise PromptError(f"{path}: expected a mapping")
        return data

    def _template(self, name: str) -> Template:
        path = self._dir / f"{name}.md"
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PromptError(f"{path}: {exc}") from exc
        version = "unversioned"
        if raw.startswith("---\n"):
            head, _, raw = raw[4:].partition("\n---\n")
            meta = yaml.safe_load(head) or {}
            version = str(meta.get("version", version))
        return Template(name, version, raw.strip() + "\n")

    def reply(self, name: str, **values: object) -> str:
        try:
            text = self._replies[name]
        except KeyError as exc:
            raise PromptError(f"replies.yaml has no reply named {name!r}") from exc
        return text.format(**values) if values else text

    def reply_texts(self) -> tuple[str, ...]:
        """Every fixed reply's text (placeholders left in): public wording anyone may repeat."""
        return tuple(self._replies.values())

    def template(self, name: str) -> Template:
        return self._templates[name]

    @property
    def version(self) -> str:
        """One string naming every prompt version in use, stored with each audit record."""
        parts = [self.replies_version, *(t.version for t in self._templates.values())]
        return "+".join(parts)
