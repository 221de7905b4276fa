"""Composition root: builds every long-lived service once, for the API and the CLI alike."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from assistant.audit import AuditLog
from assistant.consult import ConsultAnswerer
from assistant.guard import Guard
from assistant.handoffs import HandoffService
from assistant.items import ItemMatcher
from assistant.llm.base import ChatModel
from assistant.memory.base import SessionStore
from assistant.nlu.model import load_or_train
from assistant.nlu.understand import Understander
from assistant.pipeline import Assistant
from assistant.prompt_store import PromptStore
from assistant.router import RuleRouter
from connectors.catalog_loader import load_catalog, load_guides
from connectors.flow import FlowEngine
from connectors.handoff.base import HandoffConnector
from connectors.handoff.casework import CaseworkConnector
from connectors.handoff.deeplink import DeepLinkConnector
from connectors.handoff.ticket12345 import Ticket12345Connector
from connectors.pii import fernet_key
from connectors.store import CaseRepository
from connectors.store import create_tables as create_case_tables
from retrieval.factory import SAMPLE_KB_DIR, build_knowledge_base
from retrieval.guide import ServiceGuide
from retrieval.knowledge_base import KnowledgeBase
from serving.settings import Settings

log = logging.getLogger(__name__)


def make_engine(url: str) -> Engine:
    """SQLite gets WAL and a busy timeout so the API and an ingest job can share the file."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    kb: KnowledgeBase
    assistant: Assistant
    cases: CaseRepository
    audit: AuditLog
    llm: ChatModel | None = None
    # The 一件事 service guides by id (the API's item catalog shows their audience).
    guides: dict[str, ServiceGuide] = field(default_factory=dict)

    async def aclose(self) -> None:
        close = getattr(self.llm, "aclose", None)
        if close is not None:
            await close()
        sessions_close = getattr(self.assistant.sessions, "aclose", None)
        if sessions_close is not None:
            await sessions_close()
        self.engine.dispose()

    def close(self) -> None:
        self.engine.dispose()


def build_sessions(settings: Settings, *, persistent_files: bool = False) -> SessionStore:
    """Redis (with an in-memory fallback that says it is degraded) when configured; else in-process,
    or files under the data dir for one-process-per-call use such as `govchat ask --session`."""
    from assistant.memory.memory_store import InMemorySessionStore

    ttl, turns = settings.redis.session_ttl_s, settings.redis.history_turns * 2
    if settings.redis.url:
        from assistant.memory.redis_store import RedisSessionStore
        from assistant.memory.resilient import ResilientSessionStore

        return ResilientSessionStore(
            RedisSessionStore(settings.redis.url, ttl_s=ttl, max_turns=turns),
            InMemorySessionStore(ttl, turns),
        )
    if persistent_files:
        from assistant.memory.file_store import FileSessionStore

        return FileSessionStore(settings.data_dir / "sessions", ttl, turns)
    return InMemorySessionStore(ttl, turns)


def resilient_llm(model: ChatModel, settings: Settings) -> ChatModel:
    """The model as the assistant uses it: masked, on the turn's deadline, behind a circuit breaker."""
    from assistant.llm.resilient import ResilientChatModel
    from connectors.resilience import CircuitBreaker

    cfg = settings.llm
    breaker = CircuitBreaker(
        failure_threshold=cfg.breaker_failures, reset_timeout_s=cfg.breaker_reset_s, name="LLM"
    )
    return ResilientChatModel(model, first_token_s=cfg.first_token_s, turn_s=cfg.turn_s, breaker=breaker)


def build_llm(settings: Settings) -> ChatModel | None:
    if not settings.llm.base_url:
        return None
    from assistant.llm.openai_compat import OpenAICompatChatModel

    cfg = settings.llm
    return OpenAICompatChatModel(
        base_url=cfg.base_url,
        model=cfg.model,
        api_key=cfg.api_key.get_secret_value(),
        timeout_s=cfg.timeout_s,
        connect_timeout_s=cfg.connect_timeout_s,
        max_retries=cfg.max_retries,
    )


def synonyms_override(settings: Settings) -> Settings:
    """Admins edit synonyms into ``data_dir/synonyms.yaml`` (PUT /api/admin/synonyms); that copy wins
    over the shipped file on the next start unless a path was configured explicitly."""
    edited = settings.data_dir / "synonyms.yaml"
    if settings.retrieval.synonyms_path or not edited.is_file():
        return settings
    retrieval = settings.retrieval.model_copy(update={"synonyms_path": str(edited)})
    return settings.model_copy(update={"retrieval": retrieval})


def _sync_schema(engine: Engine) -> None:
    """All packages' tables exist and carry every current column before anything reads them."""
    from assistant.audit import AssistantBase
    from connectors.store import ConnectorsBase
    from retrieval.registry import RetrievalBase
    from serving.db import ServingBase, create_tables
    from serving.schema import sync_schema

    create_tables(engine)  # registers the serving tables on ServingBase.metadata
    sync_schema(
        engine,
        [RetrievalBase.metadata, AssistantBase.metadata, ConnectorsBase.metadata, ServingBase.metadata],
    )


def catalog_terms(items: ItemMatcher, guides: Mapping[str, ServiceGuide]) -> dict[str, list[str]]:
    """Training rows the catalog gives the item model: names, aliases, keywords, bundled services."""
    terms = items.terms()
    for gid, guide in guides.items():
        terms.setdefault(gid, [])
        terms[gid] += [re.sub(r"（[^）]*）", "", b) for b in guide.bundled_items]
    return terms


def build_understander(
    settings: Settings, items: ItemMatcher, guides: Mapping[str, ServiceGuide]
) -> Understander:
    """The trained NLU: loaded from the data dir when it matches the corpus and catalog, else trained."""
    terms = catalog_terms(items, guides)
    understander = Understander(load_or_train(nlu_model_path(settings), terms), items, catalog_terms=terms)
    understander.understand("你好，我想咨询一下办事材料")  # warm-up: jieba, pinyin and the pipelines load now
    return understander


def nlu_model_path(settings: Settings) -> Path:
    return settings.data_dir / "nlu" / "model.joblib"


def build_services(
    settings: Settings, *, llm: ChatModel | None = None, persistent_sessions: bool = False
) -> Services:
    """Everything the app needs, built once. ``llm`` overrides the configured one (tests)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings = synonyms_override(settings)
    engine = make_engine(settings.database_url)
    _sync_schema(engine)
    kb = build_knowledge_base(settings.retrieval, settings.data_dir, engine)
    prompts = PromptStore()
    guides = load_guides(SAMPLE_KB_DIR / "guides")
    catalog = load_catalog(None, guides)
    flows = FlowEngine(catalog, guides)
    items = ItemMatcher.from_catalog(guides, catalog.values(), kb.synonyms.variants)
    nlu = build_understander(settings, items, guides)
    secret = settings.auth.secret_key.get_secret_value()
    create_case_tables(engine)
    cases = CaseRepository(engine, fernet_key(settings.auth.data_key.get_secret_value(), secret))
    audit = AuditLog(engine)
    audit.create_tables()
    h = settings.handoff
    connectors: dict[str, HandoffConnector] = {
        "online_link": DeepLinkConnector(
            secret=secret,
            h5_url_template=h.h5_url_template,
            miniprogram_path_template=h.miniprogram_path_template,
            token_ttl_s=h.token_ttl_s,
        ),
        "caseworker": CaseworkConnector(cases),
        "ticket_12345": Ticket12345Connector(cases, endpoint_url=h.ticket_url),
    }
    if h.platform_url:
        from connectors.handoff.platform import PlatformConnector
        from connectors.handoff.platform_client import PlatformClient

        client = PlatformClient(
            base_url=h.platform_url, app_id=h.platform_app_id, secret=h.platform_secret.get_secret_value()
        )
        connectors["platform"] = PlatformConnector(client, cases)
    model = llm if llm is not None else build_llm(settings)
    if model is not None:
        model = resilient_llm(model, settings)
    extractor = None
    if model is not None:
        from assistant.llm.dict_messages import DictMessagesModel
        from connectors.slots import LLMSlotExtractor

        extractor = LLMSlotExtractor(DictMessagesModel(model))
    consult = ConsultAnswerer(
        kb,
        prompts,
        items,
        model,
        temperature=settings.llm.temperature,
        max_tokens=settings.llm.max_tokens,
        context_chars=settings.llm.context_chars,
    )
    assistant = Assistant(
        guard=Guard.from_directory(settings.max_question_chars),
        sessions=build_sessions(settings, persistent_files=persistent_sessions),
        prompts=prompts,
        router=RuleRouter(prompts.router, items),
        consult=consult,
        audit=audit,
        nlu=nlu,
        flows=flows,
        handoffs=HandoffService(connectors),
        cases=cases,
        llm=model,
        slot_extractor=extractor,
    )
    return Services(
        settings=settings,
        engine=engine,
        kb=kb,
        assistant=assistant,
        cases=cases,
        audit=audit,
        llm=model,
        guides=dict(guides),
    )
