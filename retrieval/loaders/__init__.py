"""Document loaders: one module per file format, dispatched by file suffix.

``load_path`` is the one entry point the ingestion pipeline calls; it returns a normalised
``LoadedDocument`` or raises ``LoaderError`` with a message naming the file and the reason.
"""

from __future__ import annotations

from pathlib import Path

from retrieval.loaders import messages
from retrieval.loaders.base import Loader, doc_id_from_stem
from retrieval.loaders.docx import DocxLoader
from retrieval.loaders.guide import GuideLoader
from retrieval.loaders.html import HtmlLoader
from retrieval.loaders.markdown import MarkdownLoader
from retrieval.loaders.pdf import PdfLoader
from retrieval.loaders.text import TextLoader
from retrieval.types import LoadedDocument, LoaderError

__all__ = [
    "SUPPORTED_SUFFIXES",
    "DocxLoader",
    "GuideLoader",
    "HtmlLoader",
    "Loader",
    "LoaderError",
    "MarkdownLoader",
    "PdfLoader",
    "TextLoader",
    "doc_id_from_stem",
    "load_path",
    "loader_for",
]

# The loaders are stateless, so one shared tuple is safe; order only matters for display.
LOADERS: tuple[Loader, ...] = (
    MarkdownLoader(),
    TextLoader(),
    HtmlLoader(),
    PdfLoader(),
    DocxLoader(),
    GuideLoader(),
)
_BY_SUFFIX: dict[str, Loader] = {suffix: loader for loader in LOADERS for suffix in loader.suffixes}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_BY_SUFFIX)


def loader_for(path: Path) -> Loader | None:
    """The loader for ``path``'s suffix (case-insensitive), or ``None`` if unsupported."""
    return _BY_SUFFIX.get(path.suffix.lower())


def load_path(path: Path | str) -> LoadedDocument:
    """Load one file into a ``LoadedDocument``, choosing the loader by suffix.

    Args:
        path: The file; ``metadata["source"]`` records it exactly as given.

    Raises:
        LoaderError: unknown suffix, missing/unreadable file, empty text, invalid YAML or
            guide, non-UTF-8 or binary text, damaged/encrypted/image-only PDF, bad .docx.
    """
    path = Path(path)
    loader = loader_for(path)
    if loader is None:
        supported = " ".join(sorted(SUPPORTED_SUFFIXES))
        raise messages.loader_error(
            path, messages.UNSUPPORTED_SUFFIX.format(suffix=path.suffix or "(none)", supported=supported)
        )
    if not path.is_file():
        raise messages.loader_error(path, messages.NOT_A_FILE)
    return loader.load(path)
