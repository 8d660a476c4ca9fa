"""StackConfig: the typed, validated form of a stack's `docpipe:*` configuration.

Everything downstream (the Pulumi program, the local realizer, the cost model, the policy pack) starts
from a `StackConfig`. It is built by `load_stack_config(raw, ...)` from the raw `docpipe:*` mapping
— exactly what `pulumi config` holds, already merged with the tier preset — and either returns a
valid config or raises `ConfigError`, whose every line names the config path, the bad value and what
would be valid. No resource is declared before this succeeds.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    Field,
    SerializeAsAny,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import InitErrorDetails, PydanticCustomError

from docpipe import catalog, rules
from docpipe.build_id import MOVING_TAGS
from docpipe.models import NAMESPACE, ConfigModel
from docpipe.targets import all_targets, get_target
from workers.contract import ROLES, ActivityRole, Role
from workers.settings import DEFAULTS as WORKER
from workers.settings import UnstructuredStrategy
from workers.suggest import did_you_mean as _did_you_mean

# A placement target's key (`ec2`, `cloudrun`, `lambda`, or a plug-in's): see docpipe.targets.
TargetKey = str
Tier = Literal["low", "medium", "high"]
TIERS: tuple[Tier, ...] = get_args(Tier)
TemporalMode = Literal["cloud", "self-hosted", "external"]
# Serverless compute providers of Temporal's worker controller (`workercontroller.compute_providers`).
ComputeProvider = Literal["aws-lambda", "gcp-cloud-run"]
ExtractionKind = Literal["unstructured-api", "local"]
AnalysisKind = Literal["strands", "heuristic"]
ModelProvider = Literal["bedrock", "anthropic", "openai", "ollama"]
EnrichmentKind = Literal["e2b", "local-sandbox"]
SecretName = Literal["unstructuredApiKey", "e2bApiKey", "anthropicApiKey", "openaiApiKey", "temporalApiKey"]
SECRET_NAMES: tuple[SecretName, ...] = get_args(SecretName)

# Where temporalio's S3 storage driver puts large payloads in the document bucket (`v0/<namespace>/…`).
PAYLOAD_KEY_PREFIX = "v0/"
_UPLOAD_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}(/[A-Za-z0-9][A-Za-z0-9._-]{0,62}){0,3}/")

_Model = ConfigModel

# RDS for PostgreSQL major versions (docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes):
# 13-17 are in standard support; 18 is accepted so a stack can move to it when RDS offers it. A
# version is a major (`16`: the provider's engineVersion then takes the latest minor) or
# major.minor (`16.4`).
POSTGRES_MAJORS = range(13, 19)
_ENGINE_VERSION = re.compile(r"(\d+)(\.\d+)?")


def http_url(value: str) -> str:
    """`value` if it is an http(s) URL with a host (what the backends' clients are given)."""
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a port that is not a number or out of range
    except ValueError as err:
        raise ValueError(f"is not a valid URL ({err}); expected e.g. http://localhost:11434") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host, e.g. http://localhost:11434")
    return value


def _region(kind: catalog.RegionKind, value: str) -> str:
    problem = catalog.region_problem(kind, value)
    if problem:
        raise ValueError(problem)
    return value


def _prefixed(err: ValidationError, prefix: str) -> list[InitErrorDetails]:
    """A nested model's errors re-rooted at `prefix` (pydantic would drop the key otherwise)."""
    out: list[InitErrorDetails] = []
    for e in err.errors():
        ctx = e.get("ctx") or {}
        kind = e["type"]
        detail: InitErrorDetails
        if kind == "value_error":  # a model validator's message: keep it as written
            detail = {
                "type": PydanticCustomError(
                    "value_error", "Value error, {msg}", {"msg": str(ctx.get("error", ""))}
                ),
                "loc": (prefix, *e["loc"]),
                "input": e["input"],
            }
        else:
            detail = {"type": kind, "loc": (prefix, *e["loc"]), "input": e["input"], "ctx": ctx}
        out.append(detail)
    return out


class ActivityConfig(_Model):
    """Where one role runs and how each target would size it (only the chosen target's is used).

    In a stack file the sizing of each target sits beside `target` under the target's key
    (`activities.extraction.lambda.timeoutSeconds`); every registered target's section is validated by
    that target's own sizing model, so flipping `target` needs no other key.
    """

    target: TargetKey = Field(
        description="Where the role runs: a registered target key (ec2, cloudrun, lambda)."
    )
    activity_timeout_seconds: Annotated[
        int | None,
        Field(
            ge=1,
            le=24 * 3600,
            description="Start-to-close timeout of the role's activity (the workflow sets it; unset for "
            "the workflow role).",
        ),
    ] = None
    sizings: SkipJsonSchema[dict[str, SerializeAsAny[ConfigModel]]] = Field(default_factory=dict, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _sizing_sections(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or "sizings" in data:
            return data
        targets = all_targets()
        out = {k: v for k, v in data.items() if k not in targets}
        sizings: dict[str, ConfigModel] = {}
        errors: list[InitErrorDetails] = []
        for key, target in targets.items():
            raw = data.get(key)
            if isinstance(raw, target.sizing_model):
                sizings[key] = raw
                continue
            try:
                sizings[key] = target.sizing_model.model_validate({} if raw is None else raw)
            except ValidationError as err:
                errors.extend(_prefixed(err, key))
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        out["sizings"] = sizings
        return out

    @field_validator("target")
    @classmethod
    def _known_target(cls, value: str) -> str:
        keys = list(all_targets())
        if value not in keys:
            expected = ", ".join(repr(k) for k in keys[:-1]) + f" or {keys[-1]!r}"
            raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
        return value

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        sizings = data.pop("sizings", {})
        return {**data, **sizings}

    def sizing_for(self, target: TargetKey) -> ConfigModel:
        """The sizing the role would have on `target`."""
        try:
            return self.sizings[target]
        except KeyError:
            get_target(target)  # an unknown key fails with the valid ones
            raise

    def sizing(self) -> ConfigModel:
        """The sizing on the role's own target."""
        return self.sizing_for(self.target)

    def with_sizing(self, target: TargetKey, sizing: ConfigModel) -> ActivityConfig:
        return self.model_copy(update={"sizings": {**self.sizings, target: sizing}})


Sizing = ConfigModel


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
    """`backends.extraction`: how the extraction role turns a document into elements."""

    kind: ExtractionKind = Field(
        WORKER.extraction_backend, description="unstructured-api (hosted, needs unstructuredApiKey) or local."
    )
    server_url: str = Field(WORKER.unstructured_api_url, description="Unstructured API base URL.")
    strategy: UnstructuredStrategy = Field(WORKER.unstructured_strategy, description="Unstructured strategy.")
    split_pdf_page: bool = Field(
        WORKER.unstructured_split_pdf_page,
        description="Send multi-page PDFs as parallel page chunks (unstructured-client's split_pdf_page).",
    )

    @field_validator("server_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value)


class AnalysisBackend(_Model):
    """`backends.analysis`: how the analysis role reads the elements."""

    kind: AnalysisKind = Field(
        WORKER.analysis_backend, description="strands (a Strands agent on a model provider) or heuristic."
    )
    provider: ModelProvider = Field(WORKER.model_provider, description="Model provider of the strands agent.")
    model_id: str | None = Field(WORKER.model_id, description="Model (or Bedrock inference profile) id.")
    ollama_host: str = Field(WORKER.ollama_host, description="Ollama server URL (provider ollama).")
    max_concurrent_calls: Annotated[
        int, Field(ge=1, le=1000, description="Model calls in flight at once per stack (Valkey semaphore).")
    ] = WORKER.max_concurrent_model_calls

    @field_validator("ollama_host")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value)


class EnrichmentBackend(_Model):
    """`backends.enrichment`: where model-written code runs when analysis asks for it."""

    kind: EnrichmentKind = Field(
        WORKER.enrichment_backend, description="e2b (hosted sandboxes, needs e2bApiKey) or local-sandbox."
    )
    timeout_seconds: Annotated[int, Field(ge=1, le=3600, description="Wall clock of one sandbox run.")] = int(
        WORKER.enrichment_timeout_seconds
    )
    max_concurrent_sandboxes: Annotated[
        int, Field(ge=1, le=1000, description="Sandboxes at once per stack (Valkey semaphore / concurrency).")
    ] = WORKER.max_concurrent_sandboxes


class Backends(_Model):
    extraction: ExtractionBackend = ExtractionBackend()
    analysis: AnalysisBackend = AnalysisBackend()
    enrichment: EnrichmentBackend = EnrichmentBackend()


class TemporalConfig(_Model):
    mode: TemporalMode = "cloud"
    namespace: str = Field("docpipe", pattern=r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")
    # external: host:port of an existing Temporal; cloud: filled from the created namespace.
    address: str | None = Field(None, pattern=r"^[A-Za-z0-9.-]+:\d{2,5}$")
    cloud_region: str = Field(
        "aws-us-east-1",
        description="Temporal Cloud region of the namespace (mode cloud). Its cloud decides which serverless "
        "targets Temporal's worker controller can drive: aws-* → Lambda, gcp-* → Cloud Run.",
    )
    retention_days: Annotated[int, Field(ge=1, le=90)] = 7
    self_hosted_instance_type: str = "t4g.small"
    worker_controller_providers: tuple[ComputeProvider, ...] | None = Field(
        None,
        description="Compute providers the server's worker controller has enabled "
        "(workercontroller.compute_providers.enabled), modes self-hosted and external only; unset = "
        "aws-lambda (what docpipe's self-hosted server enables). Temporal Cloud derives it from cloudRegion.",
    )
    cloud_run_principal: str | None = Field(
        None,
        pattern=r"^(serviceAccount|principal|principalSet|user|group):\S+$",
        description="IAM member Temporal's worker controller acts as when it scales Cloud Run pools "
        "(scaler temporal): it gets roles/iam.serviceAccountTokenCreator on each pool's scaler account. "
        "Ask Temporal for it (Cloud: your account team / the Cloud Run setup guide; self-hosted: your "
        "server's GCP identity).",
    )

    @field_validator("cloud_region")
    @classmethod
    def _cloud_region(cls, value: str) -> str:
        return _region("temporalCloud", value)

    def controller_providers(self) -> tuple[frozenset[str], str]:
        """The compute providers Temporal's worker controller can drive for this namespace, and why."""
        if self.mode == "cloud":
            cloud = self.cloud_region.split("-", 1)[0]
            provider = {"aws": "aws-lambda", "gcp": "gcp-cloud-run"}[cloud]
            return frozenset({provider}), (
                f"temporal.cloudRegion {self.cloud_region} is {'an' if cloud == 'aws' else 'a'} "
                f"{cloud.upper()}-hosted Temporal Cloud namespace "
                f"(its worker controller drives {provider} only)"
            )
        if self.worker_controller_providers is None:
            return frozenset({"aws-lambda"}), (
                f"temporal.mode {self.mode} with temporal.workerControllerProviders unset (= aws-lambda)"
            )
        shown = ", ".join(self.worker_controller_providers) or "none"
        return frozenset(self.worker_controller_providers), (
            f"temporal.mode {self.mode} with temporal.workerControllerProviders [{shown}]"
        )


class DatabaseConfig(_Model):
    instance_class: str = Field("db.t4g.micro", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    allocated_storage_gb: Annotated[int, Field(ge=20, le=65536)] = 20
    engine_version: str = "17"
    multi_az: bool = False
    # Who may reach PostgreSQL: only resources in the VPC, or TLS from listed networks (needed
    # when storage runs on Cloud Run, outside AWS).
    reachability: Literal["vpc-only", "public-tls"] = "vpc-only"
    allowed_cidrs: tuple[str, ...] = ()
    # On by default: losing the documents' results is not undoable, a refused destroy is (set it
    # false, `pulumi up`, then `pulumi destroy`). A final snapshot is taken on every delete either way.
    deletion_protection: bool = Field(
        True,
        description="RDS deletion protection: `pulumi destroy` (or a replacement) refuses to delete the "
        "instance until this is false and applied. A uniquely named final snapshot is taken on delete.",
    )

    @field_validator("engine_version", mode="before")
    @classmethod
    def _engine_version(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # `engineVersion: 16` in YAML is a number; the provider takes "16"
        if not isinstance(value, str):
            return value  # the str field rejects it with the type
        m = _ENGINE_VERSION.fullmatch(value)
        if not m or int(m.group(1)) not in POSTGRES_MAJORS:
            raise ValueError(
                "is not an RDS for PostgreSQL version; use a major version "
                f"{POSTGRES_MAJORS.start}-{POSTGRES_MAJORS.stop - 1} (e.g. 17) or major.minor (e.g. 16.4)"
            )
        return value

    @field_validator("allowed_cidrs")
    @classmethod
    def _networks(cls, cidrs: tuple[str, ...]) -> tuple[str, ...]:
        networks: list[IpNetwork] = []
        for cidr in cidrs:
            try:
                networks.append(ipaddress.ip_network(cidr, strict=False))
            except ValueError:
                raise ValueError(f"{cidr!r} is not a CIDR network (e.g. 203.0.113.0/24)") from None
        open_to = internet_covered(networks)
        if open_to:
            raise ValueError(
                f"together admit the whole internet ({open_to}); list only the egress networks of the "
                "workers outside AWS"
            )
        return cidrs

    @model_validator(mode="after")
    def _cidrs(self) -> DatabaseConfig:
        if self.reachability == "public-tls" and not self.allowed_cidrs:
            raise ValueError(
                "reachability public-tls needs allowedCidrs (the egress networks of the workers "
                "outside AWS); 0.0.0.0/0 is not accepted"
            )
        return self


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def internet_covered(networks: list[IpNetwork]) -> str:
    """`"0.0.0.0/0"` / `"::/0"` when the union of `networks` is a whole address family, else "".

    0.0.0.0/1 + 128.0.0.0/1 is as open as 0.0.0.0/0: the union is collapsed before it is judged.
    """
    found = []
    for version, whole in ((4, "0.0.0.0/0"), (6, "::/0")):
        same = [n for n in networks if n.version == version]
        if any(n.prefixlen == 0 for n in ipaddress.collapse_addresses(same)):  # type: ignore[type-var]
            found.append(whole)
    return " and ".join(found)


class CacheConfig(_Model):
    mode: Literal["serverless", "node"] = "serverless"
    node_type: str = "cache.t4g.micro"
    max_storage_gb: Annotated[int, Field(ge=1, le=5000)] = 1


class BucketConfig(_Model):
    """`bucket`: the document bucket's trigger and what `pulumi destroy` does with it."""

    upload_prefix: str = Field(
        WORKER.upload_prefix,
        description="Key prefix whose uploads start a workflow (the S3 notification filter, the starter "
        "and `docpipe submit` use it; exported as the uploadPrefix stack output). Ends with `/`; not "
        "empty and not under `v0/`, where Temporal's external storage writes large payloads.",
    )
    retain_on_destroy: bool = Field(
        True,
        description="Keep the bucket, its documents and its access block when the stack is destroyed "
        "(removed from the state only). false: `pulumi destroy` deletes every object and version in it.",
    )

    @field_validator("upload_prefix")
    @classmethod
    def _prefix(cls, prefix: str) -> str:
        if not _UPLOAD_PREFIX.fullmatch(prefix):
            raise ValueError(
                "must be 1-4 path segments of letters, digits, `.`, `_` or `-`, ending with `/` "
                "(e.g. incoming/ or docs/in/); an empty prefix would make every object written to the "
                "bucket, results included, start a workflow"
            )
        if prefix.startswith(PAYLOAD_KEY_PREFIX):
            raise ValueError(
                f"must not be under {PAYLOAD_KEY_PREFIX} (Temporal's external storage writes large payloads "
                "there: each would start a workflow)"
            )
        return prefix


class GcpConfig(_Model):
    project: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    region: str = Field("us-central1", description="Google Cloud region of the Cloud Run roles.")
    crema_image: str | None = Field(
        None,
        pattern=r"^[a-z0-9.-]+(:[0-9]+)?/[A-Za-z0-9._/-]+(:[A-Za-z0-9_.-]+|@sha256:[a-f0-9]{64})$",
        description="CREMA autoscaler image (required when a Cloud Run role's scaler is crema): Google's "
        "pre-built us-central1-docker.pkg.dev/cloud-run-oss-images/crema-v1/autoscaler:<tag>, or your own "
        "build (docs/cloud-run-scaling.md).",
    )
    crema_base_image: str = Field(
        "us-central1-docker.pkg.dev/serverless-runtimes/google-24/runtimes/java25",
        description="Base image the CREMA service runs on (CREMA's image is built FROM scratch for Cloud "
        "Run's automatic base image updates; its README deploys it with this base).",
    )
    crema_polling_seconds: Annotated[
        int,
        Field(
            ge=60,
            le=3600,
            description="How often Cloud Scheduler invokes CREMA to read the task-queue backlogs and resize "
            "the pools (a whole number of minutes): adds up to this much to every scale-up and scale-down.",
        ),
    ] = 60

    @field_validator("region")
    @classmethod
    def _gcp_region(cls, value: str) -> str:
        return _region("gcp", value)

    @field_validator("crema_polling_seconds")
    @classmethod
    def _whole_minutes(cls, value: int) -> int:
        if value % 60:
            raise ValueError(
                "must be a whole number of minutes (Cloud Scheduler's cron schedule runs at most once a "
                f"minute): use {max(60, value // 60 * 60)} or {(value // 60 + 1) * 60}"
            )
        return value


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
    bucket: BucketConfig = BucketConfig()
    gcp: GcpConfig | None = None
    image_tag: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
        description="Tag of the worker image and the Worker Deployment build id. Unset: derived from the "
        "image's content (src-<hash> of what the Dockerfile copies). A moving tag (latest, main …) is "
        "refused: one build id must name one build.",
    )
    prices: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=dict,
        description="Price-book overrides by key (docpipe/cost/pricebook.yaml): finite and >= 0.",
    )
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

    @field_validator("aws_region")
    @classmethod
    def _aws_region(cls, value: str) -> str:
        return _region("aws", value)

    @field_validator("image_tag")
    @classmethod
    def _one_build(cls, value: str | None) -> str | None:
        if value is not None and value.lower() in MOVING_TAGS:
            raise ValueError(
                f"{value!r} names whatever was pushed last, but Temporal's Worker Versioning routes each "
                "workflow to the build it started on; leave imageTag unset (docpipe derives src-<hash> "
                "from the image's content) or use a tag that names one build (a git sha, a release)"
            )
        return value

    @property
    def build_id(self) -> str:
        """The Worker Deployment build id (`imageTag`, derived from the image's content when unset)."""
        if self.image_tag is None:
            raise ValueError("imageTag is unresolved: load the stack with docpipe.stackfile (it derives one)")
        return self.image_tag

    def targets(self) -> set[TargetKey]:
        return {self.activities[role].target for role in ROLES}


class ConfigError(ValueError):
    """Invalid stack config; `problems` holds one line per problem, each naming the config path."""

    def __init__(self, stack: str, problems: list[str], heading: str | None = None) -> None:
        self.stack = stack
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{heading or f'stack {stack!r} has invalid docpipe config:'}\n{lines}")


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


def _holds_text(annotation: Any) -> bool:
    """str, str | None, or a Literal of strings."""
    if annotation is str:
        return True
    args = get_args(annotation)
    if not args:
        return False
    if all(isinstance(a, str) for a in args):  # Literal["a", "b"]
        return True
    return any(_holds_text(a) for a in args if a is not type(None))


def text_key(path: str) -> bool:
    """Whether the `docpipe:` key at dotted `path` holds text (so `--set imageTag=1.10` stays "1.10")."""
    model: type[BaseModel] | None = StackConfig
    parts = path.split(".")
    for i, key in enumerate(parts):
        if model is None:
            return False
        if model is ActivityConfig and key in all_targets():
            model = all_targets()[key].sizing_model
            continue
        field = next((f for name, f in model.model_fields.items() if key in {name, f.alias}), None)
        if field is None:
            return False
        if i == len(parts) - 1:
            return _holds_text(field.annotation)
        candidates = [a for a in (get_args(field.annotation) or (field.annotation,)) if isinstance(a, type)]
        model = next((a for a in candidates if issubclass(a, BaseModel)), None)
    return False


def _valid_keys(model: type[BaseModel]) -> list[str]:
    keys = [
        f.alias or n
        for n, f in model.model_fields.items()
        if n not in {"stack", "secrets_present", "sizings"}
    ]
    if model is ActivityConfig:
        keys += list(all_targets())
    return sorted(keys)


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class that owns the field at `loc` (for listing valid keys)."""
    model: type[BaseModel] | None = StackConfig
    for key in loc:
        if model is None or not isinstance(key, str):
            return None
        if model is ActivityConfig and key in all_targets():
            model = all_targets()[key].sizing_model
            continue
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
        valid = _valid_keys(owner) if owner else []
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
    # The region comes from the provider's own key (stackfile reads aws:region into awsRegion).
    key = "aws:region" if path == "awsRegion" else f"{NAMESPACE}:{path}"
    return f"{key}: {message}{shown}"


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
    problems.extend(rules.problems(config, check_secrets))
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
    # Each registered target's sizing section, as ActivityConfig's validator reads it.
    defs = schema.setdefault("$defs", {})
    activity = defs[ActivityConfig.__name__]
    for key, target in all_targets().items():
        model = target.sizing_model
        sub = model.model_json_schema(by_alias=True, mode="validation", ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        defs[model.__name__] = sub
        activity["properties"][key] = {"$ref": f"#/$defs/{model.__name__}", "description": target.description}
    return schema
