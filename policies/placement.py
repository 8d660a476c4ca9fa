"""Placement policies: serverless roles scale to zero, and Lambda timeouts fit the activities.

Both read the placement components the program registers (type token `docpipe:placement:<Target>`,
props `role`, `target`, `sizing`, `taskQueue`, `deploymentName`, `activityTimeoutSeconds`) and the
cloud resources parented under them, so a message can say which role is at fault.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs
from pydantic import Field

from docpipe.targets import lambda_ as lambda_timing
from docpipe.targets.lambda_ import MAX_TIMEOUT_SECONDS as LAMBDA_MAX_TIMEOUT_SECONDS
from policies.common import PolicyConfig, stack_policy
from policies.props import UNKNOWN, get, number, plain
from policies.resource_types import (
    CLOUD_RUN_SERVICE,
    CLOUD_RUN_WORKER_POOL,
    LAMBDA_FUNCTION,
    PLACEMENT_TYPE_PREFIX,
    PROVISIONED_CONCURRENCY,
)


@dataclass(frozen=True)
class Placement:
    """One role's placement as its component resource declares it."""

    resource: PolicyResource
    role: str
    target: str
    sizing: Mapping[str, Any]
    activity_timeout_seconds: float | None

    @property
    def urn(self) -> str:
        return self.resource.urn


def is_placement(resource: PolicyResource) -> bool:
    return resource.resource_type.startswith(PLACEMENT_TYPE_PREFIX)


def placement_of(resource: PolicyResource) -> Placement | None:
    """The placement a component declares, or None when its props lack role/target (see README)."""
    if not is_placement(resource):
        return None
    props = resource.props
    # The engine hands a stack policy a component's registered outputs; the program registers the
    # placement under the same keys (or under `placement`) so both views read alike.
    nested = get(props, "placement")
    source = nested if isinstance(nested, Mapping) else props
    role, target = get(source, "role"), get(source, "target")
    if not isinstance(role, str) or not isinstance(target, str):
        return None
    sizing = plain(get(source, "sizing")) or {}
    return Placement(
        resource=resource,
        role=role,
        target=target,
        sizing=sizing if isinstance(sizing, Mapping) else {},
        activity_timeout_seconds=number(get(source, "activityTimeoutSeconds")),
    )


def placements(resources: list[PolicyResource]) -> list[Placement]:
    found = [placement_of(r) for r in resources]
    return [p for p in found if p is not None]


def unreadable_placements(resources: list[PolicyResource]) -> list[PolicyResource]:
    """Placement components whose role/target cannot be read (the policies cannot judge them)."""
    return [r for r in resources if is_placement(r) and placement_of(r) is None]


def owning_placement(resource: PolicyResource, by_urn: Mapping[str, Placement]) -> Placement | None:
    """The nearest placement component above a resource."""
    node = resource.parent
    seen = 0
    while node is not None and seen < 50:
        if node.urn in by_urn:
            return by_urn[node.urn]
        node = node.parent
        seen += 1
    return None


def _who(resource: PolicyResource, placement: Placement | None) -> str:
    if placement is None:
        return f"{resource.name!r}"
    return f"role {placement.role} ({placement.target}, {resource.name!r})"


def _warm_instances(resource: PolicyResource, placement: Placement | None) -> Iterator[tuple[str, float]]:
    """(property, count) for each setting that keeps serverless capacity running while idle."""
    props = resource.props
    if resource.resource_type == CLOUD_RUN_WORKER_POOL:
        mode = get(props, "scaling.scalingMode")
        if mode == "MANUAL" and placement is not None and placement.target == "cloudrun":
            # Temporal's scaler owns a placed pool's live manualInstanceCount (it may be busy right
            # now); the floor it scales back down to is the placement's minInstances.
            yield "cloudrun.minInstances", number(placement.sizing.get("minInstances")) or 0.0
        elif mode == "MANUAL":
            yield "scaling.manualInstanceCount", number(get(props, "scaling.manualInstanceCount")) or 0.0
        yield "scaling.minInstanceCount", number(get(props, "scaling.minInstanceCount")) or 0.0
    elif resource.resource_type == CLOUD_RUN_SERVICE:
        yield "scaling.minInstanceCount", number(get(props, "scaling.minInstanceCount")) or 0.0
        yield (
            "template.scaling.minInstanceCount",
            number(get(props, "template.scaling.minInstanceCount")) or 0.0,
        )
    elif resource.resource_type == PROVISIONED_CONCURRENCY:
        executions = number(get(props, "provisionedConcurrentExecutions")) or 0.0
        yield "provisionedConcurrentExecutions", executions


class ScalesToZeroConfig(PolicyConfig):
    """Config of `serverless-scales-to-zero`."""

    allow_provisioned_concurrency: bool = Field(
        default=False, description="Accept provisioned Lambda concurrency (always-on cost)."
    )
    allow_min_instances: bool = Field(
        default=False, description="Accept Cloud Run minimum instances above 0 (always-on cost)."
    )
    exempt_roles: list[str] = Field(
        default=[], description="Roles allowed to keep warm capacity (e.g. ['workflow'])."
    )


def check_scales_to_zero(
    args: StackValidationArgs, config: ScalesToZeroConfig, report: ReportViolation
) -> None:
    """Cloud Run keeps no instance while idle; Lambda has no provisioned concurrency (unless allowed)."""
    by_urn = {p.urn: p for p in placements(args.resources)}
    exempt = set(config.exempt_roles)
    for resource in args.resources:
        placement = owning_placement(resource, by_urn)
        if placement is not None and placement.role in exempt:
            continue
        for prop, count in _warm_instances(resource, placement):
            if count <= 0:
                continue
            if resource.resource_type == PROVISIONED_CONCURRENCY:
                if config.allow_provisioned_concurrency:
                    continue
                report(
                    f"{_who(resource, placement)} keeps {int(count)} Lambda execution environment(s) "
                    f"provisioned ({prop}={int(count)}), billed around the clock; set "
                    "lambda.provisionedConcurrency to 0",
                    resource.urn,
                )
            elif not config.allow_min_instances:
                report(
                    f"{_who(resource, placement)} keeps {int(count)} Cloud Run instance(s) running while "
                    f"idle ({prop}={int(count)}); set cloudrun.minInstances to 0",
                    resource.urn,
                )


serverless_scales_to_zero = stack_policy(
    name="serverless-scales-to-zero",
    description="Serverless roles cost nothing while idle: Cloud Run min instances 0, no provisioned "
    "Lambda concurrency.",
    remediation=(
        "Set docpipe:activities.<role>.cloudrun.minInstances to 0 and "
        "docpipe:activities.<role>.lambda.provisionedConcurrency to 0. If a role must stay warm, list "
        "it in this policy's exemptRoles (or allow it with allowMinInstances / "
        "allowProvisionedConcurrency) — or place it on ec2, which is priced as always-on."
    ),
    config=ScalesToZeroConfig,
    check=check_scales_to_zero,
)


def _descendants(placement: Placement, resources: list[PolicyResource], kind: str) -> list[PolicyResource]:
    by_urn = {placement.urn: placement}
    return [r for r in resources if r.resource_type == kind and owning_placement(r, by_urn) is placement]


def check_lambda_timeouts(
    args: StackValidationArgs, config: Mapping[str, Any], report: ReportViolation
) -> None:
    """Each Lambda worker's timeout holds one activity plus the worker's deadline buffer, ≤ the cap."""
    limit = float(config["maxTimeoutSeconds"])
    checked: set[str] = set()
    for placement in placements(args.resources):
        if placement.target != "lambda":
            continue
        # The rule is the Lambda target's (Temporal's for long activities), from the activity timeout
        # the placement declares — not this policy's to set.
        needed, why = lambda_timing.required_timeout(placement.role, placement.activity_timeout_seconds)
        for function in _descendants(placement, args.resources, LAMBDA_FUNCTION):
            checked.add(function.urn)
            raw = get(function.props, "timeout")
            if raw is UNKNOWN:
                continue
            # AWS applies 3 s when a function sets no timeout.
            timeout = number(raw) if raw is not None else 3.0
            if timeout is None:
                continue
            if timeout < needed:
                report(
                    f"role {placement.role}: Lambda {function.name!r} has timeout {timeout:g} s, which does "
                    f"not cover {why} = {needed:g} s; set docpipe:activities.{placement.role}.lambda."
                    f"timeoutSeconds to at least {needed:g} (max {limit:g}) or shorten "
                    f"activityTimeoutSeconds",
                    function.urn,
                )
            if timeout > limit:
                report(
                    f"role {placement.role}: Lambda {function.name!r} has timeout {timeout:g} s, above the "
                    f"{limit:g} s limit; move {placement.role} to ec2 or cloudrun for longer activities",
                    function.urn,
                )
    for resource in args.resources:
        if resource.resource_type != LAMBDA_FUNCTION or resource.urn in checked:
            continue
        timeout = number(get(resource.props, "timeout"))
        if timeout is not None and timeout > limit:
            report(
                f"Lambda {resource.name!r} has timeout {timeout:g} s, above the {limit:g} s limit",
                resource.urn,
            )


class LambdaTimeoutConfig(PolicyConfig):
    """Config of `lambda-timeout-fits-activity` (defaults are the project's own Lambda constants)."""

    max_timeout_seconds: float = Field(
        default=LAMBDA_MAX_TIMEOUT_SECONDS,
        description="Highest Lambda timeout accepted (Lambda's own limit is 900 s).",
    )


def _check_lambda_timeouts(
    args: StackValidationArgs, config: LambdaTimeoutConfig, report: ReportViolation
) -> None:
    # check_lambda_timeouts / required_timeout read a mapping; they are being replaced by the core's
    # Lambda timing rule (issue 10), so they get the validated config in their old form until then.
    check_lambda_timeouts(args, config.model_dump(by_alias=True), report)


lambda_timeout_fits_activity = stack_policy(
    name="lambda-timeout-fits-activity",
    description="A Lambda worker's timeout holds one activity of its role plus the worker's deadline "
    "buffer (Temporal's rule for long activities), and stays within Lambda's 900 s limit.",
    remediation=(
        "A Temporal Serverless Worker stops polling a deadline buffer before its timeout and must still "
        "finish the activity it holds, so set docpipe:activities.<role>.lambda.timeoutSeconds ≥ "
        "2 × activityTimeoutSeconds + 5 (≤ 900; `docpipe plan` shows the minimum), shorten the "
        "activity timeout, or place the role on ec2 or cloudrun."
    ),
    config=LambdaTimeoutConfig,
    check=_check_lambda_timeouts,
)

PLACEMENT_POLICIES = [serverless_scales_to_zero, lambda_timeout_fits_activity]
