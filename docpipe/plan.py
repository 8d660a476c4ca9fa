"""PlacementPlan: for each role, where it runs and what it needs — pure data, no Pulumi.

Everything downstream reads the plan: the Pulumi program declares resources from it, `docpipe dev`
starts local processes from it, the cost model prices it and the policy pack checks it. A target
flip therefore shows up in exactly one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from docpipe.config import (
    ActivityConfig,
    CloudRunSizing,
    Ec2Sizing,
    LambdaSizing,
    SecretName,
    Sizing,
    StackConfig,
    Target,
)
from workers.contract import ROLES, Role, deployment_name, task_queue

Need = Literal["database", "cache", "bucket", "internet", "temporal"]


@dataclass(frozen=True)
class RolePlacement:
    """One role's placement: target, sizing, queue and what it must reach."""

    role: Role
    target: Target
    sizing: Sizing
    task_queue: str
    deployment_name: str
    activity_timeout_seconds: int | None
    backend: str | None
    needs: frozenset[Need]
    secrets: tuple[SecretName, ...]
    vpc_attached: bool
    uses_cache: bool

    @property
    def needs_nat(self) -> bool:
        """A VPC-attached Lambda reaches the internet only through a NAT gateway.

        EC2 workers sit in public subnets with a public address and an egress-only security group,
        so they need no NAT; Cloud Run is outside the VPC.
        """
        return self.target == "lambda" and self.vpc_attached and "internet" in self.needs

    @property
    def ec2(self) -> Ec2Sizing:
        assert isinstance(self.sizing, Ec2Sizing), f"{self.role} is on {self.target}, not ec2"
        return self.sizing

    @property
    def cloudrun(self) -> CloudRunSizing:
        assert isinstance(self.sizing, CloudRunSizing), f"{self.role} is on {self.target}, not cloudrun"
        return self.sizing

    @property
    def lambda_(self) -> LambdaSizing:
        assert isinstance(self.sizing, LambdaSizing), f"{self.role} is on {self.target}, not lambda"
        return self.sizing

    def sizing_summary(self) -> str:
        s = self.sizing
        if isinstance(s, Ec2Sizing):
            return f"{s.instance_type} ×{s.min_size}/{s.desired_capacity}/{s.max_size}"
        if isinstance(s, CloudRunSizing):
            return f"{s.cpu} vCPU {s.memory_mib} MiB, {s.min_instances}–{s.max_instances} inst."
        reserved = "" if s.reserved_concurrency is None else f", reserved {s.reserved_concurrency}"
        return f"{s.memory_mb} MB {s.architecture}, {s.timeout_seconds} s{reserved}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "target": self.target,
            "sizing": self.sizing.model_dump(by_alias=True),
            "taskQueue": self.task_queue,
            "deploymentName": self.deployment_name,
            "activityTimeoutSeconds": self.activity_timeout_seconds,
            "backend": self.backend,
            "needs": sorted(self.needs),
            "secrets": list(self.secrets),
            "vpcAttached": self.vpc_attached,
            "usesCache": self.uses_cache,
            "needsNat": self.needs_nat,
        }


@dataclass(frozen=True)
class PlacementPlan:
    """The whole stack's placement, derived from a validated StackConfig."""

    config: StackConfig
    roles: dict[Role, RolePlacement] = field(default_factory=dict)

    @property
    def stack(self) -> str:
        return self.config.stack

    def __getitem__(self, role: Role) -> RolePlacement:
        return self.roles[role]

    def __iter__(self) -> Iterator[RolePlacement]:
        return iter([self.roles[r] for r in ROLES])

    def on(self, target: Target) -> list[RolePlacement]:
        return [p for p in self if p.target == target]

    @property
    def targets(self) -> set[Target]:
        return {p.target for p in self}

    @property
    def uses_gcp(self) -> bool:
        return any(p.target == "cloudrun" for p in self)

    @property
    def needs_nat(self) -> bool:
        return any(p.needs_nat for p in self)

    @property
    def needs_vpc_lambda(self) -> bool:
        return any(p.target == "lambda" and p.vpc_attached for p in self)

    def stage_timeouts(self) -> dict[str, int]:
        """Start-to-close seconds per activity role, as the workflow must use them.

        The workflow sets each activity's timeout, so whoever starts workflows (the bucket starter,
        `docpipe submit`, `docpipe dev`) passes these on (Env.STAGE_TIMEOUTS); the Lambda timeout
        rule in config validation is only sound if the workflow uses the same numbers.
        """
        return {p.role: p.activity_timeout_seconds for p in self if p.activity_timeout_seconds is not None}

    def secrets(self) -> list[SecretName]:
        """Every secret some role needs, in a stable order."""
        seen: dict[SecretName, None] = {}
        for p in self:
            seen.update(dict.fromkeys(p.secrets))
        return list(seen)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "tier": self.config.tier,
            "temporal": self.config.temporal.mode,
            "usesGcp": self.uses_gcp,
            "needsNat": self.needs_nat,
            "roles": {p.role: p.to_dict() for p in self},
        }


def _backend(config: StackConfig, role: Role) -> str | None:
    b = config.backends
    if role == "extraction":
        return b.extraction.kind
    if role == "analysis":
        return b.analysis.kind if b.analysis.kind == "heuristic" else f"strands/{b.analysis.provider}"
    if role == "enrichment":
        return b.enrichment.kind
    if role == "storage":
        return "postgres"
    return None


def _needs(config: StackConfig, role: Role) -> set[Need]:
    needs: set[Need] = {"temporal", "bucket"}  # every worker polls Temporal; payloads go via the bucket
    if config.temporal.mode != "self-hosted":
        needs.add("internet")  # Temporal Cloud / an external Temporal is on the internet
    b = config.backends
    if role == "extraction":
        needs.add("cache")
        if b.extraction.kind == "unstructured-api":
            needs.add("internet")
    elif role == "analysis":
        needs.add("cache")
        if b.analysis.kind == "strands":
            needs.add("internet")  # model provider APIs (Bedrock's too, without VPC endpoints)
    elif role == "enrichment":
        needs.add("cache")
        if b.enrichment.kind == "e2b":
            needs.add("internet")
    elif role == "storage":
        needs.add("database")
    return needs


def _secrets(config: StackConfig, role: Role) -> tuple[SecretName, ...]:
    required = config.required_secrets()
    by_role: dict[Role, tuple[SecretName, ...]] = {
        "extraction": ("unstructuredApiKey",),
        "analysis": ("anthropicApiKey", "openaiApiKey"),
        "enrichment": ("e2bApiKey",),
    }
    wanted = by_role.get(role, ())
    names = tuple(s for s in wanted if s in required)
    if "temporalApiKey" in required:
        names += ("temporalApiKey",)
    return names


def _placement(config: StackConfig, role: Role, activity: ActivityConfig) -> RolePlacement:
    needs = _needs(config, role)
    target = activity.target
    if target == "ec2":
        vpc_attached = True
    elif target == "lambda":
        # A Lambda joins the VPC only for what lives there: the database, or a self-hosted Temporal.
        vpc_attached = "database" in needs or config.temporal.mode == "self-hosted"
    else:
        vpc_attached = False
    # The cache lives in the VPC; a role outside it runs uncached rather than paying to reach it.
    uses_cache = "cache" in needs and vpc_attached
    if not uses_cache:
        needs.discard("cache")
    return RolePlacement(
        role=role,
        target=target,
        sizing=activity.sizing(),
        task_queue=task_queue(role),
        deployment_name=deployment_name(config.stack, role),
        activity_timeout_seconds=activity.activity_timeout_seconds,
        backend=_backend(config, role),
        needs=frozenset(needs),
        secrets=_secrets(config, role),
        vpc_attached=vpc_attached,
        uses_cache=uses_cache,
    )


def build_plan(config: StackConfig) -> PlacementPlan:
    """Derive the PlacementPlan of a validated StackConfig."""
    roles = {role: _placement(config, role, config.activities[role]) for role in ROLES}
    return PlacementPlan(config=config, roles=roles)
