"""PlacementPlan: for each role, where it runs and what it needs — pure data, no Pulumi.

Everything downstream reads the plan: the Pulumi program declares resources from it, `docpipe dev`
starts local processes from it, the cost model prices it and the policy pack checks it. A target
flip therefore shows up in exactly one place.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from docpipe.config import ActivityConfig, Backends, SecretName, Sizing, StackConfig, TargetKey
from docpipe.targets import Target, get_target
from workers.contract import ROLES, Role, deployment_name, task_queue

Need = Literal["database", "cache", "bucket", "internet", "temporal"]


@dataclass(frozen=True)
class RolePlacement:
    """One role's placement: target, sizing, queue and what it must reach."""

    role: Role
    target: TargetKey
    sizing: Sizing
    task_queue: str
    deployment_name: str
    activity_timeout_seconds: int | None
    backend: str | None
    needs: frozenset[Need]
    secrets: tuple[SecretName, ...]
    vpc_attached: bool
    uses_cache: bool
    # Attached to the VPC only to reach the cache, because the stack has a NAT gateway anyway.
    joined_vpc_for_cache: bool = False
    # Whether the role reaches Valkey and, if not, why and what caps its work instead (`settle`).
    cache_note: str = ""

    @property
    def target_unit(self) -> Target[Any]:
        """The registered target this role runs on (its rules, runtime, cost and simulation)."""
        return get_target(self.target)

    @property
    def needs_nat(self) -> bool:
        """Whether this role needs a NAT gateway to reach the internet (a VPC-attached Lambda does;
        EC2 workers sit in public subnets with public addresses, Cloud Run is outside the VPC)."""
        return self.target_unit.needs_nat(self)

    def sizing_summary(self) -> str:
        return self.target_unit.summary(self.sizing)

    def runtime(self) -> dict[str, Any]:
        """The settings that decide how this placement behaves at run time (from its target)."""
        return dict(self.target_unit.runtime(self))

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
            "joinedVpcForCache": self.joined_vpc_for_cache,
            "cacheNote": self.cache_note,
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

    def on(self, target: TargetKey) -> list[RolePlacement]:
        return [p for p in self if p.target == target]

    @property
    def targets(self) -> set[TargetKey]:
        return {p.target for p in self}

    @property
    def uses_gcp(self) -> bool:
        return any(p.target_unit.cloud == "gcp" for p in self)

    @property
    def needs_nat(self) -> bool:
        return any(p.needs_nat for p in self)

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


def backend_label(role: Role, b: Backends) -> str | None:
    """The backend a role runs, as the plan and `docpipe dev` name it (e.g. `strands/bedrock`)."""
    if role == "extraction":
        return b.extraction.kind
    if role == "analysis":
        return b.analysis.kind if b.analysis.kind == "heuristic" else f"strands/{b.analysis.provider}"
    if role == "enrichment":
        return b.enrichment.kind
    if role == "storage":
        return "postgres"
    return None


def role_needs(config: StackConfig, role: Role) -> set[Need]:
    """What a role's workers must reach, whatever their target (before the cache is ruled out)."""
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
    needs = role_needs(config, role)
    target = activity.target
    unit = get_target(target)
    vpc_attached = unit.joins_vpc(config, role, frozenset(needs))
    # The cache lives in the VPC; a role outside it runs uncached rather than paying to reach it.
    uses_cache = "cache" in needs and vpc_attached
    if not uses_cache:
        needs.discard("cache")
    return RolePlacement(
        role=role,
        target=target,
        sizing=unit.resolve(config, role, activity.sizing()),
        task_queue=task_queue(role),
        deployment_name=deployment_name(config.stack, role),
        activity_timeout_seconds=activity.activity_timeout_seconds,
        backend=backend_label(role, config.backends),
        needs=frozenset(needs),
        secrets=_secrets(config, role),
        vpc_attached=vpc_attached,
        uses_cache=uses_cache,
    )


def place_role(config: StackConfig, role: Role) -> RolePlacement:
    """A role's placement from its own target alone, before `settle` weighs the rest of the stack."""
    return _placement(config, role, config.activities[role])


def settle(config: StackConfig, roles: Mapping[Role, RolePlacement]) -> PlacementPlan:
    """The plan of per-role placements (`place_role`), with what couples the roles decided.

    Valkey is in every stack's VPC. When the stack has a NAT gateway anyway (a VPC-attached Lambda
    needs the internet), a role left outside the VPC whose work the cache serves (extraction,
    analysis, enrichment) joins it if its target can (`Target.joins_vpc_for_cache`: Lambda, not Cloud
    Run): it then reaches the cache and the stack-wide caps, and its internet traffic takes the NAT
    gateway that is there regardless. Each role's `cache_note` says the outcome.
    """
    nat = any(p.needs_nat for p in roles.values())
    settled: dict[Role, RolePlacement] = {}
    for role in ROLES:
        p = roles[role]
        wants = "cache" in role_needs(config, role)
        if nat and wants and not p.vpc_attached and p.target_unit.joins_vpc_for_cache(config, role, p.needs):
            p = replace(
                p, vpc_attached=True, uses_cache=True, joined_vpc_for_cache=True, needs=p.needs | {"cache"}
            )
        settled[role] = replace(p, cache_note=_cache_note(config, p, wants))
    return PlacementPlan(config=config, roles=settled)


def _cache_note(config: StackConfig, p: RolePlacement, wants: bool) -> str:
    b = config.backends
    if not wants:
        return "no cached work in this role (the cache serves extraction, analysis and enrichment)"
    caps = {
        "analysis": ("model calls", "backends.analysis.maxConcurrentCalls", b.analysis.max_concurrent_calls),
        "enrichment": (
            "sandboxes",
            "backends.enrichment.maxConcurrentSandboxes",
            b.enrichment.max_concurrent_sandboxes,
        ),
    }.get(p.role)
    if p.uses_cache:
        joined = " (joined the VPC for it: its internet traffic takes the stack's NAT gateway)"
        note = "reaches Valkey in the VPC: results cached by content hash" + (
            joined if p.joined_vpc_for_cache else ""
        )
        if caps is not None:
            what, key, n = caps
            note += f"; at most {n} {what} at once across the stack ({key}, a Valkey semaphore)"
        return note
    why = p.target_unit.cache_unreachable(config, p.role)
    note = f"no cache: {why}; every document is processed afresh"
    if caps is not None:
        what, key, n = caps
        bound = p.target_unit.worker_bound(p)
        note += f"; {what} capped at {n} per worker ({key}) × {bound}, not stack-wide"
    return note


def build_plan(config: StackConfig) -> PlacementPlan:
    """Derive the PlacementPlan of a validated StackConfig."""
    return settle(config, {role: place_role(config, role) for role in ROLES})
