"""`estimate(plan_or_config)`: the monthly cost of a placement, line by line, with its working."""

from __future__ import annotations

from collections.abc import Mapping

from docpipe.config import StackConfig
from docpipe.cost import baseline, external
from docpipe.cost.load import RoleLoad, role_load
from docpipe.cost.model import Component, Estimate, num
from docpipe.cost.pricebook import PriceBook, load_price_book
from docpipe.cost.targets import RoleCost, estimator_for
from docpipe.plan import PlacementPlan, build_plan
from workers.contract import Role


def _plan(subject: PlacementPlan | StackConfig) -> PlacementPlan:
    return subject if isinstance(subject, PlacementPlan) else build_plan(subject)


def price_book_for(config: StackConfig, extra: Mapping[str, float] | None = None) -> PriceBook:
    """The price book with the stack's `docpipe:prices` (and then `extra`) applied."""
    return load_price_book({**config.prices, **(extra or {})})


def role_costs(plan: PlacementPlan, prices: PriceBook) -> tuple[dict[Role, RoleLoad], dict[Role, RoleCost]]:
    loads = {p.role: role_load(p.role, plan.config.traffic, prices) for p in plan}
    costs = {p.role: estimator_for(p.target).estimate(p, loads[p.role], prices) for p in plan}
    return loads, costs


def free_tier_credit(
    costs: Mapping[Role, RoleCost], plan: PlacementPlan, prices: PriceBook
) -> Component | None:
    """The account's monthly Lambda free tier, spread over the Lambda roles in role order."""
    lambdas = [(plan[role], c) for role, c in costs.items() if c.lambda_requests > 0]
    if not lambdas:
        return None
    free_gbs = prices.get("lambda.freeTier.gbSeconds")
    free_req = prices.get("lambda.freeTier.requests")
    req_rate = prices.get("lambda.requestsPerMillion")
    credit = 0.0
    left = free_gbs
    parts: list[str] = []
    for placement, cost in lambdas:
        take = min(left, cost.lambda_gb_seconds)
        if take <= 0:
            break
        rate = prices.get(f"lambda.gbSecond.{placement.lambda_.architecture}")
        credit += take * rate
        parts.append(f"{num(round(take))} GB-s × {num(rate)}")
        left -= take
    requests = min(free_req, sum(c.lambda_requests for _, c in lambdas))
    credit += requests * req_rate / 1e6
    parts.append(f"{num(round(requests))} req × {num(req_rate)}/1M")
    return Component(
        "Lambda free tier",
        -credit,
        "− (" + " + ".join(parts) + ")  [account-wide: shared with anything else in the account]",
        "compute",
    )


def estimate(
    subject: PlacementPlan | StackConfig,
    prices: PriceBook | Mapping[str, float] | None = None,
    free_tier: bool = False,
) -> Estimate:
    """Monthly cost of a plan (or of the plan of a config).

    `prices`: a PriceBook, or overrides applied over the stack's own `docpipe:prices`; by default
    the stack's overrides alone. `free_tier` deducts the Lambda free tier (off by default: it is
    per account, and other workloads may use it).
    """
    plan = _plan(subject)
    book = prices.fresh() if isinstance(prices, PriceBook) else price_book_for(plan.config, prices)
    loads, costs = role_costs(plan, book)
    components: list[Component] = [c.component for c in costs.values()]
    warnings: list[str] = [w for c in costs.values() for w in c.warnings]
    if free_tier:
        credit = free_tier_credit(costs, plan, book)
        if credit is not None:
            components.append(credit)
    for part in (
        baseline.database(plan, book),
        baseline.cache(plan, book),
        baseline.temporal(plan, loads, book),
        baseline.nat(plan, loads, book),
        baseline.bucket(plan, book),
        external.e2b(plan, book),
        external.unstructured(plan, book),
        external.model_tokens(plan, book),
    ):
        if part is not None:
            components.append(part)
    return Estimate(
        stack=plan.stack,
        placement={p.role: p.target for p in plan},
        files_per_day=plan.config.traffic.files_per_day,
        components=tuple(components),
        bursts=tuple(c.burst for c in costs.values()),
        prices_used=tuple(p for _, p in sorted(book.used.items())),
        warnings=tuple(warnings),
        free_tier=free_tier,
        meta={"extra": {r: c.extra for r, c in costs.items()}},
    )
