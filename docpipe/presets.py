"""Tier presets: where each role runs and how it is sized, before the stack's own settings.

The targets follow the seed analysis's final recommendation (extraction and analysis on
scale-to-zero Cloud Run at low and medium traffic, on EC2 at high traffic; enrichment and storage
on Lambda throughout). The workflow worker is ours to place: its tasks last milliseconds, but each
Lambda invocation is billed for its whole timeout and each Cloud Run burst for the 90 s scale-down
cooldown. The cost model (`docpipe cost`) prices it at ≈ 0.0008 USD a document on Lambda (about
four 30 s invocations of 0.5 GB, arm64) against ≈ 0.009 USD on Cloud Run (about five bursts of a
1 vCPU instance held for the cooldown), and an always-on t4g.micro with its volume at ≈ 7.7 USD a
month overtakes Lambda near 420 files a day. So the workflow worker is on Lambda at low (10/day)
and medium (100/day) and on EC2 at high (500/day); `docpipe cost compare` shows the crossovers.

A preset is raw config (camelCase, as in a stack file); the stack's values are merged over it, so
a role whose `target` the stack sets explicitly stays where the stack pins it whatever the tier.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from docpipe.config import Tier

# Per-role sizing for every target, so flipping a role's target needs no other key.
# Lambda roles the tiers place on Lambda carry a reserved concurrency: without one a burst may use the
# account's whole concurrency (1,000), which the policy pack's burst-cost-cap refuses.
ROLE_DEFAULTS: dict[str, dict[str, Any]] = {
    "workflow": {
        "ec2": {"instanceType": "t4g.micro", "minSize": 1, "desiredCapacity": 1, "maxSize": 2},
        "cloudrun": {"cpu": 1, "memoryMib": 512, "minInstances": 0, "maxInstances": 1},
        "lambda": {"memoryMb": 512, "timeoutSeconds": 30, "reservedConcurrency": 10},
    },
    "extraction": {
        "activityTimeoutSeconds": 600,
        "ec2": {"instanceType": "t4g.medium", "minSize": 1, "desiredCapacity": 1, "maxSize": 3},
        "cloudrun": {"cpu": 1, "memoryMib": 2048, "minInstances": 0, "maxInstances": 3},
        "lambda": {"memoryMb": 2048, "timeoutSeconds": 620},
    },
    "analysis": {
        "activityTimeoutSeconds": 600,
        "ec2": {"instanceType": "t4g.small", "minSize": 1, "desiredCapacity": 1, "maxSize": 3},
        "cloudrun": {"cpu": 1, "memoryMib": 1024, "minInstances": 0, "maxInstances": 3},
        "lambda": {"memoryMb": 1024, "timeoutSeconds": 620},
    },
    "enrichment": {
        "activityTimeoutSeconds": 300,
        "ec2": {"instanceType": "t4g.micro", "minSize": 1, "desiredCapacity": 1, "maxSize": 2},
        "cloudrun": {"cpu": 1, "memoryMib": 512, "minInstances": 0, "maxInstances": 2},
        "lambda": {"memoryMb": 512, "timeoutSeconds": 320, "reservedConcurrency": 4},
    },
    "storage": {
        "activityTimeoutSeconds": 60,
        "ec2": {"instanceType": "t4g.nano", "minSize": 1, "desiredCapacity": 1, "maxSize": 2},
        "cloudrun": {"cpu": 1, "memoryMib": 512, "minInstances": 0, "maxInstances": 1},
        "lambda": {"memoryMb": 512, "timeoutSeconds": 90, "reservedConcurrency": 10},
    },
}

TIER_TARGETS: dict[Tier, dict[str, str]] = {
    "low": {
        "workflow": "lambda",
        "extraction": "cloudrun",
        "analysis": "cloudrun",
        "enrichment": "lambda",
        "storage": "lambda",
    },
    "medium": {
        "workflow": "lambda",
        "extraction": "cloudrun",
        "analysis": "cloudrun",
        "enrichment": "lambda",
        "storage": "lambda",
    },
    "high": {
        "workflow": "ec2",
        "extraction": "ec2",
        "analysis": "ec2",
        "enrichment": "lambda",
        "storage": "lambda",
    },
}

# Per-tier adjustments over ROLE_DEFAULTS (the seed: at most 1 instance at low, 3 at medium).
TIER_OVERRIDES: dict[Tier, dict[str, dict[str, Any]]] = {
    "low": {
        "extraction": {"cloudrun": {"maxInstances": 1}},
        "analysis": {"cloudrun": {"maxInstances": 1}},
    },
    "medium": {
        "extraction": {"cloudrun": {"maxInstances": 3}},
        "analysis": {"cloudrun": {"maxInstances": 3}},
    },
    "high": {
        "extraction": {"ec2": {"desiredCapacity": 2, "minSize": 1, "maxSize": 4}},
        "analysis": {"ec2": {"desiredCapacity": 2, "minSize": 1, "maxSize": 4}},
        "enrichment": {"lambda": {"reservedConcurrency": 10}},
    },
}


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` merged into a copy of `base`; mappings merge key by key, anything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def preset_activities(tier: Tier) -> dict[str, Any]:
    """The raw `activities` map of a tier: target and sizing for every role."""
    activities: dict[str, Any] = {}
    for role, defaults in ROLE_DEFAULTS.items():
        entry = deep_merge(defaults, TIER_OVERRIDES[tier].get(role, {}))
        entry["target"] = TIER_TARGETS[tier][role]
        activities[role] = entry
    return activities
