"""No secret in plaintext in a worker's environment variables or an instance's user data."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs
from pydantic import Field

from policies.common import PolicyConfig, read_config, resource_policy
from policies.props import UNKNOWN, decode_user_data, elements, get, items
from policies.resource_types import (
    CLOUD_RUN_JOB,
    CLOUD_RUN_SERVICE,
    CLOUD_RUN_WORKER_POOL,
    EC2_INSTANCE,
    LAMBDA_FUNCTION,
    LAUNCH_TEMPLATE,
)


class SecretsConfig(PolicyConfig):
    """Config of `no-plaintext-secrets`."""

    name_markers: list[str] = Field(
        default=["KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL", "CREDENTIALS"],
        description="Words in a variable name that mark it as a secret (API_KEY, DB_PASSWORD).",
    )
    allowed_names: list[str] = Field(
        default=[], description="Variable names that look secret but are not (e.g. PUBLIC_KEY_ID)."
    )


# Values that are credentials whatever the variable is called (no value is ever echoed).
SECRET_VALUE_PATTERNS = (
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bsk-(ant-|proj-)?[A-Za-z0-9_\-]{20,}"),  # Anthropic / OpenAI keys
    re.compile(r"\be2b_[A-Za-z0-9]{20,}"),  # E2B
    re.compile(r"\b(ghp|gho|github_pat)_[A-Za-z0-9_]{20,}"),  # GitHub tokens
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),  # user:password@ in a URL
)
# Values that only *point at* a secret: fetching it at run time is what we want.
REFERENCE_VALUE = re.compile(
    r"^(arn:aws[a-z-]*:(secretsmanager|ssm|kms):|projects/[^/]+/secrets/|\[placeholder\]$|\{\{resolve:)"
)


# Words that, glued to a short marker, still name a secret (APIKEY, AUTHTOKEN).
GLUED_PREFIXES = ("API", "AUTH", "ACCESS", "PRIVATE", "CLIENT", "SECRET", "SESSION", "BEARER")
# Values a shell expands when the instance boots (SECRET=$(aws secretsmanager get-secret-value ...)):
# the secret is fetched at run time, which is the point.
RUNTIME_VALUE = re.compile(r"^(\$[({A-Za-z_]|`)")
# Values that are settings, not secrets, whatever the variable is called (USE_API_KEY=true).
PLAIN_SETTING = re.compile(r"^(true|false|yes|no|on|off|none|null|-?\d+(\.\d+)?)$", re.IGNORECASE)


def secret_name(name: str, markers: list[str], allowed: set[str]) -> bool:
    """Whether an environment variable's name says it holds a secret (`E2B_API_KEY`, `DB_PASSWORD`).

    Names that end in a reference suffix (`_ARN`, `_REF`, `_REFS`, `_ID`, `_NAME`) hold pointers.
    """
    upper = name.upper()
    if name in allowed or re.search(r"_(ARN|ARNS|REF|REFS|ID|NAME|NAMES|URL|HOST)$", upper):
        return False
    words = re.split(r"[^A-Z0-9]+", upper)
    for marker in (m.upper() for m in markers):
        # A whole word (API_KEY, DB_PASSWORD), or glued on where it still reads as one (APIKEY,
        # DBPASSWORD) — but not MONKEY or TURKEY.
        glued = len(marker) >= 6 or any(upper.endswith(p + marker) for p in GLUED_PREFIXES)
        if marker in words or (glued and upper.endswith(marker)):
            return True
    return False


def secret_problem(name: str, value: Any, config: SecretsConfig | Mapping[str, Any]) -> str | None:
    """Why `name=value` is a plaintext secret, or None. Never includes the value.

    `config` is the policy's config, validated or as the engine passes it.
    """
    settings = read_config(SecretsConfig, "no-plaintext-secrets", config)
    if value is UNKNOWN or value is None:
        return None
    text = str(value)
    if not text or REFERENCE_VALUE.match(text) or PLAIN_SETTING.match(text) or RUNTIME_VALUE.match(text):
        return None
    if any(p.search(text) for p in SECRET_VALUE_PATTERNS):
        return "its value looks like a credential"
    if secret_name(name, list(settings.name_markers), set(settings.allowed_names)):
        return "its name says it holds a secret"
    return None


ASSIGNMENT = re.compile(
    r"""(?:^|[\s;'"])(?:export\s+|-e\s+|--env\s+)?([A-Za-z_][A-Za-z0-9_]*)=(['"]?)([^\s'";]+)\2"""
)


# The compute resources `environment` reads a process environment from.
ENVIRONMENT_TYPES = (
    LAMBDA_FUNCTION,
    LAUNCH_TEMPLATE,
    EC2_INSTANCE,
    CLOUD_RUN_WORKER_POOL,
    CLOUD_RUN_SERVICE,
    CLOUD_RUN_JOB,
)


def environment(args: ResourceValidationArgs) -> Iterator[tuple[str, str, Any]]:
    """(where, variable name, value) for each plain environment variable of a compute resource."""
    props = args.props
    kind = args.resource_type
    if kind == LAMBDA_FUNCTION:
        for name, value in items(get(props, "environment.variables")):
            yield "environment variable", name, value
    elif kind in (LAUNCH_TEMPLATE, EC2_INSTANCE):
        for key in ("userData", "userDataBase64"):
            data = get(props, key)
            if isinstance(data, str) and data:
                for match in ASSIGNMENT.finditer(decode_user_data(data)):
                    yield "user data variable", match.group(1), match.group(3)
    elif kind in (CLOUD_RUN_WORKER_POOL, CLOUD_RUN_SERVICE, CLOUD_RUN_JOB):
        template = get(props, "template.template") if kind == CLOUD_RUN_JOB else get(props, "template")
        for container in elements(get(template, "containers")):
            for env in elements(get(container, "envs")):
                name = get(env, "name")
                # Only a plain `value` is plaintext; `valueSource.secretKeyRef` is Secret Manager.
                if isinstance(name, str) and get(env, "value") is not None:
                    yield "environment variable", name, get(env, "value")


def check_secrets(args: ResourceValidationArgs, config: SecretsConfig, report: ReportViolation) -> None:
    """No environment variable (Lambda, Cloud Run) or user-data assignment holds a secret in plaintext."""
    for where, name, value in environment(args):
        why = secret_problem(name, value, config)
        if why:
            report(
                f"{args.name!r} {where} {name} carries a secret in plaintext ({why}); pass a "
                "Secrets Manager ARN (DOCPIPE_SECRET_REFS) or a Secret Manager reference "
                "(valueSource.secretKeyRef) and let the worker fetch the value",
                None,
            )


no_plaintext_secrets = resource_policy(
    name="no-plaintext-secrets",
    description="No secret is set in plaintext in environment variables or instance user data.",
    remediation=(
        "Store the secret in AWS Secrets Manager (or GCP Secret Manager) and pass only its ARN / "
        "resource name: DOCPIPE_SECRET_REFS for Lambda and EC2, env valueSource.secretKeyRef on Cloud Run."
    ),
    types=ENVIRONMENT_TYPES,
    config=SecretsConfig,
    check=check_secrets,
)
