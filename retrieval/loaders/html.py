"""HTML loader: keep the article, drop the page furniture (menus, headers, footers, scripts).

Government web pages wrap a short notice in a lot of navigation, site headers, "related
links" and copyright footers; indexing those would make every page match every query about
the site. The main text is taken from ``<article>``/``<main>`` when the page marks it, and
otherwise from the container that holds the most non-link paragraph text (a small
readability-style score), which is where gov.cn-style CMS pages put the body.
"""

from __future__ import annotations

import re
import warnings
from datetime import date
from pathlib import Path

from bs4 import BeautifulSoup
from bs4.element import Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

from retrieval.loaders import messages
from retrieval.loaders.base import plain_document, read_bytes
from retrieval.loaders.structure import Line, build_blocks
from retrieval.normalize import normalize_text
from retrieval.types import LoadedDocument, MetaValue

_NOISE_TAGS = (
    "script", "style", "noscript", "template", "iframe", "svg", "canvas", "nav", "header",
    "footer", "aside", "form", "button", "select", "input", "textarea", "object", "embed",
)  # fmt: skip
_NOISE_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"}
_NOISE_TOKENS = {
    "nav", "navbar", "navigation", "menu", "footer", "breadcrumb", "breadcrumbs", "crumb",
    "sidebar", "share", "copyright", "toolbar", "pagination", "pager",
}  # fmt: skip
_TOKEN_SPLIT = re.compile(r"[\s_-]+")
_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "li", "ul", "ol", "table", "tr", "blockquote",
    "dd", "dt", "dl", "figure", "figcaption", "hr", "address", "center", "tbody", "thead",
}  # fmt: skip
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_SKIP_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction)
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_WRAP = re.compile(f"(?<=[{_HAN}，。；：、？！“”（）])\\s*\\n\\s*(?=[{_HAN}，。；：、？！“”（）])")
_WS = re.compile(r"\s+")
_TITLE_SEPARATORS = re.compile(r"\s*(?:_|\||｜| - | — |--)\s*")


def _is_noise(tag: Tag) -> bool:
    if tag.name in _NOISE_TAGS:
        return True
    if str(tag.get("role") or "").lower() in _NOISE_ROLES:
        return True
    classes = tag.get("class")
    names: list[str] = [str(c) for c in (classes if isinstance(classes, list) else [classes or ""])]
    names.append(str(tag.get("id") or ""))
    tokens = {t for name in names for t in _TOKEN_SPLIT.split(str(name).lower()) if t}
    return bool(tokens & _NOISE_TOKENS)


def _strip_noise(soup: BeautifulSoup) -> None:
    for tag in [t for t in soup.find_all(True) if isinstance(t, Tag) and _is_noise(t)]:
        if not tag.decomposed:
            tag.decompose()


def _own_text_len(tag: Tag) -> int:
    """Characters of text in ``tag`` that are not link text (links are navigation, mostly)."""
    total = len(_WS.sub("", tag.get_text()))
    links = sum(len(_WS.sub("", a.get_text())) for a in tag.find_all("a"))
    return max(total - links, 0)


def _densest(soup: BeautifulSoup) -> Tag | None:
    """The element whose paragraphs carry the most non-link text (children count fully,
    grandchildren half), so a body split over many ``<p>`` beats a link-heavy sidebar."""
    scores: dict[int, float] = {}
    tags: dict[int, Tag] = {}
    for el in soup.find_all(["p", "pre", "td", "blockquote", "div", "span", "font"]):
        if not isinstance(el, Tag):
            continue
        if el.name in ("div", "span", "font"):
            own = sum(len(s.strip()) for s in el.find_all(string=True, recursive=False))
            if own < 20:
                continue
            targets: tuple[tuple[Tag | None, float], ...] = ((el, 1.0), (el.parent, 0.5))
        else:
            own = _own_text_len(el)
            if own < 10:
                continue
            targets = ((el.parent, 1.0), (el.parent.parent if el.parent else None, 0.5))
        for target, weight in targets:
            if isinstance(target, Tag):
                scores[id(target)] = scores.get(id(target), 0.0) + own * weight
                tags[id(target)] = target
    if not scores:
        return None
    best = max(scores, key=lambda k: scores[k])  # first maximum in document order
    return tags[best]


def _main_container(soup: BeautifulSoup) -> Tag | BeautifulSoup:
    articles = [a for a in soup.find_all("article") if isinstance(a, Tag)]
    if articles:
        return max(articles, key=_own_text_len)
    for candidate in (soup.find("main"), soup.find(True, attrs={"role": "main"})):
        if isinstance(candidate, Tag) and _own_text_len(candidate) > 0:
            return candidate
    return _densest(soup) or soup.body or soup


def _clean(text: str) -> str:
    return _WS.sub(" ", _HAN_WRAP.sub("", text)).strip()


def html_lines(container: Tag | BeautifulSoup) -> list[Line]:
    """Block-level elements become lines; inline markup (spans, links, bold) stays inline."""
    lines: list[Line] = []
    buf: list[str] = []

    def flush() -> None:
        text = _clean("".join(buf))
        buf.clear()
        if text:
            lines.append(Line(text))

    def walk(node: Tag | BeautifulSoup) -> None:
        for child in node.children:
            if isinstance(child, _SKIP_STRINGS):
                continue
            if isinstance(child, NavigableString):
                buf.append(str(child))
            elif isinstance(child, Tag):
                if child.name in _HEADINGS:
                    flush()
                    lines.append(Line(_clean(child.get_text(" ")), _HEADINGS[child.name]))
                elif child.name == "br":
                    flush()
                elif child.name == "pre":
                    flush()
                    lines.extend(Line(line) for line in child.get_text().split("\n"))
                elif child.name in ("td", "th"):
                    walk(child)
                    buf.append(" ")
                elif child.name in _BLOCK_TAGS:
                    flush()
                    walk(child)
                    flush()
                else:
                    walk(child)

    walk(container)
    flush()
    return lines


def _marked_title(soup: BeautifulSoup) -> Tag | None:
    """An ``<h1>`` inside ``<article>``/``<main>``, looked up before the page furniture is
    removed, because HTML5 pages put it in the article's own ``<header>``."""
    for marked in soup.find_all(["article", "main"]):
        h1 = marked.find("h1") if isinstance(marked, Tag) else None
        if isinstance(h1, Tag) and h1.get_text(strip=True):
            return h1
    return None


def _title(soup: BeautifulSoup, container: Tag | BeautifulSoup, marked: str | None) -> str | None:
    if marked:
        return marked
    for h1 in (container.find("h1"), soup.find("h1")):
        if isinstance(h1, Tag):
            text = normalize_text(_clean(h1.get_text(" ")))
            if text:
                return text
    if soup.title and soup.title.string:
        parts = [p for p in _TITLE_SEPARATORS.split(_clean(soup.title.string)) if p]
        if parts:
            return normalize_text(parts[0])
    return None


def _meta(soup: BeautifulSoup) -> dict[str, MetaValue]:
    """Publishing metadata that Chinese government CMSs put into ``<meta>`` tags."""
    out: dict[str, MetaValue] = {}
    for tag in soup.find_all("meta"):
        if not isinstance(tag, Tag):
            continue
        name = str(tag.get("name") or "").lower()
        content = normalize_text(str(tag.get("content") or ""))
        if not content:
            continue
        if name in ("pubdate", "publishdate", "firstpublishedtime") and "published" not in out:
            try:
                out["published"] = date.fromisoformat(content[:10]).isoformat()
            except ValueError:
                continue
        elif name == "contentsource" and "issuer" not in out:
            out["issuer"] = content
    return out


class HtmlLoader:
    """Saved web pages (``.html``/``.htm``); the charset comes from the page's own declaration."""

    suffixes: tuple[str, ...] = (".html", ".htm")

    def load(self, path: Path) -> LoadedDocument:
        data = read_bytes(path)
        if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise messages.loader_error(path, messages.BINARY)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                soup = BeautifulSoup(data, "lxml")
            marked = _marked_title(soup)
            marked_text = normalize_text(_clean(marked.get_text(" "))) if marked is not None else None
            _strip_noise(soup)
            container = _main_container(soup)
            title = _title(soup, container, marked_text)
            title, blocks = build_blocks(html_lines(container), title=title, joiner="\n\n")
        except RecursionError as exc:
            raise messages.loader_error(
                path, messages.HTML_UNREADABLE.format(error="nesting too deep")
            ) from exc
        return plain_document(path, title, blocks, extra=_meta(soup), empty_message=messages.EMPTY)
