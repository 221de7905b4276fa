"""Service-guide loader: a ``ServiceGuide`` YAML becomes one block per field group.

Each field group (申请材料, 办理流程, ...) is its own block so a question about materials
retrieves the whole, verbatim list; lists whose items only make sense together (materials,
conditions, steps) are marked ``keep_whole`` so the chunker does not cut them apart.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from retrieval.guide import ServiceGuide
from retrieval.loaders import messages
from retrieval.loaders.base import finish_metadata, load_yaml, read_utf8
from retrieval.normalize import normalize_text
from retrieval.types import Block, LoadedDocument, MetaValue

KEEP_WHOLE_FIELDS = frozenset({"materials", "conditions", "steps"})
GUIDE_DOC_TYPE = "guide"


def _validation_summary(exc: ValidationError, limit: int = 5) -> str:
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f"; …(+{more})" if more > 0 else "")


def parse_guide(path: Path) -> ServiceGuide:
    """Read and validate a guide YAML; every failure is a ``LoaderError`` naming the file."""
    text = read_utf8(path)
    data = load_yaml(path, text)
    if not isinstance(data, dict):
        raise messages.loader_error(path, messages.NOT_A_MAPPING)
    try:
        return ServiceGuide.model_validate(data)
    except ValidationError as exc:
        raise messages.loader_error(
            path, messages.INVALID_GUIDE.format(error=_validation_summary(exc))
        ) from exc


def guide_metadata(guide: ServiceGuide) -> dict[str, MetaValue]:
    """Filterable facts about the guide; every value is a scalar (dates as ISO strings)."""
    meta: dict[str, MetaValue] = {
        "title": normalize_text(guide.name),
        "item_name": normalize_text(guide.name),
        "audience": guide.audience,
        "region": normalize_text(guide.region),
        "status": guide.status,
        "handling_type": guide.handling_type,
        "sample": guide.sample,
    }
    if guide.item_code:
        meta["item_code"] = guide.item_code
    if guide.aliases:
        meta["aliases"] = "、".join(normalize_text(a) for a in guide.aliases)
    if guide.effective_from is not None:
        meta["effective_from"] = guide.effective_from.isoformat()
    if guide.valid_until is not None:
        meta["valid_until"] = guide.valid_until.isoformat()
    return meta


def guide_to_document(guide: ServiceGuide, source: Path) -> LoadedDocument:
    """The guide as a document: title = guide name, one block per non-empty field group."""
    blocks = tuple(
        Block(section=title, text=normalize_text(text), keep_whole=field in KEEP_WHOLE_FIELDS)
        for field, title, text in guide.sections()
        if normalize_text(text)
    )
    if not blocks:
        raise messages.loader_error(source, messages.EMPTY)
    return LoadedDocument(
        doc_id=guide.id,
        title=normalize_text(guide.name),
        doc_type=GUIDE_DOC_TYPE,
        source=str(source),
        blocks=blocks,
        metadata=finish_metadata(source, guide_metadata(guide), doc_type=GUIDE_DOC_TYPE),
    )


class GuideLoader:
    """``.yaml``/``.yml`` files holding one ``ServiceGuide`` (the 一件事 办事指南)."""

    suffixes: tuple[str, ...] = (".yaml", ".yml")

    def load(self, path: Path) -> LoadedDocument:
        return guide_to_document(parse_guide(path), path)
