"""`estimate(plan_or_config)`: the monthly cost of a placement, line by line, with its working."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial

from docpipe.config import StackConfig
from docpipe.cost import baseline, external, operations
from docpipe.cost.load import RoleLoad, role_load
from docpipe.cost.model import Component, Estimate, RoleCost, num
from docpipe.cost.pricebook import PriceBook, load_price_book
from docpipe.plan import PlacementPlan, build_plan
from docpipe.targets import get_target
from workers.contract import Role


def _plan(subject: PlacementPlan | StackConfig) -> PlacementPlan:
    return subject if isinstance(subject, PlacementPlan) else build_plan(subject)


def price_book_for(config: StackConfig, extra: Mapping[str, float] | None = None) -> PriceBook:
    """The price book with the stack's `docpipe:prices` (and then `extra`) applied."""
    return load_price_book({**config.prices, **(extra or {})})


def traced(prices: PriceBook, compute: Callable[[], Component | None]) -> Component | None:
    """`compute()`'s component, carrying the price keys it read (and which are unconfirmed)."""
    keys = prices.trace()
    try:
        component = compute()
    finally:
        used = prices.end_trace(keys)
    if component is None:
        return None
    unconfirmed = tuple(k for k in used if not prices.entries[k].confirmed)
    return replace(component, price_keys=used, unconfirmed=unconfirmed)


def role_costs(plan: PlacementPlan, prices: PriceBook) -> tuple[dict[Role, RoleLoad], dict[Role, RoleCost]]:
    loads = {p.role: role_load(p.role, plan.config.traffic, prices) for p in plan}
    costs: dict[Role, RoleCost] = {}
    for p in plan:
        keys = prices.trace()
        try:
            cost = get_target(p.target).estimate(p, loads[p.role], prices)
        finally:
            used = prices.end_trace(keys)
        unconfirmed = tuple(k for k in used if not prices.entries[k].confirmed)
        costs[p.role] = replace(
            cost, component=replace(cost.component, price_keys=used, unconfirmed=unconfirmed)
        )
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
        rate = prices.get(f"lambda.gbSecond.{placement.target_unit.architecture(placement.sizing)}")
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
        credit = traced(book, lambda: free_tier_credit(costs, plan, book))
        if credit is not None:
            components.append(credit)
    parts: list[Callable[[], Component | None]] = [
        lambda: baseline.database(plan, book),
        lambda: baseline.cache(plan, book),
        lambda: baseline.temporal(plan, loads, book),
        lambda: baseline.nat(plan, loads, book),
        lambda: baseline.bucket(plan, book),
        lambda: external.e2b(plan, book),
        lambda: external.unstructured(plan, book),
        lambda: external.model_tokens(plan, book),
        lambda: operations.logs(plan, loads, costs, book),
        lambda: operations.registries(plan, book),
        lambda: operations.secrets(plan, book),
        lambda: operations.starter(plan, book),
    ]
    for key in sorted(plan.targets):  # once-per-stack costs of a target (Cloud Run: the CREMA scaler)
        parts.append(partial(get_target(key).shared_cost, plan, book))
    for compute in parts:
        part = traced(book, compute)
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
        not_priced=tuple(operations.not_priced(plan)),
        free_tier=free_tier,
        meta={"extra": {r: c.extra for r, c in costs.items()}},
    )
