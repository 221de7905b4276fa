"""The one settings object. Read once (environment / .env) by the composition root and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from retrieval.config import RetrievalSettings

DEV_SECRET = "dev-secret-change-me"


class LLMSettings(BaseModel):
    # Empty base_url = no LLM: answers are extractive.
    base_url: str = ""
    model: str = "Qwen/Qwen2.5-7B-Instruct"
    api_key: SecretStr = SecretStr("EMPTY")
    timeout_s: float = Field(default=30.0, gt=0)
    connect_timeout_s: float = Field(default=3.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    temperature: float = Field(default=0.1, ge=0, le=2)
    max_tokens: int = Field(default=768, ge=16)
    context_chars: int = Field(default=12000, ge=1000)
    # One deadline per citizen turn for all its LLM calls: the answer's first token, and the whole turn.
    # Past either, the turn falls back (rules, extractive answer) instead of waiting.
    first_token_s: float = Field(default=3.0, gt=0)
    turn_s: float = Field(default=20.0, gt=0)
    # Circuit breaker: this many failed LLM calls in a row stop calling it for breaker_reset_s.
    breaker_failures: int = Field(default=3, ge=1)
    breaker_reset_s: float = Field(default=30.0, gt=0)


class RedisSettings(BaseModel):
    # Empty url = in-process sessions, rate limits and jobs (single-process embedded default).
    url: str = ""
    session_ttl_s: int = Field(default=7200, ge=60)
    history_turns: int = Field(default=12, ge=1)


class DBSettings(BaseModel):
    # Empty = SQLite under the data dir.
    url: str = ""


class AuthSettings(BaseModel):
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    # Key for encrypting ID and phone numbers at rest (Fernet, urlsafe base64); derived from secret_key if empty.
    data_key: SecretStr = SecretStr("")
    cors_origins: list[str] = Field(default_factory=list)


class HandoffSettings(BaseModel):
    h5_url_template: str = "https://zwfw.hubei.gov.cn/ehb/item?code={item_code}&token={token}"
    miniprogram_path_template: str = "pages/item/index?code={item_code}&token={token}"
    token_ttl_s: int = Field(default=86400, ge=60)
    platform_url: str = ""  # provincial platform API; empty = not configured
    platform_app_id: str = "govchat"
    platform_secret: SecretStr = SecretStr("")
    ticket_url: str = ""  # 12345 ticket endpoint; empty = stored as a case of type 12345


class ApiSettings(BaseModel):
    """HTTP-layer limits and wiring (``GOVCHAT_API__...``)."""

    # JSON bodies; uploads have their own limit. Oversized requests get 413 before they are read.
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    upload_suffixes: list[str] = Field(
        default_factory=lambda: [
            ".md",
            ".markdown",
            ".txt",
            ".html",
            ".htm",
            ".pdf",
            ".docx",
            ".yaml",
            ".yml",
        ]
    )
    # Fixed-window rate limits (requests per window); Redis-backed when redis.url is set.
    rate_window_s: int = Field(default=60, ge=1)
    rate_per_ip: int = Field(default=120, ge=1)
    rate_per_session: int = Field(default=30, ge=1)
    rate_login_per_ip: int = Field(default=10, ge=1)
    # Failed logins per account (any IP) before that account must wait out the window.
    login_failures_per_account: int = Field(default=5, ge=1)
    login_backoff_s: int = Field(default=300, ge=1)
    # Wrong case verification codes per client IP per window (each case also throttles itself).
    case_code_failures_per_ip: int = Field(default=20, ge=1)
    case_code_window_s: int = Field(default=900, ge=1)
    # /metrics in production: this bearer token or an admin credential (empty: admins only).
    metrics_token: SecretStr = SecretStr("")
    rate_key_prefix: str = "govchat:rl:"
    # Honour X-Forwarded-For (only behind a trusted reverse proxy).
    trust_proxy: bool = False
    # "inprocess": a thread in the API process (embedded default); "celery": Celery workers on Redis.
    jobs: str = Field(default="inprocess", pattern="^(inprocess|celery)$")
    celery_broker_url: str = ""  # empty = redis.url
    staff_session_ttl_s: int = Field(default=8 * 3600, ge=60)
    token_ttl_s: int = Field(default=24 * 3600, ge=60)
    # Secure cookies; None = on in production only.
    cookie_secure: bool | None = None
    # Load the shipped sample knowledge base when the KB is empty at start-up.
    sample_if_empty: bool = True
    eval_dir: Path = Path("./eval-reports")
    # Bounds for parsing one uploaded file (a killable worker process; see serving/parsing.py).
    parse_timeout_s: float = Field(default=60.0, gt=0)
    parse_memory_mb: int = Field(default=2048, ge=256)
    parse_max_uncompressed_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    parse_max_paragraphs: int = Field(default=50_000, ge=10)
    parse_max_pages: int = Field(default=2_000, ge=1)
    events_poll_s: float = Field(default=1.0, gt=0)
    sse_ping_s: float = Field(default=15.0, ge=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GOVCHAT_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    env: str = Field(default="development", pattern="^(development|test|production)$")
    data_dir: Path = Path("./data")
    log_level: str = "INFO"
    max_question_chars: int = Field(default=500, ge=10)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    db: DBSettings = Field(default_factory=DBSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    handoff: HandoffSettings = Field(default_factory=HandoffSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.env == "production" and self.auth.secret_key.get_secret_value() == DEV_SECRET:
            raise ValueError("GOVCHAT_AUTH__SECRET_KEY must be set to a real secret in production")
        return self

    @property
    def database_url(self) -> str:
        return self.db.url or f"sqlite:///{(self.data_dir / 'govchat.sqlite3').resolve()}"
