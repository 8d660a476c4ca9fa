"""StackConfig: the typed, validated form of a stack's `docpipe:*` configuration.

Everything downstream (the Pulumi program, the local realizer, the cost model, the policy pack) starts
from a `StackConfig`. It is built by `load_stack_config(raw, ...)` from the raw `docpipe:*` mapping
— exactly what `pulumi config` holds, already merged with the tier preset — and either returns a
valid config or raises `ConfigError`, whose every line names the config path, the bad value and what
would be valid. No resource is declared before this succeeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from workers.contract import ACTIVITY_ROLES, ROLES, ActivityRole, Role
from workers.suggest import did_you_mean as _did_you_mean

Target = Literal["ec2", "cloudrun", "lambda"]
TARGETS: tuple[Target, ...] = get_args(Target)
Tier = Literal["low", "medium", "high"]
TIERS: tuple[Tier, ...] = get_args(Tier)
TemporalMode = Literal["cloud", "self-hosted", "external"]
ExtractionKind = Literal["unstructured-api", "local"]
AnalysisKind = Literal["strands", "heuristic"]
ModelProvider = Literal["bedrock", "anthropic", "openai", "ollama"]
EnrichmentKind = Literal["e2b", "local-sandbox"]
SecretName = Literal["unstructuredApiKey", "e2bApiKey", "anthropicApiKey", "openaiApiKey", "temporalApiKey"]
SECRET_NAMES: tuple[SecretName, ...] = get_args(SecretName)

NAMESPACE = "docpipe"
LAMBDA_MAX_TIMEOUT_SECONDS = 900
# temporalio.contrib.aws.lambda_worker reserves graceful shutdown (5 s) + hook buffer (2 s).
DEFAULT_SHUTDOWN_BUFFER_SECONDS = 7
# A workflow task must finish well within this; the workflow role has no activity timeout.
WORKFLOW_TASK_SECONDS = 10


class _Model(BaseModel):
    """Base for config models: camelCase keys as in YAML, unknown keys rejected, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


class Ec2Sizing(_Model):
    """Auto-scaling group of long-lived workers."""

    instance_type: str = Field("t4g.small", pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
    min_size: Annotated[int, Field(ge=0, le=100)] = 1
    desired_capacity: Annotated[int, Field(ge=0, le=100)] = 1
    max_size: Annotated[int, Field(ge=1, le=100)] = 2
    volume_gb: Annotated[int, Field(ge=8, le=1000)] = 20

    @model_validator(mode="after")
    def _ordered(self) -> Ec2Sizing:
        if not self.min_size <= self.desired_capacity <= self.max_size:
            raise ValueError(
                f"needs minSize <= desiredCapacity <= maxSize, got {self.min_size} <= "
                f"{self.desired_capacity} <= {self.max_size}"
            )
        return self

    @property
    def architecture(self) -> Literal["arm64", "x86_64"]:
        family = self.instance_type.split(".", 1)[0]
        # Graviton families carry a "g" after the generation digit (t4g, m7g, c7gn, r8g).
        return "arm64" if any(ch == "g" for ch in family[2:4]) else "x86_64"


class CloudRunSizing(_Model):
    """Cloud Run worker pool scaled by Temporal's worker controller."""

    cpu: Literal[1, 2, 4, 6, 8] = 1
    memory_mib: Annotated[int, Field(ge=512, le=32768)] = 1024
    min_instances: Annotated[int, Field(ge=0, le=100)] = 0
    max_instances: Annotated[int, Field(ge=1, le=100)] = 3

    @model_validator(mode="after")
    def _ordered(self) -> CloudRunSizing:
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"needs minInstances <= maxInstances, got {self.min_instances} > {self.max_instances}"
            )
        return self


class LambdaSizing(_Model):
    """Temporal Serverless Worker on Lambda (container image)."""

    memory_mb: Annotated[int, Field(ge=128, le=10240)] = 1024
    timeout_seconds: Annotated[int, Field(ge=1, le=LAMBDA_MAX_TIMEOUT_SECONDS)] = 300
    reserved_concurrency: Annotated[int | None, Field(ge=0, le=1000)] = None
    provisioned_concurrency: Annotated[int, Field(ge=0, le=1000)] = 0
    architecture: Literal["arm64", "x86_64"] = "arm64"
    shutdown_buffer_seconds: Annotated[int, Field(ge=1, le=120)] = DEFAULT_SHUTDOWN_BUFFER_SECONDS


Sizing = Ec2Sizing | CloudRunSizing | LambdaSizing


class ActivityConfig(_Model):
    """Where one role runs and how each target would size it (only the chosen target's is used)."""

    target: Target
    activity_timeout_seconds: Annotated[int | None, Field(ge=1, le=24 * 3600)] = None
    ec2: Ec2Sizing = Ec2Sizing()
    cloudrun: CloudRunSizing = CloudRunSizing()
    lambda_: LambdaSizing = Field(LambdaSizing(), alias="lambda")

    def sizing(self) -> Sizing:
        if self.target == "ec2":
            return self.ec2
        if self.target == "cloudrun":
            return self.cloudrun
        return self.lambda_


class Activities(_Model):
    workflow: ActivityConfig
    extraction: ActivityConfig
    analysis: ActivityConfig
    enrichment: ActivityConfig
    storage: ActivityConfig

    def __getitem__(self, role: Role) -> ActivityConfig:
        config: ActivityConfig = getattr(self, role)
        return config


# The seed's low scenario: 5 minutes a file (enrichment minutes are per enriched file, 30% of files).
DEFAULT_MINUTES_PER_FILE: dict[ActivityRole, float] = {
    "extraction": 1.5,
    "analysis": 2.5,
    "enrichment": 2.0,
    "storage": 0.4,
}


class Traffic(_Model):
    """The load a stack is sized and priced for."""

    files_per_day: Annotated[float, Field(gt=0, le=1_000_000)] = 10
    minutes_per_file: dict[ActivityRole, Annotated[float, Field(ge=0, le=24 * 60)]] = Field(
        default_factory=lambda: dict(DEFAULT_MINUTES_PER_FILE)
    )
    enrichment_rate: Annotated[float, Field(ge=0, le=1)] = 0.3
    pages_per_file: Annotated[float, Field(gt=0, le=10_000)] = 5
    profile: Literal["steady", "diurnal", "bursty"] = "diurnal"

    def minutes(self, role: ActivityRole) -> float:
        return self.minutes_per_file.get(role, 0.0)


class ExtractionBackend(_Model):
    kind: ExtractionKind = "local"
    server_url: str = "https://api.unstructuredapp.io"
    strategy: Literal["auto", "fast", "hi_res", "ocr_only"] = "fast"
    split_pdf_page: bool = True


class AnalysisBackend(_Model):
    kind: AnalysisKind = "heuristic"
    provider: ModelProvider = "bedrock"
    model_id: str | None = None
    ollama_host: str = "http://localhost:11434"
    max_concurrent_calls: Annotated[int, Field(ge=1, le=1000)] = 4


class EnrichmentBackend(_Model):
    kind: EnrichmentKind = "local-sandbox"
    timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = 120
    max_concurrent_sandboxes: Annotated[int, Field(ge=1, le=1000)] = 4


class Backends(_Model):
    extraction: ExtractionBackend = ExtractionBackend()
    analysis: AnalysisBackend = AnalysisBackend()
    enrichment: EnrichmentBackend = EnrichmentBackend()


class TemporalConfig(_Model):
    mode: TemporalMode = "cloud"
    namespace: str = Field("docpipe", pattern=r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")
    # external: host:port of an existing Temporal; cloud: filled from the created namespace.
    address: str | None = Field(None, pattern=r"^[A-Za-z0-9.-]+:\d{2,5}$")
    cloud_region: str = "aws-us-east-1"
    retention_days: Annotated[int, Field(ge=1, le=90)] = 7
    self_hosted_instance_type: str = "t4g.small"


class DatabaseConfig(_Model):
    instance_class: str = Field("db.t4g.micro", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    allocated_storage_gb: Annotated[int, Field(ge=20, le=65536)] = 20
    engine_version: str = "17"
    multi_az: bool = False
    # Who may reach PostgreSQL: only resources in the VPC, or TLS from listed networks (needed
    # when storage runs on Cloud Run, outside AWS).
    reachability: Literal["vpc-only", "public-tls"] = "vpc-only"
    allowed_cidrs: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _cidrs(self) -> DatabaseConfig:
        if self.reachability == "public-tls" and not self.allowed_cidrs:
            raise ValueError(
                "reachability public-tls needs allowedCidrs (the egress networks of the workers "
                "outside AWS); 0.0.0.0/0 is not accepted"
            )
        if any(c.endswith("/0") for c in self.allowed_cidrs):
            raise ValueError("allowedCidrs must not contain a /0 network")
        return self


class CacheConfig(_Model):
    mode: Literal["serverless", "node"] = "serverless"
    node_type: str = "cache.t4g.micro"
    max_storage_gb: Annotated[int, Field(ge=1, le=5000)] = 1


class GcpConfig(_Model):
    project: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    region: str = "us-central1"


class StackConfig(_Model):
    """The validated `docpipe:*` config of one stack (tier preset already applied)."""

    stack: str
    tier: Tier
    aws_region: str = "us-east-1"
    traffic: Traffic = Traffic()
    activities: Activities
    backends: Backends = Backends()
    temporal: TemporalConfig = TemporalConfig()
    database: DatabaseConfig = DatabaseConfig()
    cache: CacheConfig = CacheConfig()
    gcp: GcpConfig | None = None
    image_tag: str = Field("latest", pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    prices: dict[str, float] = Field(default_factory=dict)
    # Which secret config keys are set (values never enter this model).
    secrets_present: frozenset[SecretName] = frozenset()

    def required_secrets(self) -> dict[SecretName, str]:
        """Secret keys the chosen backends need, each with the reason."""
        need: dict[SecretName, str] = {}
        if self.backends.extraction.kind == "unstructured-api":
            need["unstructuredApiKey"] = "backends.extraction.kind is unstructured-api"
        if self.backends.analysis.kind == "strands":
            provider = self.backends.analysis.provider
            if provider == "anthropic":
                need["anthropicApiKey"] = "backends.analysis.provider is anthropic"
            elif provider == "openai":
                need["openaiApiKey"] = "backends.analysis.provider is openai"
        if self.backends.enrichment.kind == "e2b":
            need["e2bApiKey"] = "backends.enrichment.kind is e2b"
        if self.temporal.mode == "external":
            need["temporalApiKey"] = "temporal.mode is external"
        return need

    def targets(self) -> set[Target]:
        return {self.activities[role].target for role in ROLES}


class ConfigError(ValueError):
    """Invalid stack config; `problems` holds one line per problem, each naming the config path."""

    def __init__(self, stack: str, problems: list[str]) -> None:
        self.stack = stack
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"stack {stack!r} has invalid docpipe config:\n{lines}")


def _path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in {"function-after", "function-before"} or "[" in str(item):
            continue  # pydantic's internal validator/union labels
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class that owns the field at `loc` (for listing valid keys)."""
    model: type[BaseModel] | None = StackConfig
    for key in loc:
        if model is None or not isinstance(key, str):
            return None
        field = next((f for name, f in model.model_fields.items() if key in {name, f.alias}), None)
        if field is None:
            return model
        annotation = field.annotation
        candidates = [a for a in (get_args(annotation) or (annotation,)) if isinstance(a, type)]
        model = next((a for a in candidates if issubclass(a, BaseModel)), None)
    return model


def _describe(error: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    path = _path(loc)
    value = error.get("input")
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        owner = _model_at(loc[:-1])
        valid = sorted(f.alias or n for n, f in owner.model_fields.items()) if owner else []
        valid = [v for v in valid if v not in {"stack", "secretsPresent"}]
        key = str(loc[-1])
        return (
            f"{NAMESPACE}:{path}: unknown key {key!r}; valid keys here: {', '.join(valid)}"
            f"{_did_you_mean(key, valid)}"
        )
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        choices = [c.strip().strip("'") for c in expected.replace(" or ", ",").split(",") if c.strip()]
        return (
            f"{NAMESPACE}:{path}: {value!r} is not valid; choose one of {', '.join(choices)}"
            f"{_did_you_mean(value, choices)}"
        )
    if kind == "missing":
        return f"{NAMESPACE}:{path}: is required but not set"
    message = str(error["msg"]).removeprefix("Value error, ")
    shown = "" if isinstance(value, Mapping) else f" (got {value!r})"
    return f"{NAMESPACE}:{path}: {message}{shown}"


def _cross_field_problems(config: StackConfig, check_secrets: bool) -> list[str]:
    """Rules that span several keys; each message names the keys involved."""
    problems: list[str] = []
    for role in ACTIVITY_ROLES:
        activity = config.activities[role]
        if activity.target != "lambda":
            continue
        sizing = activity.lambda_
        needed = (activity.activity_timeout_seconds or 0) + sizing.shutdown_buffer_seconds
        if sizing.timeout_seconds < needed:
            problems.append(
                f"{NAMESPACE}:activities.{role}.lambda.timeoutSeconds: {sizing.timeout_seconds} s "
                f"does not cover activities.{role}.activityTimeoutSeconds "
                f"({activity.activity_timeout_seconds} s) plus the worker's shutdown buffer "
                f"({sizing.shutdown_buffer_seconds} s); set it to at least {needed} s (max "
                f"{LAMBDA_MAX_TIMEOUT_SECONDS}), or move {role} to ec2 or cloudrun"
            )
    workflow = config.activities.workflow
    if workflow.target == "lambda":
        needed = WORKFLOW_TASK_SECONDS + workflow.lambda_.shutdown_buffer_seconds
        if workflow.lambda_.timeout_seconds < needed:
            problems.append(
                f"{NAMESPACE}:activities.workflow.lambda.timeoutSeconds: "
                f"{workflow.lambda_.timeout_seconds} s leaves no time for a workflow task; "
                f"set it to at least {needed} s"
            )
    on_cloudrun = [r for r in ROLES if config.activities[r].target == "cloudrun"]
    if on_cloudrun and config.gcp is None:
        problems.append(
            f"{NAMESPACE}:gcp.project: is required because "
            + ", ".join(f"activities.{r}.target is cloudrun" for r in on_cloudrun)
            + f"; run `pulumi config set --path {NAMESPACE}:gcp.project <gcp-project-id>`"
        )
    storage = config.activities.storage
    if storage.target == "cloudrun" and config.database.reachability == "vpc-only":
        problems.append(
            f"{NAMESPACE}:database.reachability: 'vpc-only' cannot serve "
            "activities.storage.target=cloudrun (Cloud Run is outside the AWS VPC); set "
            "database.reachability to public-tls with database.allowedCidrs, or place storage "
            "on ec2 or lambda"
        )
    if config.temporal.mode == "self-hosted" and on_cloudrun:
        problems.append(
            f"{NAMESPACE}:temporal.mode: 'self-hosted' runs Temporal inside the AWS VPC, which "
            + ", ".join(f"activities.{r}.target=cloudrun" for r in on_cloudrun)
            + " cannot reach; use temporal.mode cloud or external, or move those roles to AWS"
        )
    if config.temporal.mode == "external" and not config.temporal.address:
        problems.append(
            f"{NAMESPACE}:temporal.address: is required when temporal.mode is external "
            "(host:port of your Temporal frontend)"
        )
    missing = {k: why for k, why in config.required_secrets().items() if k not in config.secrets_present}
    for key, why in missing.items() if check_secrets else ():
        problems.append(
            f"{NAMESPACE}:{key}: secret is not set but {why}; run "
            f"`pulumi config set --secret {NAMESPACE}:{key} <value>`"
        )
    return problems


def validate_stack_config(
    stack: str,
    raw: Mapping[str, Any],
    secrets_present: set[str] | frozenset[str] = frozenset(),
    check_secrets: bool = True,
) -> StackConfig:
    """Validate the merged raw `docpipe:*` mapping (keys without the namespace) into a StackConfig.

    `check_secrets=False` skips only the "secret not set" rule (offline plans fill placeholders).
    """
    problems: list[str] = []
    unknown_secrets = sorted(set(secrets_present) - set(SECRET_NAMES))
    for key in unknown_secrets:
        problems.append(
            f"{NAMESPACE}:{key}: unknown secret key; valid secret keys: {', '.join(SECRET_NAMES)}"
            f"{_did_you_mean(key, list(SECRET_NAMES))}"
        )
    data = {**raw, "stack": stack, "secretsPresent": sorted(set(secrets_present) & set(SECRET_NAMES))}
    try:
        config = StackConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(_describe(e) for e in exc.errors())
        raise ConfigError(stack, problems) from None
    problems.extend(_cross_field_problems(config, check_secrets))
    if problems:
        raise ConfigError(stack, problems)
    return config


def config_json_schema() -> dict[str, Any]:
    """JSON schema of the `docpipe:*` keys a stack file may set (camelCase, with descriptions).

    The config reference (docs/config-reference.md) and the policy pack's schemas are generated from
    it, so the documentation cannot drift from what validation accepts.
    """
    schema = StackConfig.model_json_schema(by_alias=True, mode="validation")
    props = schema.get("properties", {})
    for internal in ("stack", "secretsPresent"):
        props.pop(internal, None)
    schema["required"] = [k for k in schema.get("required", []) if k in props]
    return schema
