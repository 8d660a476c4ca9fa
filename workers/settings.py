"""Worker settings: exactly the environment `docpipe.worker_env` builds, read by pydantic-settings.

Each field's alias is its variable (`workers.contract.Env`), and each default is declared here once:
the stack config's backend defaults (`docpipe.config`) are these. Unknown backend names fail at start
with the valid choices, not at the first document; an empty variable counts as unset.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workers.contract import (
    DEFAULT_BUILD_ID,
    DEFAULT_QUEUE_PREFIX,
    DEFAULT_STACK,
    DEFAULT_UPLOAD_PREFIX,
    Env,
    deployment_name,
)

ExtractionBackendName = Literal["local", "unstructured-api"]
AnalysisBackendName = Literal["heuristic", "strands"]
ModelProviderName = Literal["bedrock", "anthropic", "openai", "ollama"]
EnrichmentBackendName = Literal["local-sandbox", "e2b"]
PromotePolicy = Literal["always", "if-unset", "never"]
UnstructuredStrategy = Literal["auto", "fast", "hi_res", "ocr_only"]
EXTRACTION_BACKENDS: tuple[str, ...] = get_args(ExtractionBackendName)
ANALYSIS_BACKENDS: tuple[str, ...] = get_args(AnalysisBackendName)
MODEL_PROVIDERS: tuple[str, ...] = get_args(ModelProviderName)
ENRICHMENT_BACKENDS: tuple[str, ...] = get_args(EnrichmentBackendName)
PROMOTE_POLICIES: tuple[str, ...] = get_args(PromotePolicy)


class SettingsError(ValueError):
    pass


def _env(name: str) -> Any:
    """A field read from `name` (and settable by its field name in code and tests)."""
    return Field(validation_alias=AliasChoices(name))


class Settings(BaseSettings):
    """A worker's settings. `Settings()` reads the process environment; `from_env(mapping)` a mapping."""

    model_config = SettingsConfigDict(
        frozen=True,
        populate_by_name=True,
        case_sensitive=True,
        env_ignore_empty=True,
        extra="ignore",
    )

    stack: Annotated[str, _env(Env.STACK)] = DEFAULT_STACK
    queue_prefix: Annotated[str, _env(Env.QUEUE_PREFIX)] = DEFAULT_QUEUE_PREFIX
    build_id: Annotated[str, _env(Env.BUILD_ID)] = DEFAULT_BUILD_ID
    deployment_name_override: Annotated[str | None, _env(Env.DEPLOYMENT_NAME)] = None
    shutdown_grace_seconds: Annotated[float, _env(Env.SHUTDOWN_GRACE_SECONDS)] = 30.0
    promote_version: Annotated[PromotePolicy, _env(Env.PROMOTE_VERSION)] = "always"

    extraction_backend: Annotated[ExtractionBackendName, _env(Env.EXTRACTION_BACKEND)] = "local"
    unstructured_api_url: Annotated[str, _env(Env.UNSTRUCTURED_API_URL)] = "https://api.unstructuredapp.io"
    unstructured_api_key: Annotated[str | None, _env(Env.UNSTRUCTURED_API_KEY)] = Field(None, repr=False)
    unstructured_strategy: Annotated[UnstructuredStrategy, _env(Env.UNSTRUCTURED_STRATEGY)] = "fast"
    unstructured_split_pdf_page: Annotated[bool, _env(Env.UNSTRUCTURED_SPLIT_PDF_PAGE)] = True

    analysis_backend: Annotated[AnalysisBackendName, _env(Env.ANALYSIS_BACKEND)] = "heuristic"
    model_provider: Annotated[ModelProviderName, _env(Env.MODEL_PROVIDER)] = "bedrock"
    model_id: Annotated[str | None, _env(Env.MODEL_ID)] = None
    ollama_host: Annotated[str, _env(Env.OLLAMA_HOST)] = "http://localhost:11434"
    max_concurrent_model_calls: Annotated[int, _env(Env.MAX_CONCURRENT_MODEL_CALLS)] = 4

    enrichment_backend: Annotated[EnrichmentBackendName, _env(Env.ENRICHMENT_BACKEND)] = "local-sandbox"
    enrichment_timeout_seconds: Annotated[float, _env(Env.ENRICHMENT_TIMEOUT_SECONDS)] = 120.0
    sandbox_cpu_seconds: Annotated[int, _env(Env.SANDBOX_CPU_SECONDS)] = 10
    sandbox_memory_mb: Annotated[int, _env(Env.SANDBOX_MEMORY_MB)] = 512
    sandbox_output_bytes: Annotated[int, _env(Env.SANDBOX_OUTPUT_BYTES)] = 1_000_000
    max_concurrent_sandboxes: Annotated[int, _env(Env.MAX_CONCURRENT_SANDBOXES)] = 4

    database_url: Annotated[str | None, _env(Env.DATABASE_URL)] = Field(None, repr=False)
    database_secret_arn: Annotated[str | None, _env(Env.DATABASE_SECRET_ARN)] = None
    database_host: Annotated[str | None, _env(Env.DATABASE_HOST)] = None
    database_name: Annotated[str, _env(Env.DATABASE_NAME)] = "docpipe"
    valkey_url: Annotated[str | None, _env(Env.VALKEY_URL)] = None
    valkey_password: Annotated[str | None, _env(Env.VALKEY_PASSWORD)] = Field(None, repr=False)
    stage_key: Annotated[str | None, _env(Env.STAGE_KEY)] = None

    bucket: Annotated[str | None, _env(Env.BUCKET)] = None
    upload_prefix: Annotated[str, _env(Env.UPLOAD_PREFIX)] = DEFAULT_UPLOAD_PREFIX
    payload_dir: Annotated[str | None, _env(Env.PAYLOAD_DIR)] = None
    payload_threshold_bytes: Annotated[int, _env(Env.PAYLOAD_THRESHOLD_BYTES)] = 128 * 1024
    search_attributes: Annotated[bool, _env(Env.SEARCH_ATTRIBUTES)] = False
    stage_timeouts: Annotated[dict[str, float], _env(Env.STAGE_TIMEOUTS)] = Field(default_factory=dict)

    @field_validator("stage_timeouts", mode="before")
    @classmethod
    def _timeouts(cls, raw: Any) -> Any:
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise ValueError("must be a JSON object of stage → seconds") from None
        if not isinstance(raw, Mapping):
            raise ValueError("must be a JSON object of stage → seconds")
        try:
            return {str(k): float(v) for k, v in raw.items() if float(v) > 0}
        except (TypeError, ValueError):
            raise ValueError("must be a JSON object of stage → seconds") from None

    def deployment_name(self, role: str) -> str:
        return self.deployment_name_override or deployment_name(self.stack, role)

    def task_queue(self, role: str) -> str:
        return f"{self.queue_prefix}-{role}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `env` (default: the process environment); SettingsError names the variable."""
        names = {_alias(name) for name in cls.model_fields}
        given = {k: v for k, v in (os.environ if env is None else env).items() if k in names and v != ""}
        try:
            # The process environment goes through pydantic-settings' own source; a mapping (tests,
            # `docpipe dev`'s planned environments) through the same fields and validators.
            return cls() if env is None else cls.model_validate(given)
        except ValidationError as err:
            raise SettingsError(_explain(err, given)) from None


def _alias(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    assert isinstance(alias, AliasChoices)
    return str(alias.choices[0])


def _explain(err: ValidationError, given: Mapping[str, str]) -> str:
    lines = []
    for e in err.errors():
        name = str(e["loc"][0]) if e["loc"] else "?"
        raw = given.get(name, e.get("input"))
        if e["type"] == "literal_error":
            choices = str((e.get("ctx") or {}).get("expected", "")).replace("'", "").replace(" or ", ", ")
            lines.append(f"{name}={raw!r} is not one of: {choices}")
        else:
            msg = str(e["msg"]).removeprefix("Value error, ")
            lines.append(
                f"{name} {msg}, got {raw!r}" if msg.startswith("must ") else f"{name}={raw!r}: {msg}"
            )
    return "; ".join(lines)


# The defaults the stack config's backend sections use (docpipe.config reads them from here).
DEFAULTS = Settings.model_construct()
