"""The environment every worker gets, whatever its target (names from workers.contract.Env).

Only references go in: secret ARNs / names, never secret values. Cloud Run additionally maps
secrets to env vars through Secret Manager references (`SECRET_ENV`).
"""

from __future__ import annotations

import pulumi

from docpipe.plan import RolePlacement
from infra.baseline import Baseline
from infra.baseline.database import DB_NAME
from workers.contract import DEFAULT_QUEUE_PREFIX, Env

# Which env var each secret becomes when a platform can inject it by reference (Cloud Run).
SECRET_ENV: dict[str, str] = {
    "unstructuredApiKey": Env.UNSTRUCTURED_API_KEY,
    "e2bApiKey": Env.E2B_API_KEY,
    "anthropicApiKey": Env.ANTHROPIC_API_KEY,
    "openaiApiKey": Env.OPENAI_API_KEY,
    "temporalApiKey": "TEMPORAL_API_KEY",
}


def secret_names(p: RolePlacement, baseline: Baseline) -> list[str]:
    """Secrets this role reads: its backends' keys and the Temporal API key (cloud / external)."""
    names: list[str] = list(p.secrets)
    if baseline.temporal.api_key is not None and "temporalApiKey" not in names:
        names.append("temporalApiKey")
    return names


def worker_env(p: RolePlacement, baseline: Baseline) -> dict[str, pulumi.Input[str]]:
    config = baseline.config
    temporal = baseline.temporal
    env: dict[str, pulumi.Input[str]] = {
        Env.ROLE: p.role,
        Env.STACK: config.stack,
        Env.QUEUE_PREFIX: DEFAULT_QUEUE_PREFIX,
        Env.DEPLOYMENT_NAME: p.deployment_name,
        Env.BUILD_ID: config.image_tag,
        # The version is created and made current at deploy time (infra.versioning), not by workers.
        Env.PROMOTE_VERSION: "never",
        Env.BUCKET: baseline.bucket.name,
        "TEMPORAL_ADDRESS": temporal.address,
        "TEMPORAL_NAMESPACE": temporal.namespace,
        "TEMPORAL_TLS": "true" if temporal.tls else "false",
    }
    if p.activity_timeout_seconds is not None:
        env[Env.ACTIVITY_TIMEOUT_SECONDS] = str(p.activity_timeout_seconds)
    b = config.backends
    if p.role == "extraction":
        env[Env.EXTRACTION_BACKEND] = b.extraction.kind
        env[Env.UNSTRUCTURED_API_URL] = b.extraction.server_url
        env[Env.UNSTRUCTURED_STRATEGY] = b.extraction.strategy
    elif p.role == "analysis":
        env[Env.ANALYSIS_BACKEND] = b.analysis.kind
        env[Env.MODEL_PROVIDER] = b.analysis.provider
        if b.analysis.model_id:
            env[Env.MODEL_ID] = b.analysis.model_id
        if b.analysis.provider == "ollama":
            env[Env.OLLAMA_HOST] = b.analysis.ollama_host
        env[Env.MAX_CONCURRENT_MODEL_CALLS] = str(b.analysis.max_concurrent_calls)
    elif p.role == "enrichment":
        env[Env.ENRICHMENT_BACKEND] = b.enrichment.kind
        env[Env.ENRICHMENT_TIMEOUT_SECONDS] = str(b.enrichment.timeout_seconds)
        env[Env.MAX_CONCURRENT_SANDBOXES] = str(b.enrichment.max_concurrent_sandboxes)
    refs: dict[str, pulumi.Input[str]] = dict(baseline.secret_refs(secret_names(p, baseline)))
    if "database" in p.needs:
        env[Env.DATABASE_SECRET_ARN] = baseline.database.secret_arn
        env[Env.DATABASE_HOST] = baseline.database.address
        env[Env.DATABASE_NAME] = DB_NAME
    if p.uses_cache and baseline.cache is not None:
        env[Env.VALKEY_URL] = baseline.cache.url
        refs["valkeyAuth"] = baseline.cache.auth_secret_arn
    env[Env.SECRET_REFS] = pulumi.Output.json_dumps(refs)
    return env


def readable_secret_arns(p: RolePlacement, baseline: Baseline) -> list[pulumi.Output[str]]:
    """Every Secrets Manager ARN this role may read (for its least-privilege policy)."""
    arns = list(baseline.secret_refs(secret_names(p, baseline)).values())
    if "database" in p.needs:
        arns.append(baseline.database.secret_arn)
    if p.uses_cache and baseline.cache is not None:
        arns.append(baseline.cache.auth_secret_arn)
    return arns
