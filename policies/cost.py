"""Cost policies: the stack's monthly estimate under a cap, and each role's worst-case hour under a cap.

Both price the stack with the project's cost model (`docpipe.cost.estimate`), never a copy of it.
The model takes a `StackConfig`; `cost_input()` rebuilds one from what is being deployed — the
placement components' props (role, target, sizing, activity timeout), the baseline resources
(database class, cache mode, Temporal mode), the backends named in the workers' environment — plus
the traffic profile and price overrides from the policy config, since traffic is not a resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs
from pydantic import Field, ValidationError

from docpipe.config import DEFAULT_MINUTES_PER_FILE, StackConfig
from docpipe.cost import Burst, Estimate, PriceBookError, estimate
from docpipe.worker_env import backends_from_env
from policies.common import PolicyConfig, read_config, stack_policy, usd, validation_problems
from policies.placement import Placement, is_placement, owning_placement, placements, unreadable_placements
from policies.props import get, number, worker_env
from policies.resource_types import (
    RDS_INSTANCE,
    REPLICATION_GROUP,
    SERVERLESS_CACHE,
    TEMPORAL_COMPONENT,
    TEMPORAL_NAMESPACE,
)
from workers.contract import ROLES

# Values inside these objects are left to StackConfig (cost_input), which names a bad one in the
# policy's violation, as it always did.
Prices = Annotated[
    dict[str, Any],
    Field(
        description="Price-book overrides, as the stack's docpipe:prices (e.g. {'unstructured.page': 0.01})."
    ),
]


class TrafficConfig(PolicyConfig):
    """The traffic a stack is priced for, keyed as the stack's docpipe:traffic (traffic is no resource)."""

    files_per_day: float = Field(default=10, description="Documents a day the stack is priced for.")
    minutes_per_file: dict[str, Any] = Field(
        default={str(role): minutes for role, minutes in DEFAULT_MINUTES_PER_FILE.items()},
        description="Minutes of work per file for each activity role (enrichment: per enriched file).",
    )
    enrichment_rate: float = Field(default=0.3, description="Share of files that are enriched.")
    pages_per_file: float = Field(default=5, description="Pages per document (per-page APIs).")
    profile: Literal["steady", "diurnal", "bursty"] = Field(
        default="diurnal", description="Shape of arrivals over a day."
    )

    def traffic(self) -> dict[str, Any]:
        """The traffic fields as the stack's docpipe:traffic (camelCase)."""
        return self.model_dump(by_alias=True, include=set(TrafficConfig.model_fields))


class MonthlyCostConfig(TrafficConfig):
    """Config of `monthly-cost-cap`: the budget, and the traffic and prices to estimate at."""

    max_monthly_usd: float = Field(
        default=250, description="Monthly budget in USD for everything the stack runs."
    )
    prices: Prices = Field(default={})


class BurstCostConfig(PolicyConfig):
    """Config of `burst-cost-cap`."""

    max_hourly_usd_per_role: float = Field(
        default=10, description="Highest worst-case hourly spend accepted for any one role, in USD."
    )
    role_caps: dict[str, Any] = Field(
        default={}, description="Per-role hourly caps overriding maxHourlyUsdPerRole, e.g. {'extraction': 2}."
    )
    prices: Prices = Field(default={})


class CostInputError(ValueError):
    """The deployed resources do not say enough to price the stack."""


def cost_input(
    resources: list[PolicyResource], traffic: Mapping[str, Any], prices: Mapping[str, Any] | None = None
) -> StackConfig:
    """The cost model's input for the resources being deployed (see the module docstring)."""
    found = placements(resources)
    unreadable = unreadable_placements(resources)
    missing = [r for r in ROLES if r not in {p.role for p in found}]
    if unreadable or missing:
        names = ", ".join(repr(r.name) for r in unreadable) or "none"
        raise CostInputError(
            f"cannot price the stack: placement components without role/target/sizing: {names}; roles "
            f"without a placement: {', '.join(missing) or 'none'}"
        )
    raw = {
        "stack": _stack_name(resources),
        "tier": "low",  # unused: every role's placement is given in full
        "traffic": dict(traffic),
        "activities": {
            p.role: {
                "target": p.target,
                "activityTimeoutSeconds": p.activity_timeout_seconds,
                p.target: p.sizing,
            }
            for p in found
        },
        "backends": _backends(resources, found),
        **_baseline(resources),
        "prices": dict(prices or {}),
    }
    try:
        # Field validation only: cross-key rules (timeouts, secrets) are other policies' business.
        return StackConfig.model_validate(raw)
    except ValidationError as exc:
        raise CostInputError(f"cannot price the stack: {validation_problems(exc)}") from None


def _stack_name(resources: list[PolicyResource]) -> str:
    urn = next((r.urn for r in resources if r.urn.startswith("urn:pulumi:")), "")
    return urn.split(":", 3)[2].split("::", 1)[0] if urn else "stack"


def _worker_env(resources: list[PolicyResource], placement: Placement) -> dict[str, str]:
    """The plain environment of a role's workers (Lambda variables, Cloud Run envs, EC2 env file)."""
    by_urn = {placement.urn: placement}
    return worker_env(resources, lambda r: owning_placement(r, by_urn) is placement)


def _backends(resources: list[PolicyResource], found: list[Placement]) -> dict[str, Any]:
    """`docpipe:backends` read back from the workers' environments (docpipe.worker_env's table)."""
    return backends_from_env({p.role: _worker_env(resources, p) for p in found})


def _baseline(resources: list[PolicyResource]) -> dict[str, Any]:
    """database / cache / temporal config as the baseline resources declare them."""
    out: dict[str, Any] = {}
    for r in resources:
        p = r.props
        if r.resource_type == RDS_INSTANCE:
            out["database"] = {
                k: v
                for k, v in (
                    ("instanceClass", get(p, "instanceClass")),
                    ("allocatedStorageGb", number(get(p, "allocatedStorage"))),
                    ("multiAz", get(p, "multiAz")),
                )
                if isinstance(v, str | float | bool)
            }
        elif r.resource_type == SERVERLESS_CACHE:
            limit = number(get(p, "cacheUsageLimits.dataStorage.maximum"))
            out["cache"] = {"mode": "serverless", **({"maxStorageGb": limit} if limit else {})}
        elif r.resource_type == REPLICATION_GROUP and isinstance(get(p, "nodeType"), str):
            out["cache"] = {"mode": "node", "nodeType": get(p, "nodeType")}
        elif r.resource_type == TEMPORAL_COMPONENT and get(p, "mode") in ("cloud", "self-hosted", "external"):
            out.setdefault("temporal", {})["mode"] = get(p, "mode")
        elif r.resource_type == "docpipe:scaler:Crema":  # infra/crema.py: the stack's CREMA scaler
            keys = (("project", "project"), ("region", "region"), ("image", "cremaImage"))
            gcp = {to: get(p, key) for key, to in keys if isinstance(get(p, key), str)}
            polling = number(get(p, "pollingSeconds"))
            if polling:
                gcp["cremaPollingSeconds"] = int(polling)
            if "project" in gcp:  # unknown during a preview: price without the poll then
                out["gcp"] = gcp
        elif r.resource_type == TEMPORAL_NAMESPACE:
            out.setdefault("temporal", {}).setdefault("mode", "cloud")
            days = number(get(p, "retentionDays"))
            if days:
                out["temporal"]["retentionDays"] = days
    return out


def stack_estimate(
    resources: list[PolicyResource], config: MonthlyCostConfig | Mapping[str, Any]
) -> Estimate:
    """The cost model's estimate for the stack at a monthly-cost-cap config's traffic and prices."""
    monthly = read_config(MonthlyCostConfig, "monthly-cost-cap", config)
    return _estimate(resources, monthly.traffic(), monthly.prices)


def _estimate(
    resources: list[PolicyResource], traffic: Mapping[str, Any], prices: Mapping[str, Any]
) -> Estimate:
    subject = cost_input(resources, traffic, prices)
    try:
        return estimate(subject)
    except PriceBookError as exc:
        raise CostInputError(f"cannot price the stack: {exc}") from None


def _drivers(est: Estimate, n: int = 3) -> str:
    return "; ".join(f"{i}. {c.name} {usd(c.usd)}" for i, c in enumerate(est.top_drivers(n), start=1))


def _estimate_or_report(
    args: StackValidationArgs, traffic: Mapping[str, Any], prices: Mapping[str, Any], report: ReportViolation
) -> Estimate | None:
    """The cost model's estimate of the stack, or None after reporting why it cannot be priced."""
    if not any(is_placement(r) for r in args.resources):
        args.not_applicable("no docpipe placement components in this stack")
    try:
        return _estimate(args.resources, traffic, prices)
    except CostInputError as exc:
        report(str(exc), None)
        return None


def check_monthly_cost(args: StackValidationArgs, config: MonthlyCostConfig, report: ReportViolation) -> None:
    """The stack's estimated monthly cost is within maxMonthlyUsd."""
    est = _estimate_or_report(args, config.traffic(), config.prices, report)
    if est is None:
        return
    cap = config.max_monthly_usd
    total = est.total_monthly_usd
    if total > cap:
        report(
            f"estimated monthly cost {usd(total)} is over the cap of {usd(cap)} (maxMonthlyUsd) at "
            f"{config.files_per_day:g} files/day; biggest cost drivers: {_drivers(est)}",
            None,
        )


monthly_cost_cap = stack_policy(
    name="monthly-cost-cap",
    description="The stack's estimated monthly cost (docpipe's cost model, at the configured traffic) "
    "stays within maxMonthlyUsd.",
    remediation=(
        "Move the biggest cost drivers: `docpipe recommend --files-per-day N` finds the cheapest placement "
        "per role, `docpipe cost --stack S --set activities.ROLE.target=T` prices a flip, cheaper backends "
        "(extraction local, analysis heuristic, enrichment local-sandbox) remove per-file API charges. "
        "Or raise maxMonthlyUsd in the policy config if the budget changed."
    ),
    config=MonthlyCostConfig,
    check=check_monthly_cost,
)


def check_burst_cost(args: StackValidationArgs, config: BurstCostConfig, report: ReportViolation) -> None:
    """Each role's worst-case hour (all instances / all concurrency busy) is within its cap."""
    # A worst-case hour does not depend on traffic: the cost model's default traffic will do.
    est = _estimate_or_report(args, {}, config.prices, report)
    if est is None:
        return
    caps = config.role_caps
    by_role = {p.role: p for p in placements(args.resources)}
    for burst in est.bursts:
        cap = number(caps.get(burst.role))
        if cap is None:
            cap = config.max_hourly_usd_per_role
        if burst.usd_per_hour <= cap:
            continue
        placement = by_role.get(burst.role)
        report(
            f"role {burst.role} ({burst.target}) can spend {usd(burst.usd_per_hour)} an hour at full scale "
            f"({burst.working}), over the cap of {usd(cap)} an hour; "
            + _bound_hint(est, burst, cap, placement),
            placement.urn if placement else None,
        )


def _bound_hint(est: Estimate, burst: Burst, cap: float, placement: Placement | None) -> str:
    """Which setting bounds the role's scale-out, and the largest value that fits the cap."""
    role, target, per_hour = burst.role, burst.target, burst.usd_per_hour
    sizing = placement.sizing if placement else {}
    key, units = {
        "ec2": ("ec2.maxSize", number(sizing.get("maxSize"))),
        "cloudrun": ("cloudrun.maxInstances", number(sizing.get("maxInstances"))),
        "lambda": ("lambda.reservedConcurrency", number(sizing.get("reservedConcurrency"))),
    }.get(target, ("sizing", None))
    unset = target == "lambda" and units is None
    if unset:
        # The cost model prices an unreserved Lambda at the account's limit (from its price book).
        units = next((p.value for p in est.prices_used if p.key == "assume.lambdaAccountConcurrency"), None)
    fits = int(cap // (per_hour / units)) if units else 0
    setting = f"docpipe:activities.{role}.{key}"
    if unset:
        return (
            f"set {setting} (none is set, so the account's concurrency applies); at most {fits} fits the cap"
        )
    return f"lower {setting} to at most {fits}" if fits else f"{setting} cannot fit the cap; raise the cap"


burst_cost_cap = stack_policy(
    name="burst-cost-cap",
    description="No role can spend more than its hourly cap when it scales out fully (EC2 maxSize, Cloud "
    "Run maxInstances, Lambda reserved concurrency — or the account's 1,000 without one).",
    remediation=(
        "Bound each role's scale-out: docpipe:activities.<role>.ec2.maxSize, .cloudrun.maxInstances, or "
        ".lambda.reservedConcurrency (a Lambda without reserved concurrency can use the whole account's "
        "concurrency). Or raise maxHourlyUsdPerRole / roleCaps.<role> in the policy config."
    ),
    config=BurstCostConfig,
    check=check_burst_cost,
)

COST_POLICIES = [monthly_cost_cap, burst_cost_cap]
