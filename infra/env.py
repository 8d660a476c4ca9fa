"""The environment every worker gets: docpipe.worker_env's, with the baseline's Outputs filled in.

Only references go in: secret ARNs / names, never secret values. Cloud Run additionally maps
secrets to env vars through Secret Manager references (`SECRET_ENV`).
"""

from __future__ import annotations

import pulumi

from docpipe.plan import RolePlacement
from docpipe.worker_env import Endpoints
from docpipe.worker_env import worker_env as core_worker_env
from infra.baseline import Baseline
from infra.baseline.database import DB_NAME
from workers.contract import Env

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
    """The role's worker environment (docpipe.worker_env) with the baseline's addresses filled in."""
    temporal = baseline.temporal
    refs: dict[str, pulumi.Input[str]] = dict(baseline.secret_refs(secret_names(p, baseline)))
    if p.uses_cache:
        refs["valkeyAuth"] = baseline.cache.auth_secret_arn
    endpoints: Endpoints[pulumi.Input[str]] = Endpoints(
        temporal_address=temporal.address,
        temporal_namespace=temporal.namespace,
        temporal_tls=temporal.tls,
        build_id=baseline.config.build_id,
        promote_version="never",
        bucket=baseline.bucket.name,
        database_host=baseline.database.address,
        database_secret_arn=baseline.database.secret_arn,
        database_name=DB_NAME,
        valkey_url=baseline.cache.url,
        secret_refs=pulumi.Output.json_dumps(refs),
    )
    return dict(core_worker_env(p, baseline.plan, endpoints))
