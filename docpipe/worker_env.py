"""The environment of a role's workers: built once, from the plan, for every way a worker is run.

The Pulumi program (Lambda variables, Cloud Run envs, EC2 user data), `docpipe dev` and the policy
pack all call `worker_env`; `workers.settings.Settings` reads exactly these variables. Values the
plan cannot know (the bucket's name, the database's address, secret ARNs) come in as `Endpoints`,
whose fields are plain strings locally and Pulumi Outputs in the program — this module never sees
Pulumi, it only places what it is given.

`BACKEND_SETTINGS` is the one table from `docpipe:backends` keys to worker variables; the policy pack
reads a deployed stack's backends back through the same table (`backends_from_env`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from docpipe.config import Backends
from docpipe.plan import PlacementPlan, RolePlacement
from workers.contract import DEFAULT_QUEUE_PREFIX, Env, Role

V = TypeVar("V")
# Where docpipe owns the namespace and registers workers.contract.SEARCH_ATTRIBUTES (infra/baseline/
# temporal.py); an external namespace may not have them, and a run setting an unknown one fails.
TEMPORAL_MODES_WITH_SEARCH_ATTRIBUTES = ("cloud", "self-hosted")


def search_attributes_env(temporal_mode: str) -> dict[str, str]:
    """What tells a process that starts runs (workers, the bucket starter) to set them."""
    return {Env.SEARCH_ATTRIBUTES: "true"} if temporal_mode in TEMPORAL_MODES_WITH_SEARCH_ATTRIBUTES else {}


def _always(_: Backends) -> bool:
    return True


@dataclass(frozen=True)
class BackendSetting:
    """One `docpipe:backends` key and the worker variable it becomes (for the role that uses it)."""

    role: Role
    path: str  # under docpipe:backends, camelCase: "extraction.splitPdfPage"
    env: str
    when: Callable[[Backends], bool] = _always

    def value(self, backends: Backends) -> Any:
        section, key = self.path.split(".")
        return getattr(backends, section).model_dump(by_alias=True)[key]


BACKEND_SETTINGS: tuple[BackendSetting, ...] = (
    BackendSetting("extraction", "extraction.kind", Env.EXTRACTION_BACKEND),
    BackendSetting("extraction", "extraction.serverUrl", Env.UNSTRUCTURED_API_URL),
    BackendSetting("extraction", "extraction.strategy", Env.UNSTRUCTURED_STRATEGY),
    BackendSetting("extraction", "extraction.splitPdfPage", Env.UNSTRUCTURED_SPLIT_PDF_PAGE),
    BackendSetting("analysis", "analysis.kind", Env.ANALYSIS_BACKEND),
    BackendSetting("analysis", "analysis.provider", Env.MODEL_PROVIDER),
    BackendSetting("analysis", "analysis.modelId", Env.MODEL_ID, lambda b: b.analysis.model_id is not None),
    BackendSetting(
        "analysis", "analysis.ollamaHost", Env.OLLAMA_HOST, lambda b: b.analysis.provider == "ollama"
    ),
    BackendSetting("analysis", "analysis.maxConcurrentCalls", Env.MAX_CONCURRENT_MODEL_CALLS),
    BackendSetting("enrichment", "enrichment.kind", Env.ENRICHMENT_BACKEND),
    BackendSetting("enrichment", "enrichment.timeoutSeconds", Env.ENRICHMENT_TIMEOUT_SECONDS),
    BackendSetting("enrichment", "enrichment.maxConcurrentSandboxes", Env.MAX_CONCURRENT_SANDBOXES),
)


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def backend_env(role: Role, backends: Backends) -> dict[str, str]:
    """The variables a role's backends need (nothing for roles without a configurable backend)."""
    return {
        s.env: _text(s.value(backends))
        for s in BACKEND_SETTINGS
        if s.role == role and s.when(backends) and s.value(backends) is not None
    }


def backends_from_env(env_by_role: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, Any]]:
    """`docpipe:backends` as deployed workers' environments say it (the inverse of `backend_env`)."""
    defaults = Backends().model_dump(by_alias=True)
    out: dict[str, dict[str, Any]] = {"extraction": {}, "analysis": {}, "enrichment": {}}
    for s in BACKEND_SETTINGS:
        raw = env_by_role.get(s.role, {}).get(s.env)
        if raw is None:
            continue
        section, key = s.path.split(".")
        default = defaults[section][key]
        value: Any = raw
        if isinstance(default, bool):
            value = raw.lower() in {"1", "true", "yes"}
        elif isinstance(default, int):
            try:
                value = int(float(raw))
            except ValueError:
                continue
        out[section][key] = value
    return out


@dataclass(frozen=True)
class Endpoints(Generic[V]):
    """Where a role's workers find what the plan cannot know: str locally, Outputs in the program."""

    temporal_address: V | str
    temporal_namespace: V | str
    build_id: str
    temporal_tls: bool | None = None
    # "never" in the cloud: versions are created and made current at deploy time (infra.versioning).
    promote_version: str | None = None
    bucket: V | str | None = None
    payload_dir: str | None = None
    database_url: V | str | None = None  # local PostgreSQL
    database_host: V | str | None = None  # RDS (the password comes from database_secret_arn)
    database_secret_arn: V | str | None = None
    database_name: str | None = None
    valkey_url: V | str | None = None
    secret_refs: V | str | None = None  # JSON: name → ARN / resource name
    extra: Mapping[str, V | str] = field(default_factory=dict)


def worker_env(
    p: RolePlacement,
    plan: PlacementPlan,
    endpoints: Endpoints[V],
    *,
    backends: Backends | None = None,
    target_runtime: bool = True,
) -> dict[str, V | str]:
    """The environment of `p`'s workers.

    `backends` replaces the stack's (the local realizer's offline fallbacks). The target's own runtime
    settings (Lambda timings, drain grace) are included unless `target_runtime` is off (locally every
    role is a plain `docpipe worker` process); `endpoints.extra` is applied last.
    """
    config = plan.config
    env: dict[str, V | str] = {
        Env.ROLE: p.role,
        Env.STACK: config.stack,
        Env.QUEUE_PREFIX: DEFAULT_QUEUE_PREFIX,
        Env.DEPLOYMENT_NAME: p.deployment_name,
        Env.BUILD_ID: endpoints.build_id,
        "TEMPORAL_ADDRESS": endpoints.temporal_address,
        "TEMPORAL_NAMESPACE": endpoints.temporal_namespace,
        # Whoever starts workflows passes the stack's activity timeouts on (docpipe submit from the
        # workflow role's environment, the bucket starter from its own).
        Env.STAGE_TIMEOUTS: json.dumps(plan.stage_timeouts(), sort_keys=True),
    }
    env.update(search_attributes_env(config.temporal.mode))
    if endpoints.temporal_tls is not None:
        env["TEMPORAL_TLS"] = "true" if endpoints.temporal_tls else "false"
    if endpoints.promote_version is not None:
        env[Env.PROMOTE_VERSION] = endpoints.promote_version
    if p.activity_timeout_seconds is not None:
        env[Env.ACTIVITY_TIMEOUT_SECONDS] = str(p.activity_timeout_seconds)
    if endpoints.bucket is not None:
        env[Env.BUCKET] = endpoints.bucket
        # Where uploads start workflows (`docpipe submit` run with this environment uploads there).
        env[Env.UPLOAD_PREFIX] = config.bucket.upload_prefix
    if endpoints.payload_dir is not None:
        env[Env.PAYLOAD_DIR] = endpoints.payload_dir
    env.update(backend_env(p.role, backends or config.backends))
    if target_runtime:
        env.update(p.target_unit.worker_env(p))
    if "database" in p.needs:
        if endpoints.database_url is not None:
            env[Env.DATABASE_URL] = endpoints.database_url
        if endpoints.database_secret_arn is not None:
            env[Env.DATABASE_SECRET_ARN] = endpoints.database_secret_arn
        if endpoints.database_host is not None:
            env[Env.DATABASE_HOST] = endpoints.database_host
        if endpoints.database_name is not None:
            env[Env.DATABASE_NAME] = endpoints.database_name
    if p.uses_cache and endpoints.valkey_url is not None:
        env[Env.VALKEY_URL] = endpoints.valkey_url
    if endpoints.secret_refs is not None:
        env[Env.SECRET_REFS] = endpoints.secret_refs
    env.update(endpoints.extra)
    return env
