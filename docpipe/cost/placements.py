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
    ActivityConfig,
    StackConfig,
    TargetKey,
    validate_stack_config,
)
from docpipe.cost.load import role_load
from docpipe.cost.pricebook import PriceBook
from docpipe.presets import TIER_TARGETS, preset_activities
from docpipe.targets import all_targets
from workers.contract import ACTIVITY_ROLES, ROLES, Role

# Peak-to-mean ratio capacity is sized for: the diurnal profile peaks at 1.8× the mean.
PEAK_FACTOR = {"steady": 1.0, "diurnal": 1.8, "bursty": 1.8}

# The original cost analysis's final recommendation (tiers 1–2): containers for extraction and
# analysis, Lambda for enrichment and storage; the workflow worker as the low/medium presets place it.
SEED_HYBRID: dict[Role, TargetKey] = {role: TIER_TARGETS["medium"][role] for role in ROLES}
# The original cost analysis compared these three with its hybrid.
UNIFORM_MODELS = ("ec2", "lambda", "cloudrun")


def models() -> dict[str, dict[Role, TargetKey]]:
    """The fixed placement models `cost compare` puts side by side: every role on one target, and the
    original cost analysis's hybrid."""
    uniform = [k for k in UNIFORM_MODELS if k in all_targets()] + [
        k for k in all_targets() if k not in UNIFORM_MODELS
    ]
    out: dict[str, dict[Role, TargetKey]] = {f"all-{k}": dict.fromkeys(ROLES, k) for k in uniform}
    out["original-hybrid"] = dict(SEED_HYBRID)
    return out


# Google's pre-built CREMA image (what the Cloud Run roles on an AWS-hosted namespace need).
CREMA_IMAGE = "us-central1-docker.pkg.dev/cloud-run-oss-images/crema-v1/autoscaler:1.2"


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
        "gcp": {"project": "docpipe-example", "cremaImage": CREMA_IMAGE},
    }
    return validate_stack_config("defaults", raw, check_secrets=False)


def with_traffic(config: StackConfig, **changes: Any) -> StackConfig:
    """The config with traffic fields replaced (e.g. `files_per_day=300`)."""
    return config.model_copy(update={"traffic": config.traffic.model_copy(update=changes)})


def with_targets(config: StackConfig, targets: Mapping[Role, TargetKey]) -> StackConfig:
    """The config with roles moved to other targets (sizing for every target is already there)."""
    update: dict[str, Any] = {
        role: config.activities[role].model_copy(update={"target": target})
        for role, target in targets.items()
    }
    return config.model_copy(update={"activities": config.activities.model_copy(update=update)})


def activity_timeout_needed(config: StackConfig, role: Role) -> int | None:
    """An activity role's timeout, raised to 1.5 × its run time so the traffic's tasks fit in it."""
    timeout = config.activities[role].activity_timeout_seconds
    if role not in ACTIVITY_ROLES:
        return timeout
    return max(timeout or 0, math.ceil(config.traffic.minutes(role) * 60 * 1.5))


def _sized(config: StackConfig, role: Role, prices: PriceBook) -> ActivityConfig:
    activity = config.activities[role]
    timeout = activity_timeout_needed(config, role)
    if timeout != activity.activity_timeout_seconds:
        activity = activity.model_copy(update={"activity_timeout_seconds": timeout})
    timed = config.model_copy(update={"activities": config.activities.model_copy(update={role: activity})})
    load = role_load(role, config.traffic, prices)
    peak_factor = PEAK_FACTOR[config.traffic.profile]
    for key, target in all_targets().items():
        sizing = activity.sizing_for(key)
        sized = target.right_size(timed, role, sizing, load=load, peak_factor=peak_factor, prices=prices)
        if sized is not sizing:
            activity = activity.with_sizing(key, sized)
    return activity


def right_size(config: StackConfig, prices: PriceBook) -> StackConfig:
    """Every target's capacity raised (never lowered) to carry the traffic at its peak."""
    update: dict[str, Any] = {role: _sized(config, role, prices) for role in ROLES}
    return config.model_copy(update={"activities": config.activities.model_copy(update=update)})


def sizing_changes(before: StackConfig, after: StackConfig, role: Role, target: TargetKey) -> dict[str, Any]:
    """The camelCase keys of a role's sizing (and activity timeout) that right-sizing changed."""
    old, new = before.activities[role], after.activities[role]
    out: dict[str, Any] = {}
    a = old.sizing_for(target).model_dump(by_alias=True)
    b = new.sizing_for(target).model_dump(by_alias=True)
    diff = {k: v for k, v in b.items() if a.get(k) != v}
    if diff:
        out[target] = diff
    if old.activity_timeout_seconds != new.activity_timeout_seconds:
        out["activityTimeoutSeconds"] = new.activity_timeout_seconds
    return out
