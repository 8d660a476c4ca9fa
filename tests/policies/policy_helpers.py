"""Shared helpers: the stacks' recorded resources (a mocks run of the program), variants, one policy.

`resources(stack, *overrides)` runs the Pulumi program in-process under mocks (infra.offline) for a
stack file, with `--set`-style overrides, once per distinct argument list. Variants that need a
program change the tests make by editing a copy of the recorded inputs (`edit`), so the suite runs
the program only a handful of times.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from docpipe.stackfile import flat_from_stack_file
from infra.offline import run_offline
from policies.offline import stack_resources
from policies.pack import POLICIES
from policies.runner import Report, StackResource, evaluate

STACKS = ("dev", "prod")
ROOT_DIR = Path(__file__).resolve().parents[2]
# The program runs the suite needs beyond the two stack files (each costs a mocks run).
EC2 = ("activities.extraction.target=ec2", "activities.extraction.ec2.maxSize=6")
WARM = (
    "activities.extraction.cloudrun.minInstances=1",
    "activities.enrichment.lambda.provisionedConcurrency=2",
)
LAMBDA = ("activities.extraction.target=lambda", "activities.enrichment.lambda.reservedConcurrency=50")
SELF_HOSTED = (
    "temporal.mode=self-hosted",
    "activities.extraction.target=ec2",
    "activities.analysis.target=ec2",
)


@functools.cache
def _recorded(stack: str, overrides: tuple[str, ...]) -> tuple[StackResource, ...]:
    flat = flat_from_stack_file(ROOT_DIR, stack, overrides, placeholder_secrets=True)
    return tuple(stack_resources(run_offline(flat, stack).resources))


def resources(stack: str, *overrides: str) -> list[StackResource]:
    """The resources a mocks run of the stack file records."""
    return list(_recorded(stack, tuple(overrides)))


def report(
    items: list[StackResource], config: Mapping[str, Any] | str | None = None, stack: str = "dev"
) -> Report:
    return evaluate(POLICIES, items, config, stack=stack)


def messages(
    policy: str, items: list[StackResource], config: Mapping[str, Any] | None = None, stack: str = "dev"
) -> list[str]:
    """The violation messages of one policy (config given for that policy only)."""
    full = {policy: dict(config)} if config else None
    return [v.message for v in report(items, full, stack).outcome(policy).violations]


def edit(
    items: list[StackResource],
    match: Callable[[StackResource], bool],
    change: Callable[[dict[str, Any]], None],
) -> list[StackResource]:
    """A copy of the resources with `change` applied to the inputs of every matching resource."""
    out = []
    hits = 0
    for original in items:
        r = original
        if match(r):
            inputs = copy.deepcopy(dict(r.inputs))
            change(inputs)
            r = StackResource(
                r.type, r.name, inputs, r.parent, r.urn, r.dependencies, dict(r.property_dependencies)
            )
            hits += 1
        out.append(r)
    assert hits, "the variant changed nothing: no resource matched"
    return out


def named(name: str) -> Callable[[StackResource], bool]:
    return lambda r: r.name == name


def of_type(token: str, name_part: str = "") -> Callable[[StackResource], bool]:
    return lambda r: r.type == token and name_part in r.name


def add(items: list[StackResource], *extra: StackResource) -> list[StackResource]:
    return [*items, *extra]
