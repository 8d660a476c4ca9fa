"""Placement variants of a config: other targets, other traffic, capacity sized to the load.

The recommender and `docpipe cost compare` price placements the stack does not have. They start
from a validated StackConfig (a stack's, or `default_config()`), change targets with
`with_targets`, and `right_size` the capacity of every target so each placement is priced at a
size that can carry the traffic (a fixed model is not penalised for a preset sized for 10 files a
day).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from docpipe.config import (
    DEFAULT_MINUTES_PER_FILE,
    LAMBDA_MAX_TIMEOUT_SECONDS,
    ActivityConfig,
    StackConfig,
    Target,
    validate_stack_config,
)
from docpipe.cost.capacity import lambda_usage
from docpipe.cost.load import role_load
from docpipe.cost.pricebook import PriceBook
from docpipe.presets import TIER_TARGETS, preset_activities
from workers.contract import ACTIVITY_ROLES, ROLES, Role

# Peak-to-mean ratio capacity is sized for: the diurnal profile peaks at 1.8× the mean.
PEAK_FACTOR = {"steady": 1.0, "diurnal": 1.8, "bursty": 1.8}

MODELS: dict[str, dict[Role, Target]] = {
    "all-ec2": dict.fromkeys(ROLES, "ec2"),
    "all-lambda": dict.fromkeys(ROLES, "lambda"),
    "all-cloudrun": dict.fromkeys(ROLES, "cloudrun"),
    # The seed's final recommendation (tiers 1–2): containers for extraction and analysis,
    # Lambda for enrichment and storage; the workflow worker as the low/medium presets place it.
    "seed-hybrid": {role: target for role, target in TIER_TARGETS["medium"].items()},  # type: ignore[misc]
}


def default_config(
    files_per_day: float = 10,
    minutes: Mapping[str, float] | None = None,
    tier: str = "medium",
    **traffic: Any,
) -> StackConfig:
    """A config with docpipe's defaults (offline backends, Temporal Cloud) for a traffic level."""
    raw: dict[str, Any] = {
        "tier": tier,
        "activities": preset_activities(tier),  # type: ignore[arg-type]
        "traffic": {
            "filesPerDay": files_per_day,
            "minutesPerFile": {**DEFAULT_MINUTES_PER_FILE, **(minutes or {})},
            **traffic,
        },
        "gcp": {"project": "docpipe-example"},
    }
    return validate_stack_config("defaults", raw, check_secrets=False)


def with_traffic(config: StackConfig, **changes: Any) -> StackConfig:
    """The config with traffic fields replaced (e.g. `files_per_day=300`)."""
    return config.model_copy(update={"traffic": config.traffic.model_copy(update=changes)})


def with_targets(config: StackConfig, targets: Mapping[Role, Target]) -> StackConfig:
    """The config with roles moved to other targets (sizing for every target is already there)."""
    update: dict[str, Any] = {
        role: config.activities[role].model_copy(update={"target": target})
        for role, target in targets.items()
    }
    return config.model_copy(update={"activities": config.activities.model_copy(update=update)})


def lambda_timeout_needed(config: StackConfig, role: Role) -> int:
    """The Lambda timeout a role's activity needs: its activity timeout (or run time) plus the buffer."""
    activity = config.activities[role]
    if role == "workflow":
        return activity.lambda_.timeout_seconds
    run = config.traffic.minutes(role) * 60
    timeout = max(activity.activity_timeout_seconds or 0, math.ceil(run * 1.5))
    return timeout + activity.lambda_.shutdown_buffer_seconds


def _sized(config: StackConfig, role: Role, prices: PriceBook) -> ActivityConfig:
    activity = config.activities[role]
    load = role_load(role, config.traffic, prices)
    peak = load.utilisation * PEAK_FACTOR[config.traffic.profile]
    update: dict[str, Any] = {}
    per_instance = prices.get("assume.ec2TasksPerInstance")
    u = prices.get("assume.cloudRunTargetUtilisation")
    ec2 = activity.ec2
    need = max(1, math.ceil(peak / (per_instance * u)))
    if need > ec2.desired_capacity:
        update["ec2"] = ec2.model_copy(
            update={
                "desired_capacity": need,
                "max_size": max(ec2.max_size, need + 1),
                "min_size": ec2.min_size,
            }
        )
    cr = activity.cloudrun
    need = min(100, math.ceil(peak / (cr.cpu * u)) + 1)
    if need > cr.max_instances:
        update["cloudrun"] = cr.model_copy(update={"max_instances": need})
    lam = activity.lambda_
    lam_update: dict[str, Any] = {}
    if role != "workflow":
        timeout = lambda_timeout_needed(config, role)
        if timeout > lam.timeout_seconds:
            lam_update["timeout_seconds"] = min(timeout, LAMBDA_MAX_TIMEOUT_SECONDS)
        if (
            role in ACTIVITY_ROLES
            and (activity.activity_timeout_seconds or 0) < timeout - lam.shutdown_buffer_seconds
        ):
            update["activity_timeout_seconds"] = timeout - lam.shutdown_buffer_seconds
    if lam.reserved_concurrency is not None:
        billed = lam_update.get("timeout_seconds", lam.timeout_seconds)
        use = lambda_usage(
            load.tasks, load.task_seconds, load.month_seconds, billed - lam.shutdown_buffer_seconds, billed
        )
        need = math.ceil(use.mean_concurrency * PEAK_FACTOR[config.traffic.profile]) + 2
        if need > lam.reserved_concurrency:
            lam_update["reserved_concurrency"] = min(1000, need)
    if lam_update:
        update["lambda_"] = lam.model_copy(update=lam_update)
    return activity.model_copy(update=update) if update else activity


def right_size(config: StackConfig, prices: PriceBook) -> StackConfig:
    """Every target's capacity raised (never lowered) to carry the traffic at its peak."""
    update: dict[str, Any] = {role: _sized(config, role, prices) for role in ROLES}
    return config.model_copy(update={"activities": config.activities.model_copy(update=update)})


def sizing_changes(before: StackConfig, after: StackConfig, role: Role, target: Target) -> dict[str, Any]:
    """The camelCase keys of a role's sizing (and activity timeout) that right-sizing changed."""
    old, new = before.activities[role], after.activities[role]
    key = "lambda" if target == "lambda" else target
    out: dict[str, Any] = {}
    a = getattr(old, "lambda_" if target == "lambda" else target).model_dump(by_alias=True)
    b = getattr(new, "lambda_" if target == "lambda" else target).model_dump(by_alias=True)
    diff = {k: v for k, v in b.items() if a.get(k) != v}
    if diff:
        out[key] = diff
    if old.activity_timeout_seconds != new.activity_timeout_seconds:
        out["activityTimeoutSeconds"] = new.activity_timeout_seconds
    return out
