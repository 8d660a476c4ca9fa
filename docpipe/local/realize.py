"""The local realizer: a stack's PlacementPlan as one `docpipe worker ROLE` process per role.

Whatever a role's cloud target (ec2, cloudrun, lambda), locally it is a long-running worker process
polling the same task queue with the same Worker Deployment name — so the workflow sees exactly the
queues and versions it would see in the cloud. Backends follow the stack; a hosted backend whose
credentials are not in this environment falls back to its offline counterpart, and says so.

On a laptop there is no VPC boundary, so every activity role reaches the local Valkey (in the cloud
only VPC-attached roles do: the plan's `uses_cache`).
"""

from __future__ import annotations

import importlib.util
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from docpipe import install_hint
from docpipe.config import Backends, StackConfig
from docpipe.plan import PlacementPlan, RolePlacement, backend_label
from docpipe.worker_env import Endpoints as WorkerEndpoints
from docpipe.worker_env import worker_env
from workers.contract import DEFAULT_BUILD_ID, Env

LOCAL_GRACE_SECONDS = 5.0

# What a worker process inherits from this machine's environment: what a process needs to start
# and find its way out (locale, temp dir, proxies and CA bundles for hosted backends). Nothing
# else of the shell's environment reaches a worker; the rest comes from the plan (`LocalRole.env`).
_START_VARS = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM",
    "PYTHONPATH", "VIRTUAL_ENV", "SYSTEMROOT",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
})  # fmt: skip
_START_PREFIXES = ("LC_",)
# Hosted-backend credentials, given only to the role whose backend uses them.
_AWS_VARS = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_REGION", "AWS_DEFAULT_REGION",
)  # fmt: skip


def inherited_env(src: Mapping[str, str]) -> dict[str, str]:
    """The part of this machine's environment every worker gets (no secrets, no docpipe settings)."""
    return {k: v for k, v in src.items() if k in _START_VARS or k.startswith(_START_PREFIXES)}


def _credential_vars(role: str, backends: Backends) -> tuple[str, ...]:
    if role == "extraction" and backends.extraction.kind == "unstructured-api":
        return (Env.UNSTRUCTURED_API_KEY,)
    if role == "analysis" and backends.analysis.kind == "strands":
        return {
            "bedrock": _AWS_VARS,
            "anthropic": (Env.ANTHROPIC_API_KEY,),
            "openai": (Env.OPENAI_API_KEY,),
        }.get(backends.analysis.provider, ())
    if role == "enrichment" and backends.enrichment.kind == "e2b":
        return (Env.E2B_API_KEY,)
    return ()


@dataclass(frozen=True)
class Endpoints:
    """Addresses of the local services, as workers reach them."""

    temporal_address: str
    namespace: str
    database_url: str
    valkey_url: str | None
    payload_dir: Path
    temporal_profile: Path | None = None


@dataclass
class LocalRole:
    role: str
    target: str  # the cloud target this process stands in for
    backend: str | None  # the backend this process runs (after any fallback)
    stack_backend: str | None  # the backend the stack asked for
    env: dict[str, str] = field(default_factory=dict)  # the variables docpipe sets (no inherited ones)
    fallback: str | None = None  # why the stack's backend was replaced, when it was
    credentials: tuple[str, ...] = ()  # names of this machine's variables its backend needs

    def full_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The process environment: what a process needs to start, this role's backend credentials
        (by name, from this machine), then the plan's variables."""
        src = os.environ if base is None else base
        env = inherited_env(src)
        env.update({k: src[k] for k in self.credentials if src.get(k)})
        env.update(self.env)
        return env


def _aws_credentials(env: Mapping[str, str]) -> bool:
    """Credentials boto3 would find without a network call (instance metadata is not probed)."""
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return True
    if any(env.get(k) for k in ("AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE")):
        return True
    if env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") or env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        return True
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    creds = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials")
    return creds.is_file()


def _reachable(url: str, timeout: float = 0.5) -> bool:
    parsed = urlparse(url if "://" in url else f"http://{url}")
    try:
        with socket.create_connection((parsed.hostname or "localhost", parsed.port or 80), timeout=timeout):
            return True
    except OSError:
        return False


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _missing(env: Mapping[str, str], name: str) -> str | None:
    return None if env.get(name) else f"{name} is not set"


def _analysis_fallback(config: StackConfig, env: Mapping[str, str]) -> str | None:
    """Why the stack's model provider cannot run here (None when it can)."""
    a = config.backends.analysis
    if a.provider == "bedrock":
        if not _aws_credentials(env):
            return "no AWS credentials for Bedrock (AWS_PROFILE, AWS_ACCESS_KEY_ID or ~/.aws/credentials)"
        return None
    if a.provider == "anthropic":
        if not env.get(Env.ANTHROPIC_API_KEY):
            return f"{Env.ANTHROPIC_API_KEY} is not set"
        if not _installed("anthropic"):
            return f"the anthropic extra is not installed: {install_hint('anthropic')}"
        return None
    if a.provider == "openai":
        if not env.get(Env.OPENAI_API_KEY):
            return f"{Env.OPENAI_API_KEY} is not set"
        if not _installed("openai"):
            return f"the openai extra is not installed: {install_hint('openai')}"
        return None
    host = env.get(Env.OLLAMA_HOST) or a.ollama_host
    if not _installed("ollama"):
        return f"the ollama extra is not installed: {install_hint('ollama')}"
    if not _reachable(host):
        return f"no Ollama server answers at {host}"
    return None


def _fallback(p: RolePlacement, config: StackConfig, env: Mapping[str, str], offline: bool) -> str | None:
    """Why the stack's backend for `p.role` cannot run on this machine (None when it can)."""
    b = config.backends
    if p.role == "extraction" and b.extraction.kind == "unstructured-api":
        return "--offline" if offline else _missing(env, Env.UNSTRUCTURED_API_KEY)
    if p.role == "analysis" and b.analysis.kind == "strands":
        return "--offline" if offline else _analysis_fallback(config, env)
    if p.role == "enrichment" and b.enrichment.kind == "e2b":
        return "--offline" if offline else _missing(env, Env.E2B_API_KEY)
    return None


# The offline counterpart of each hosted backend.
OFFLINE_BACKENDS: dict[str, tuple[str, str]] = {
    "extraction": ("extraction", "local"),
    "analysis": ("analysis", "heuristic"),
    "enrichment": ("enrichment", "local-sandbox"),
}


def _local_backends(p: RolePlacement, config: StackConfig, why: str | None) -> Backends:
    if why is None or p.role not in OFFLINE_BACKENDS:
        return config.backends
    section, kind = OFFLINE_BACKENDS[p.role]
    changed = getattr(config.backends, section).model_copy(update={"kind": kind})
    return config.backends.model_copy(update={section: changed})


def realize(
    plan: PlacementPlan,
    endpoints: Endpoints,
    env: Mapping[str, str] | None = None,
    *,
    offline: bool = False,
    build_id: str = DEFAULT_BUILD_ID,
    grace_seconds: float = LOCAL_GRACE_SECONDS,
) -> list[LocalRole]:
    """One LocalRole per role of the plan, in pipeline order (environments from docpipe.worker_env)."""
    src = os.environ if env is None else env
    out = []
    for p in plan:
        why = _fallback(p, plan.config, src, offline)
        backends = _local_backends(p, plan.config, why)
        # The dev server registers docpipe's search attributes (docpipe.local.services).
        extra: dict[str, str] = {
            Env.SHUTDOWN_GRACE_SECONDS: f"{grace_seconds:g}",
            Env.SEARCH_ATTRIBUTES: "true",
        }
        # Addresses the user points at (a local Unstructured API, an Ollama elsewhere) win.
        for name in (Env.UNSTRUCTURED_API_URL, Env.OLLAMA_HOST):
            if src.get(name):
                extra[name] = src[name]
        bedrock = backends.analysis.kind == "strands" and backends.analysis.provider == "bedrock"
        if p.role == "analysis" and bedrock and not (src.get("AWS_REGION") or src.get("AWS_DEFAULT_REGION")):
            extra["AWS_REGION"] = plan.config.aws_region
        if endpoints.temporal_profile is not None:
            extra["TEMPORAL_CONFIG_FILE"] = str(endpoints.temporal_profile)
        # On a laptop there is no VPC boundary: every activity role reaches the local Valkey.
        if p.role != "workflow" and endpoints.valkey_url:
            extra[Env.VALKEY_URL] = endpoints.valkey_url
        role_env = worker_env(
            p,
            plan,
            WorkerEndpoints(
                temporal_address=endpoints.temporal_address,
                temporal_namespace=endpoints.namespace,
                build_id=build_id,
                payload_dir=str(endpoints.payload_dir),
                database_url=endpoints.database_url,
                extra=extra,
            ),
            backends=backends,
            target_runtime=False,
        )
        backend = backend_label(p.role, backends)
        stack_backend = p.backend
        fallback = None
        if why is not None:
            fallback = f"{p.role}: stack backend {stack_backend}, but {why} → {backend} (offline)"
            if why == "--offline":
                fallback = f"{p.role}: --offline → {backend} instead of {stack_backend}"
        creds = _credential_vars(p.role, backends)
        out.append(LocalRole(p.role, p.target, backend, stack_backend, dict(role_env), fallback, creds))
    return out
