"""Worker settings read from the environment (names in `workers.contract.Env`), in one place.

Unknown backend names fail at start with the valid choices, not at the first document.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from workers.contract import DEFAULT_BUILD_ID, DEFAULT_QUEUE_PREFIX, DEFAULT_STACK, Env, deployment_name

EXTRACTION_BACKENDS = ("local", "unstructured-api")
ANALYSIS_BACKENDS = ("heuristic", "strands")
MODEL_PROVIDERS = ("bedrock", "anthropic", "openai", "ollama")
ENRICHMENT_BACKENDS = ("local-sandbox", "e2b")
PROMOTE_POLICIES = ("always", "if-unset", "never")


class SettingsError(ValueError):
    pass


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = env.get(name) or choices[0]
    if value not in choices:
        raise SettingsError(f"{name}={value!r} is not one of: {', '.join(choices)}")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None


def _timeouts(raw: str | None) -> dict[str, float]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
        return {str(k): float(v) for k, v in data.items() if float(v) > 0}
    except (ValueError, AttributeError, TypeError):
        raise SettingsError(
            f"{Env.STAGE_TIMEOUTS} must be a JSON object of stage → seconds, got {raw!r}"
        ) from None


@dataclass(frozen=True)
class Settings:
    stack: str = DEFAULT_STACK
    queue_prefix: str = DEFAULT_QUEUE_PREFIX
    build_id: str = DEFAULT_BUILD_ID
    deployment_name_override: str | None = None
    shutdown_grace_seconds: float = 30.0
    promote_version: str = "always"

    extraction_backend: str = "local"
    unstructured_api_url: str = "https://api.unstructuredapp.io"
    unstructured_api_key: str | None = None
    unstructured_strategy: str = "fast"
    unstructured_split_pdf_page: bool = True

    analysis_backend: str = "heuristic"
    model_provider: str = "bedrock"
    model_id: str | None = None
    ollama_host: str = "http://localhost:11434"
    max_concurrent_model_calls: int = 4

    enrichment_backend: str = "local-sandbox"
    enrichment_timeout_seconds: float = 120.0
    sandbox_cpu_seconds: int = 10
    sandbox_memory_mb: int = 512
    sandbox_output_bytes: int = 1_000_000
    max_concurrent_sandboxes: int = 4

    database_url: str | None = None
    database_secret_arn: str | None = None
    database_host: str | None = None
    database_name: str = "docpipe"
    valkey_url: str | None = None
    valkey_password: str | None = None

    bucket: str | None = None
    payload_dir: str | None = None
    payload_threshold_bytes: int = 128 * 1024
    stage_timeouts: dict[str, float] = field(default_factory=dict)

    def deployment_name(self, role: str) -> str:
        return self.deployment_name_override or deployment_name(self.stack, role)

    def task_queue(self, role: str) -> str:
        return f"{self.queue_prefix}-{role}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        return cls(
            stack=e.get(Env.STACK) or DEFAULT_STACK,
            queue_prefix=e.get(Env.QUEUE_PREFIX) or DEFAULT_QUEUE_PREFIX,
            build_id=e.get(Env.BUILD_ID) or DEFAULT_BUILD_ID,
            deployment_name_override=e.get(Env.DEPLOYMENT_NAME) or None,
            shutdown_grace_seconds=_number(e, Env.SHUTDOWN_GRACE_SECONDS, 30.0),
            promote_version=_choice(e, Env.PROMOTE_VERSION, PROMOTE_POLICIES),
            extraction_backend=_choice(e, Env.EXTRACTION_BACKEND, EXTRACTION_BACKENDS),
            unstructured_api_url=e.get(Env.UNSTRUCTURED_API_URL) or "https://api.unstructuredapp.io",
            unstructured_api_key=e.get(Env.UNSTRUCTURED_API_KEY) or None,
            unstructured_strategy=e.get(Env.UNSTRUCTURED_STRATEGY) or "fast",
            unstructured_split_pdf_page=(e.get(Env.UNSTRUCTURED_SPLIT_PDF_PAGE) or "true").lower()
            not in {"0", "false", "no"},
            analysis_backend=_choice(e, Env.ANALYSIS_BACKEND, ANALYSIS_BACKENDS),
            model_provider=_choice(e, Env.MODEL_PROVIDER, MODEL_PROVIDERS),
            model_id=e.get(Env.MODEL_ID) or None,
            ollama_host=e.get(Env.OLLAMA_HOST) or "http://localhost:11434",
            max_concurrent_model_calls=int(_number(e, Env.MAX_CONCURRENT_MODEL_CALLS, 4)),
            enrichment_backend=_choice(e, Env.ENRICHMENT_BACKEND, ENRICHMENT_BACKENDS),
            enrichment_timeout_seconds=_number(e, Env.ENRICHMENT_TIMEOUT_SECONDS, 120.0),
            sandbox_cpu_seconds=int(_number(e, Env.SANDBOX_CPU_SECONDS, 10)),
            sandbox_memory_mb=int(_number(e, Env.SANDBOX_MEMORY_MB, 512)),
            sandbox_output_bytes=int(_number(e, Env.SANDBOX_OUTPUT_BYTES, 1_000_000)),
            max_concurrent_sandboxes=int(_number(e, Env.MAX_CONCURRENT_SANDBOXES, 4)),
            database_url=e.get(Env.DATABASE_URL) or None,
            database_secret_arn=e.get(Env.DATABASE_SECRET_ARN) or None,
            database_host=e.get(Env.DATABASE_HOST) or None,
            database_name=e.get(Env.DATABASE_NAME) or "docpipe",
            valkey_url=e.get(Env.VALKEY_URL) or None,
            valkey_password=e.get(Env.VALKEY_PASSWORD) or None,
            bucket=e.get(Env.BUCKET) or None,
            payload_dir=e.get(Env.PAYLOAD_DIR) or None,
            payload_threshold_bytes=int(_number(e, Env.PAYLOAD_THRESHOLD_BYTES, 128 * 1024)),
            stage_timeouts=_timeouts(e.get(Env.STAGE_TIMEOUTS)),
        )
