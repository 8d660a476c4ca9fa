"""Cross-key rules: why a stack config cannot work, each message naming the keys and what would.

The one module that judges a placement. Config validation calls `problems(config)`; the recommender
and `cost compare` call `placement_problems(config, role)` for every variant they price. A target's
own rules (its limits and timing) live with the target (`Target.rules`, e.g. Lambda's timeout rule);
the rules here follow from what a target declares (`in_aws_vpc`, `needs_section`) or from the stack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from docpipe.models import NAMESPACE
from docpipe.targets import all_targets, get_target
from workers.contract import ROLES, Role

if TYPE_CHECKING:
    from docpipe.config import StackConfig

RoleRule = Callable[["StackConfig", Role], "str | None"]


def _inside(config: StackConfig) -> str:
    return ", ".join(k for k, t in all_targets().items() if t.in_aws_vpc)


def database_reachable(config: StackConfig, role: Role) -> str | None:
    """A role that needs the database runs in the VPC unless the database accepts TLS from outside."""
    from docpipe.plan import role_needs

    key = config.activities[role].target
    if get_target(key).in_aws_vpc or "database" not in role_needs(config, role):
        return None
    if config.database.reachability != "vpc-only":
        return None
    return (
        f"{NAMESPACE}:database.reachability: 'vpc-only' cannot serve activities.{role}.target={key} "
        f"({key} is outside the AWS VPC); set database.reachability to public-tls with "
        f"database.allowedCidrs, or place {role} on {_inside(config)}"
    )


def temporal_reachable(config: StackConfig, role: Role) -> str | None:
    """A self-hosted Temporal lives in the VPC: targets outside it cannot poll it."""
    key = config.activities[role].target
    if get_target(key).in_aws_vpc or config.temporal.mode != "self-hosted":
        return None
    return (
        f"{NAMESPACE}:temporal.mode: 'self-hosted' runs Temporal inside the AWS VPC, which "
        f"activities.{role}.target={key} cannot reach; use temporal.mode cloud or external, or place "
        f"{role} on {_inside(config)}"
    )


def section_present(config: StackConfig, role: Role) -> str | None:
    """A target that needs a config section (Cloud Run: `gcp.project`) has it."""
    key = config.activities[role].target
    path = get_target(key).needs_section
    if path is None or getattr(config, path.split(".")[0], None) is not None:
        return None
    return (
        f"{NAMESPACE}:{path}: is required because activities.{role}.target is {key}; run "
        f"`pulumi config set --path {NAMESPACE}:{path} <value>`"
    )


# Temporal's rule for Serverless Workers (docs.temporal.io → serverless-workers/cloud-run, /aws-lambda).
PROVIDER_RULE = "Temporal: 'The Namespace's cloud provider must match the serverless compute provider'"
PROVIDER_TARGETS = {"aws-lambda": "lambda", "gcp-cloud-run": "cloudrun"}


def worker_controller_matches(config: StackConfig, role: Role) -> str | None:
    """A role whose workers Temporal starts (Lambda; Cloud Run with scaler temporal) needs a namespace
    whose worker controller drives that compute provider."""
    key = config.activities[role].target
    provider = get_target(key).temporal_compute_provider(config, role)
    if provider is None:
        return None
    providers, why = config.temporal.controller_providers()
    if provider in providers:
        return None
    if key == "cloudrun":
        setting = f"activities.{role}.cloudrun.scaler: temporal"
        fix = (
            f"set activities.{role}.cloudrun.scaler to crema (or leave it unset: the rule picks crema "
            "here), or use a gcp-* temporal.cloudRegion / a server with gcp-cloud-run enabled"
        )
    else:
        setting = f"activities.{role}.target: {key}"
        others = [p for p in PROVIDER_TARGETS if p in providers]
        where = f"a {others[0]} target" if others else "ec2"
        fix = (
            f"use an aws-* temporal.cloudRegion (or a self-hosted/external server with {provider} in "
            f"temporal.workerControllerProviders), or place {role} on ec2 or {where}"
        )
    return (
        f"{NAMESPACE}:{setting} needs Temporal's worker controller to drive {provider}, but {why}; "
        f"{PROVIDER_RULE}; {fix}"
    )


def target_rules(config: StackConfig, role: Role) -> list[str]:
    return get_target(config.activities[role].target).rules(config, role)


ROLE_RULES: tuple[RoleRule, ...] = (
    section_present,
    database_reachable,
    temporal_reachable,
    worker_controller_matches,
)


def placement_problems(config: StackConfig, role: Role) -> list[str]:
    """Why `role` cannot run where `config` places it (empty when it can)."""
    found = [p for rule in ROLE_RULES if (p := rule(config, role)) is not None]
    return found + target_rules(config, role)


def stack_problems(config: StackConfig, check_secrets: bool = True) -> list[str]:
    """Rules of the stack as a whole (not of one role's placement)."""
    found: list[str] = []
    if config.temporal.mode == "external" and not config.temporal.address:
        found.append(
            f"{NAMESPACE}:temporal.address: is required when temporal.mode is external "
            "(host:port of your Temporal frontend)"
        )
    found.extend(provider_pairs(config))
    found.extend(priced_types(config))
    found.extend(timing_problems(config))
    found.extend(capacity_problems(config))
    if check_secrets:
        for key, why in config.required_secrets().items():
            if key not in config.secrets_present:
                found.append(
                    f"{NAMESPACE}:{key}: secret is not set but {why}; run "
                    f"`pulumi config set --secret {NAMESPACE}:{key} <value>`"
                )
    return found


def provider_pairs(config: StackConfig) -> list[str]:
    """Mode/provider pairs Temporal (or docpipe's own server) does not support."""
    t = config.temporal
    if t.worker_controller_providers is None:
        return []
    if t.mode == "cloud":
        return [
            f"{NAMESPACE}:temporal.workerControllerProviders: cannot be set when temporal.mode is cloud "
            f"(Temporal Cloud's worker controller drives the provider of the namespace's cloud: "
            f"temporal.cloudRegion {t.cloud_region}); remove it, or pick an aws-* / gcp-* cloudRegion"
        ]
    if t.mode == "self-hosted" and "gcp-cloud-run" in t.worker_controller_providers:
        return [
            f"{NAMESPACE}:temporal.workerControllerProviders: gcp-cloud-run is not supported with "
            "temporal.mode self-hosted (docpipe's server runs inside the AWS VPC with an AWS identity only: "
            "Cloud Run pools cannot reach it and it cannot impersonate a Google account); use [aws-lambda], "
            "or temporal.mode external / cloud with a gcp-* cloudRegion for Temporal-scaled Cloud Run"
        ]
    return []


def priced_types(config: StackConfig) -> list[str]:
    """Every instance type, DB class and cache node type the stack names can be priced.

    The price book's per-type keys are the list of valid names (a stack adds one with
    `docpipe:prices`); each role's ec2 section is checked, placed on ec2 or not, so a later flip
    cannot meet an unpriceable type.
    """
    from docpipe import catalog

    named: list[tuple[catalog.TypeKind, str, str]] = []
    for role in ROLES:
        sizing = config.activities[role].sizings.get("ec2")
        itype = getattr(sizing, "instance_type", None)
        if itype is not None:
            named.append(("ec2", f"activities.{role}.ec2.instanceType", itype))
    named.append(("ec2", "temporal.selfHostedInstanceType", config.temporal.self_hosted_instance_type))
    named.append(("rds", "database.instanceClass", config.database.instance_class))
    named.append(("elasticache", "cache.nodeType", config.cache.node_type))
    found = []
    for kind, path, value in named:
        valid = catalog.priced_types(kind, config.prices)
        if value in valid:
            continue
        key = f"{catalog.PRICE_PREFIX[kind]}{value}"
        found.append(
            f"{NAMESPACE}:{path}: {value!r} cannot be priced (the price book has no {key}); priced: "
            f"{', '.join(valid)}{catalog.nearest(value, valid)}; or add its hourly price as "
            f"docpipe:prices.{key}"
        )
    return found


# The workflow's own start-to-close timeout of enrichment when activityTimeoutSeconds is unset.
DEFAULT_ENRICHMENT_ACTIVITY_SECONDS = 300


def timing_problems(config: StackConfig) -> list[str]:
    """A sandbox run must end inside the activity that waits for it."""
    sandbox = config.backends.enrichment.timeout_seconds
    activity = config.activities["enrichment"].activity_timeout_seconds or DEFAULT_ENRICHMENT_ACTIVITY_SECONDS
    if sandbox <= activity:
        return []
    return [
        f"{NAMESPACE}:backends.enrichment.timeoutSeconds: {sandbox} s is longer than "
        f"activities.enrichment.activityTimeoutSeconds ({activity} s): Temporal would time the activity "
        f"out and retry it while the sandbox still runs; set it to at most {activity} s or raise "
        "the activity timeout"
    ]


def capacity_problems(config: StackConfig) -> list[str]:
    """Every role must run: an EC2 group of 0 instances never serves its queue."""
    found = []
    for role in ROLES:
        activity = config.activities[role]
        if activity.target != "ec2":
            continue
        desired = getattr(activity.sizing(), "desired_capacity", None)
        if desired == 0:
            found.append(
                f"{NAMESPACE}:activities.{role}.ec2.desiredCapacity: 0 (with minSize 0) runs no worker "
                f"for {role}, so every document would wait forever; set desiredCapacity (and minSize) "
                "to at least 1, or place the role on lambda or cloudrun to scale to zero"
            )
    return found


def problems(config: StackConfig, check_secrets: bool = True) -> list[str]:
    """Every cross-key problem of a validated config, roles in pipeline order, then the stack's."""
    found: list[str] = []
    for role in ROLES:
        found.extend(placement_problems(config, role))
    # A stack-wide requirement several roles share (e.g. gcp.cremaImage) is said once.
    return list(dict.fromkeys(found + stack_problems(config, check_secrets)))
