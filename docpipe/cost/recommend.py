"""The cheapest allowed placement: every role × target combination (3⁵ = 243) priced and ranked.

A role's compute cost depends only on its own target, so each (role, target) is priced once; what
couples the roles — the NAT gateway (any VPC-attached Lambda needing the internet, and the Lambda
roles that then join the VPC for the cache: `docpipe.plan.settle`) and the account-wide Lambda free
tier — is priced per combination. The cache is in every stack, so it is a fixed cost.
A target is excluded for a role before the search when `docpipe.rules` says the right-sized config
cannot run it there (Lambda's 15-minute limit, the database or a self-hosted Temporal out of reach,
a missing `gcp` section …) — the same messages config validation gives — or when its cold start
exceeds `--max-wait` (each target's `cold_start_seconds`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import yaml

from docpipe.config import StackConfig, TargetKey
from docpipe.cost import baseline, external, operations
from docpipe.cost.estimate import estimate as full_estimate
from docpipe.cost.estimate import free_tier_credit, price_book_for
from docpipe.cost.load import role_load
from docpipe.cost.model import Estimate, RoleCost, num
from docpipe.cost.placements import models, right_size, sizing_changes, with_targets
from docpipe.cost.pricebook import PriceBook
from docpipe.plan import PlacementPlan, RolePlacement, place_role, settle
from docpipe.rules import placement_problems
from docpipe.targets import get_target, target_keys
from workers.contract import ROLES, Role


def exclusion(
    config: StackConfig, role: Role, target: TargetKey, prices: PriceBook, max_wait: float | None
) -> str | None:
    """Why `target` is not allowed for `role`, or None."""
    moved = with_targets(config, {role: target})
    problems = placement_problems(moved, role)
    if problems:
        return "; ".join(p.removeprefix("docpipe:") for p in problems)
    if max_wait is not None:
        cold = cold_start_seconds(config, role, target, prices)
        if cold > max_wait:
            return f"cold start ~{num(cold)} s exceeds --max-wait {num(max_wait)} s"
    return None


def cold_start_seconds(config: StackConfig, role: Role, target: TargetKey, prices: PriceBook) -> float:
    unit = get_target(target)
    return unit.cold_start_seconds(unit.sizing(config.activities[role]), prices)


@dataclass(frozen=True)
class Candidate:
    targets: dict[Role, TargetKey]
    total_usd: float

    def label(self) -> str:
        return ", ".join(f"{r}={t}" for r, t in self.targets.items())


@dataclass
class Recommendation:
    config: StackConfig
    best: Estimate
    runner_up: Estimate | None
    excluded: dict[str, str]
    reasons: list[str]
    yaml: str
    searched: int
    fixed_models: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "filesPerDay": self.config.traffic.files_per_day,
            "searched": self.searched,
            "best": {
                "placement": self.best.placement,
                "totalMonthlyUsd": round(self.best.total_monthly_usd, 4),
            },
            "runnerUp": None
            if self.runner_up is None
            else {
                "placement": self.runner_up.placement,
                "totalMonthlyUsd": round(self.runner_up.total_monthly_usd, 4),
            },
            "excluded": self.excluded,
            "reasons": self.reasons,
            "stackYaml": self.yaml,
            "fixedModels": {k: round(v, 4) for k, v in self.fixed_models.items()},
            "estimate": self.best.to_dict(),
        }


class Search:
    """Prices every allowed combination from per-(role, target) costs plus the coupled baseline."""

    def __init__(self, config: StackConfig, prices: PriceBook, free_tier: bool = False) -> None:
        self.config = config
        self.prices = prices
        self.free_tier = free_tier
        keys = target_keys()
        uniform = {t: with_targets(config, dict.fromkeys(ROLES, t)) for t in keys}
        # Each role's placement on its own target; `plan_for` settles a combination (NAT, cache).
        self.placements: dict[tuple[Role, TargetKey], RolePlacement] = {
            (r, t): place_role(uniform[t], r) for r in ROLES for t in keys
        }
        self.loads = {r: role_load(r, config.traffic, prices) for r in ROLES}
        self.role_costs: dict[tuple[Role, TargetKey], RoleCost] = {
            (r, t): get_target(t).estimate(self.placements[(r, t)], self.loads[r], prices)
            for r in ROLES
            for t in keys
        }
        any_plan = settle(uniform[keys[0]], {r: self.placements[(r, keys[0])] for r in ROLES})
        fixed = [
            baseline.database(any_plan, prices),
            baseline.cache(any_plan, prices),
            baseline.temporal(any_plan, self.loads, prices),
            baseline.bucket(any_plan, prices),
            external.e2b(any_plan, prices),
            external.unstructured(any_plan, prices),
            external.model_tokens(any_plan, prices),
            operations.secrets(any_plan, prices),
            operations.starter(any_plan, prices),
        ]
        self.fixed_usd = sum(c.usd for c in fixed if c is not None)
        self._coupled: dict[frozenset[Role], float] = {}

    def plan_for(self, targets: dict[Role, TargetKey]) -> PlacementPlan:
        return settle(
            with_targets(self.config, targets), {r: self.placements[(r, targets[r])] for r in ROLES}
        )

    def total(self, targets: dict[Role, TargetKey]) -> float:
        plan = self.plan_for(targets)
        key = frozenset(p.role for p in plan if p.needs_nat)
        if key not in self._coupled:
            part = baseline.nat(plan, self.loads, self.prices)
            self._coupled[key] = part.usd if part is not None else 0.0
        compute = sum(self.role_costs[(r, targets[r])].component.usd for r in ROLES)
        credit = 0.0
        if self.free_tier:
            costs = {r: self.role_costs[(r, targets[r])] for r in ROLES}
            c = free_tier_credit(costs, self.plan_for(targets), self.prices)
            credit = c.usd if c is not None else 0.0
        # Once-per-stack costs of the targets in use (Cloud Run: the CREMA scaler when it scales a role),
        # and what follows where the roles run: their log groups, the images the plan builds.
        shared = [get_target(t).shared_cost(plan, self.prices) for t in sorted(plan.targets)]
        costs = {r: self.role_costs[(r, targets[r])] for r in ROLES}
        shared += [
            operations.logs(plan, self.loads, costs, self.prices),
            operations.registries(plan, self.prices),
        ]
        return self.fixed_usd + self._coupled[key] + compute + credit + sum(c.usd for c in shared if c)


def recommend(
    config: StackConfig,
    max_wait: float | None = None,
    prices: PriceBook | None = None,
    free_tier: bool = False,
    size_to_load: bool = True,
) -> Recommendation:
    """The cheapest allowed placement for `config`'s traffic, the runner-up, and why."""
    book = prices.fresh() if prices is not None else price_book_for(config)
    sized = right_size(config, book) if size_to_load else config
    search = Search(sized, book, free_tier)
    excluded: dict[str, str] = {}
    allowed: dict[Role, list[TargetKey]] = {}
    for role in ROLES:
        allowed[role] = []
        for target in target_keys():
            why = exclusion(sized, role, target, book, max_wait)
            # A recommendation satisfies the rules it is checked against: none that its own estimate
            # warns about (capacity below the load).
            warned = search.role_costs[(role, target)].warnings
            if why is None and warned:
                why = "; ".join(warned)
            if why is None:
                allowed[role].append(target)
            else:
                excluded[f"{role}={target}"] = why
        if not allowed[role]:
            raise ValueError(f"no target is allowed for {role}: " + "; ".join(excluded.values()))
    candidates = [
        Candidate(targets, search.total(targets))
        for combo in itertools.product(*(allowed[r] for r in ROLES))
        for targets in [dict(zip(ROLES, combo, strict=True))]
    ]
    candidates.sort(key=lambda c: (round(c.total_usd, 9), c.label()))
    best = candidates[0]
    runner = candidates[1] if len(candidates) > 1 else None
    best_est = full_estimate(search.plan_for(best.targets), book, free_tier=free_tier)
    runner_est = full_estimate(search.plan_for(runner.targets), book, free_tier=free_tier) if runner else None
    reasons = _reasons(search, best, allowed, excluded)
    fixed_models = _fixed_models(search, allowed)
    return Recommendation(
        config=sized,
        best=best_est,
        runner_up=runner_est,
        excluded=excluded,
        reasons=reasons,
        yaml=stack_yaml(config, sized, best.targets),
        searched=len(candidates),
        fixed_models=fixed_models,
    )


def _fixed_models(search: Search, allowed: dict[Role, list[TargetKey]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, targets in models().items():
        if all(targets[r] in allowed[r] for r in ROLES):
            out[name] = search.total(dict(targets))
    return out


def _reasons(
    search: Search, best: Candidate, allowed: dict[Role, list[TargetKey]], excluded: dict[str, str]
) -> list[str]:
    reasons: list[str] = []
    for role in ROLES:
        chosen = best.targets[role]
        own = search.role_costs[(role, chosen)].component.usd
        alts: list[str] = []
        for target in target_keys():
            if target == chosen:
                continue
            key = f"{role}={target}"
            if key in excluded:
                alts.append(f"{target} excluded ({excluded[key]})")
                continue
            other = dict(best.targets)
            other[role] = target
            delta = search.total(other) - best.total_usd
            compute = search.role_costs[(role, target)].component.usd
            coupled = delta - (compute - own)
            extra = f"; incl. {coupled:+.2f} NAT/cache" if abs(coupled) >= 0.005 else ""
            alts.append(f"{target} {compute:.2f} ({delta:+.2f} total{extra})")
        reasons.append(f"{role}: {chosen} {own:.2f} USD/month — " + "; ".join(alts))
    return reasons


def stack_yaml(original: StackConfig, sized: StackConfig, targets: dict[Role, TargetKey]) -> str:
    """The `docpipe:activities` block to paste into Pulumi.<stack>.yaml."""
    activities: dict[str, Any] = {}
    for role in ROLES:
        entry: dict[str, Any] = {"target": targets[role]}
        entry.update(sizing_changes(original, sized, role, targets[role]))
        activities[role] = entry
    text: str = yaml.safe_dump({"config": {"docpipe:activities": activities}}, sort_keys=False, width=100)
    return text


__all__ = ["Recommendation", "Search", "cold_start_seconds", "exclusion", "recommend"]
