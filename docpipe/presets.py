"""Tier presets: where each role runs and how it is sized, before the stack's own settings.

The targets follow the seed analysis's final recommendation (extraction and analysis on
scale-to-zero Cloud Run at low and medium traffic, on EC2 at high traffic; enrichment and storage
on Lambda throughout). The workflow worker is ours to place: its tasks last milliseconds, but each
Lambda invocation is billed for its whole timeout and each Cloud Run burst for the 90 s scale-down
cooldown. The cost model (`docpipe cost`) prices it at ≈ 0.0005 USD a document on Lambda (about
four invocations of 0.5 GB, arm64, each billed its 16 s poll window plus INIT) against ≈ 0.009 USD
on Cloud Run (about five bursts of a 1 vCPU instance held for the cooldown), and an always-on
t4g.micro with its volume and its public IPv4 address at ≈ 11.4 USD a month overtakes Lambda only
near 1,300 files a day (it was ≈ 420 before public IPv4 and INIT were priced). So the workflow
worker is on Lambda at every tier, high (500/day) included; `docpipe cost compare` shows the
crossovers.

A preset is raw config (camelCase, as in a stack file); the stack's values are merged over it, so
a role whose `target` the stack sets explicitly stays where the stack pins it whatever the tier.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from docpipe.config import Tier
from docpipe.targets import all_targets
from workers.contract import ROLES

# Per-role settings that are not a target's (each target's sizing defaults live with the target).
# Extraction and analysis get 420 s (7 minutes, ≥ 1.5 × the seed's longest run time per file, 3.5
# minutes at high traffic): long enough for slow documents, short enough that a Lambda worker can hold
# one (Temporal's timing rule needs a timeout of 2 × 420 + 5 = 845 s ≤ 900), so flipping either role
# to lambda is one key.
ROLE_ACTIVITY_TIMEOUTS: dict[str, int] = {
    "extraction": 420,
    "analysis": 420,
    "enrichment": 300,
    "storage": 60,
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
        "workflow": "lambda",
        "extraction": "ec2",
        "analysis": "ec2",
        "enrichment": "lambda",
        "storage": "lambda",
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
    """The raw `activities` map of a tier: target, and every registered target's sizing, for every role.

    Sizing for every target is there so flipping a role's target needs no other key.
    """
    activities: dict[str, Any] = {}
    for role in ROLES:
        entry: dict[str, Any] = {}
        if role in ROLE_ACTIVITY_TIMEOUTS:
            entry["activityTimeoutSeconds"] = ROLE_ACTIVITY_TIMEOUTS[role]
        for key, target in all_targets().items():
            entry[key] = deep_merge(target.defaults(role), target.tier_overrides(tier, role))
        entry["target"] = TIER_TARGETS[tier][role]
        activities[role] = entry
    return activities
