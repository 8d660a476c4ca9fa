"""Shared helpers: the stacks' recorded resources, variants of them, and running one policy."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import policy_handmade as handmade

from policies.pack import POLICIES
from policies.runner import Report, StackResource, evaluate

STACKS = ("dev", "prod")
ROOT_DIR = handmade.ROOT


def resources(stack: str, *overrides: str) -> list[StackResource]:
    """The resources a mocks run of the stack file records."""
    return handmade.stack_resources(stack, *overrides)


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


def of_type(token: str, name_part: str = "") -> Callable[[StackResource], bool]:
    return lambda r: r.type == token and name_part in r.name


def add(items: list[StackResource], *extra: StackResource) -> list[StackResource]:
    return [*items, *extra]
