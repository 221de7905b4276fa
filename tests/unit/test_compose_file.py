"""docker-compose.yml, .env.example and the Dockerfile, checked as data (Docker cannot run here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from serving.settings import Settings

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
SERVICES = {"api", "worker", "redis", "postgres", "chroma", "vllm"}
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}; "$$" escapes a literal dollar for the container.
_VAR = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?\-+][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _env_example() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def test_every_service_is_there_with_a_healthcheck(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_dependencies_wait_for_healthy_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    expected = {
        "api": {"postgres", "redis", "chroma", "vllm"},
        "worker": {"postgres", "redis", "chroma"},
    }
    for name, deps in expected.items():
        depends = services[name]["depends_on"]
        assert set(depends) == deps, name
        assert all(spec == {"condition": "service_healthy"} for spec in depends.values()), name


def test_api_and_worker_run_the_right_entry_points(compose: dict[str, Any]) -> None:
    api, worker = compose["services"]["api"], compose["services"]["worker"]
    assert api["command"][:2] == ["govchat", "serve"] and "0.0.0.0" in api["command"]
    assert worker["command"][:4] == ["celery", "-A", "serving.worker", "worker"]
    assert api["image"] == worker["image"] and "build" in api
    # Uploads are saved by the api and read by the worker: they must share the data volume.
    assert any(v.startswith("govchat-data:/data") for v in api["volumes"])
    assert api["volumes"] == worker["volumes"]
    assert [p.split(":")[-1] for p in api["ports"]] == ["8000"]


def test_app_environment_is_wired_for_production(compose: dict[str, Any]) -> None:
    for name in ("api", "worker"):
        env = _env(compose["services"][name])
        assert env["GOVCHAT_ENV"] == "production"
        assert (
            env["GOVCHAT_DB__URL"].startswith("postgresql+psycopg://")
            and "@postgres:5432/" in env["GOVCHAT_DB__URL"]
        )
        assert env["GOVCHAT_REDIS__URL"] == "redis://redis:6379/0"
        assert env["GOVCHAT_RETRIEVAL__CHROMA_URL"] == "http://chroma:8000"
        assert env["GOVCHAT_LLM__BASE_URL"] == "http://vllm:8000/v1"
        assert env["GOVCHAT_AUTH__SECRET_KEY"].startswith("${GOVCHAT_SECRET_KEY:?")  # required
        assert env["GOVCHAT_API__JOBS"] == "celery"


def test_the_wired_environment_is_accepted_by_settings(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    example = _env_example() | {
        k: "s" * 40 for k in ("GOVCHAT_SECRET_KEY", "POSTGRES_PASSWORD", "VLLM_API_KEY")
    }
    for key, value in _env(compose["services"]["api"]).items():
        resolved = _VAR.sub(lambda m: example[m.group(1)], value)
        monkeypatch.setenv(key, resolved)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.env == "production" and settings.api.jobs == "celery"
    assert settings.redis.url and settings.retrieval.chroma_url and settings.llm.base_url


def test_vllm_reserves_a_gpu_and_serves_with_prefix_caching(compose: dict[str, Any]) -> None:
    vllm = compose["services"]["vllm"]
    assert vllm["image"].startswith("vllm/vllm-openai:")
    [device] = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"] and device["count"]
    args = vllm["command"]
    assert "--enable-prefix-caching" in args
    assert args[args.index("--max-model-len") + 1] == "${VLLM_MAX_MODEL_LEN}"
    assert args[args.index("--model") + 1] == "${VLLM_MODEL}"
    assert compose["services"]["chroma"]["image"].startswith("chromadb/chroma:")


def test_every_variable_used_is_documented_in_env_example() -> None:
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    used = set(_VAR.findall(text))
    documented = set(_env_example())
    assert used, "the compose file should take its settings from .env"
    assert used <= documented, f"missing from .env.example: {sorted(used - documented)}"


def test_secrets_are_required_and_never_shipped() -> None:
    example = _env_example()
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    for key in ("GOVCHAT_SECRET_KEY", "POSTGRES_PASSWORD", "VLLM_API_KEY"):
        assert example[key] == "", key
        uses = re.findall(r"\$\{" + key + r"([^}]*)\}", text)
        assert uses and all(u.startswith(":?") for u in uses), key


def test_dockerfile_builds_a_cpu_image_that_serves() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert "download.pytorch.org/whl/cpu" in text and "torch==2.13.0" in text
    assert 'CMD ["govchat", "serve", "--host", "0.0.0.0", "--port", "8000"]' in text
    assert "USER govchat" in text
