"""A deterministic discrete-event simulation of documents flowing through a placement.

Each document runs the pipeline the workflow runs — a workflow task, extraction, a workflow task,
analysis, a workflow task, (enrichment and a workflow task for the enriched share), storage and a
last workflow task — and every task goes to its role's capacity model:

Each role's pool is its target's capacity model (`Target.simulator`, e.g. the Lambda pool in
`docpipe.targets.lambda_`: invocations that poll until the deadline and are billed for their whole
timeout; the Cloud Run pool: instances that start on demand and stay for `scaleDownSeconds`).

The period ends after `days`: work not done by then is not billed, it is the backlog (documents
unfinished, and how long they have waited), and every role's billed instance-seconds stay within
what its capacity (maxInstances, concurrency, instances) can run in the period; the hosted services
(pages, tokens, sandbox-seconds) are billed for the tasks done, not the documents arrived. A placement whose
documents wait more than a day at the end cannot keep up with the traffic, and the result says so.

Arrivals: `steady` (Poisson), `diurnal` (Poisson, rate 0.2×–1.8× the mean over the day) or `bursty`
(batches of ~10 files on the diurnal curve). Task times vary ±25% around `minutesPerFile`. The same
seed always gives the same result.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from docpipe.config import StackConfig
from docpipe.cost.estimate import estimate, price_book_for
from docpipe.cost.events import Clock, Doc, Pool, Task
from docpipe.cost.load import days_per_month, role_load
from docpipe.cost.model import Estimate
from docpipe.cost.pricebook import PriceBook
from docpipe.plan import PlacementPlan, build_plan
from workers.contract import ROLES, Role

DAY = 86400.0
JITTER = 0.25
BATCH_MEAN = 10
# A document still unfinished this long after it arrived, at the end of the period, means the placement
# cannot keep up: the diurnal and bursty profiles repeat daily, so a placement that keeps up clears
# each day's peak within the day.
KEEP_UP_SECONDS = DAY


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = math.floor(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _arrivals(rng: random.Random, files_per_day: float, days: int, profile: str) -> list[float]:
    horizon = days * DAY
    lam = files_per_day / DAY
    times: list[float] = []
    if profile == "steady":
        t = rng.expovariate(lam)
        while t < horizon:
            times.append(t)
            t += rng.expovariate(lam)
        return times

    def shape(t: float) -> float:  # mean 1 over a day; quiet at night, busy mid-day
        return 1 - 0.8 * math.cos(2 * math.pi * t / DAY)

    batch = BATCH_MEAN if profile == "bursty" else 1
    rate_max = lam * 1.8 / batch
    t = rng.expovariate(rate_max)
    while t < horizon:
        if rng.random() * 1.8 <= shape(t):
            size = 1 if batch == 1 else 1 + int(math.log(1 - rng.random()) / math.log(1 - 1 / batch))
            times.extend(t + k for k in range(size))  # a folder upload: one file a second
        t += rng.expovariate(rate_max)
    return [x for x in times if x < horizon]


@dataclass(frozen=True)
class RoleResult:
    role: Role
    target: str
    tasks: int
    retries: int
    cost_usd: float
    wait_p50: float
    wait_p95: float
    wait_p99: float
    backlog_peak: int
    detail: dict[str, float]
    queued_at_end: int = 0
    oldest_queued_seconds: float = 0.0

    @property
    def billed_share_of_capacity(self) -> float:
        """Billed instance-seconds ÷ what the placement's capacity can run in the period (≤ 1)."""
        cap = self.detail.get("capacitySeconds", 0.0)
        return self.detail.get("instanceSeconds", 0.0) / cap if cap else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "target": self.target,
            "tasks": self.tasks,
            "retries": self.retries,
            "monthlyUsd": round(self.cost_usd, 4),
            "waitSeconds": {"p50": self.wait_p50, "p95": self.wait_p95, "p99": self.wait_p99},
            "backlogPeak": self.backlog_peak,
            "queuedAtEnd": self.queued_at_end,
            "oldestQueuedSeconds": round(self.oldest_queued_seconds, 1),
            "detail": {k: round(v, 3) for k, v in self.detail.items()},
        }


@dataclass(frozen=True)
class SimulationResult:
    stack: str
    days: int
    profile: str
    seed: int
    files: int
    roles: tuple[RoleResult, ...]
    fixed_monthly_usd: float
    latency_p50: float
    latency_p95: float
    latency_p99: float
    estimate: Estimate
    # Documents not finished when the period ended, and how long they had waited.
    backlog: int = 0
    backlog_oldest_seconds: float = 0.0
    backlog_median_seconds: float = 0.0
    # Why the placement cannot keep up with the traffic (empty when it can).
    cannot_keep_up: tuple[str, ...] = ()

    @property
    def compute_monthly_usd(self) -> float:
        return sum(r.cost_usd for r in self.roles)

    @property
    def total_monthly_usd(self) -> float:
        return self.compute_monthly_usd + self.fixed_monthly_usd

    def role(self, role: str) -> RoleResult:
        return next(r for r in self.roles if r.role == role)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "days": self.days,
            "profile": self.profile,
            "seed": self.seed,
            "files": self.files,
            "monthlyUsd": {
                "total": round(self.total_monthly_usd, 4),
                "compute": round(self.compute_monthly_usd, 4),
                "baselineAndExternal": round(self.fixed_monthly_usd, 4),
                "closedFormTotal": round(self.estimate.total_monthly_usd, 4),
            },
            "endToEndSeconds": {"p50": self.latency_p50, "p95": self.latency_p95, "p99": self.latency_p99},
            "backlog": {
                "documents": self.backlog,
                "oldestSeconds": round(self.backlog_oldest_seconds, 1),
                "medianSeconds": round(self.backlog_median_seconds, 1),
            },
            "keepsUp": not self.cannot_keep_up,
            "cannotKeepUp": list(self.cannot_keep_up),
            "roles": [r.to_dict() for r in self.roles],
            "unconfirmedPrices": [p.key for p in self.estimate.unconfirmed],
        }


def _stages(enriched: bool) -> list[Role]:
    stages: list[Role] = ["workflow", "extraction", "workflow", "analysis", "workflow"]
    if enriched:
        stages += ["enrichment", "workflow"]
    return [*stages, "storage", "workflow"]


def simulate(
    subject: PlacementPlan | StackConfig,
    days: int = 30,
    profile: str | None = None,
    seed: int = 1,
    prices: PriceBook | None = None,
) -> SimulationResult:
    """Play `days` of arrivals through the plan; costs are scaled to a month of `assume.daysPerMonth`."""
    plan = subject if isinstance(subject, PlacementPlan) else build_plan(subject)
    cfg = plan.config
    traffic = cfg.traffic
    profile = profile or traffic.profile
    book = prices.fresh() if prices is not None else price_book_for(cfg)
    closed = estimate(plan, book)
    rng = random.Random(seed)
    clock = Clock()
    docs: list[Doc] = []

    def advance(task: Task) -> None:
        doc = task.doc
        doc.step += 1
        if doc.step >= len(doc.stages):
            doc.done = clock.now
            return
        submit(doc)

    def mean_seconds(role: Role) -> float:
        if role == "workflow":
            return book.get("assume.workflowTaskSeconds")
        return traffic.minutes(role) * 60

    means = {r: mean_seconds(r) for r in ROLES}
    pools: dict[Role, Pool] = {p.role: p.target_unit.simulator(clock, p, advance, book) for p in plan}

    def submit(doc: Doc) -> None:
        role = doc.stages[doc.step]
        duration = means[role] * (1 + JITTER * (2 * rng.random() - 1))
        pools[role].stats.tasks += 1
        pools[role].submit(Task(doc=doc, role=role, duration=duration, submitted=clock.now))

    def arrive(doc: Doc) -> None:
        submit(doc)

    for t in _arrivals(rng, traffic.files_per_day, days, profile):
        doc = Doc(arrived=t, stages=_stages(rng.random() < traffic.enrichment_rate))
        docs.append(doc)
        clock.at(t, arrive, doc)
    elapsed = days * DAY
    clock.run(until=elapsed)
    for pool in pools.values():
        pool.close(elapsed)
    scale = days_per_month(book) / days
    results: list[RoleResult] = []
    for p in plan:
        pool = pools[p.role]
        cost, figures = pool.cost(elapsed, book, closed)
        detail = {k: v * scale for k, v in figures.items()}
        st = pool.stats
        results.append(
            RoleResult(
                role=p.role,
                target=p.target,
                tasks=st.tasks,
                retries=st.retries,
                cost_usd=cost * scale,
                wait_p50=_percentile(st.waits, 0.5),
                wait_p95=_percentile(st.waits, 0.95),
                wait_p99=_percentile(st.waits, 0.99),
                backlog_peak=st.backlog_peak,
                detail=detail,
                queued_at_end=len(pool.queue),
                oldest_queued_seconds=pool.oldest_queued_seconds(elapsed),
            )
        )
    free = next((c.usd for c in closed.components if c.name == "Lambda free tier"), 0.0)
    fixed = closed.total_monthly_usd - closed.by_category("compute") + free
    # The hosted services bill per task done (pages extracted, tokens, sandbox-seconds), not per
    # document arrived: scale each by the share of its role's month of tasks the period completed.
    for c in closed.components:
        if c.category != "external" or c.role is None:
            continue
        expected = role_load(c.role, traffic, book).tasks  # type: ignore[arg-type]
        done = pools[c.role].stats.completed * scale  # type: ignore[index]
        monthly_fee = book.get("e2b.planMonthly") if c.name == "E2B sandboxes" else 0.0
        if expected > 0:
            fixed -= (c.usd - monthly_fee) * (1 - done / expected)
    latencies = [d.done - d.arrived for d in docs if d.done is not None]
    ages = [elapsed - d.arrived for d in docs if d.done is None]
    behind = _cannot_keep_up(plan, results, ages, days, book)
    return SimulationResult(
        stack=plan.stack,
        days=days,
        profile=profile,
        seed=seed,
        files=len(docs),
        roles=tuple(results),
        fixed_monthly_usd=fixed,
        latency_p50=_percentile(latencies, 0.5),
        latency_p95=_percentile(latencies, 0.95),
        latency_p99=_percentile(latencies, 0.99),
        estimate=closed,
        backlog=len(ages),
        backlog_oldest_seconds=max(ages, default=0.0),
        backlog_median_seconds=_percentile(ages, 0.5),
        cannot_keep_up=tuple(behind),
    )


def _cannot_keep_up(
    plan: PlacementPlan, results: list[RoleResult], ages: list[float], days: int, prices: PriceBook
) -> list[str]:
    """Plain sentences when documents are left waiting longer than KEEP_UP_SECONDS: how many, and which
    roles hold them (each with the load it needs against its worker bound)."""
    if max(ages, default=0.0) <= KEEP_UP_SECONDS:
        return []
    cfg = plan.config
    oldest = max(ages) / DAY
    out = [
        f"{plan.stack} cannot keep up with {cfg.traffic.files_per_day:,.0f} files/day: after {days} days "
        f"{len(ages):,} documents are unfinished, the oldest waiting {oldest:.1f} days"
    ]
    for r in results:
        if r.oldest_queued_seconds <= KEEP_UP_SECONDS:
            continue
        placement = plan[r.role]
        need = role_load(r.role, cfg.traffic, prices).utilisation
        bound = placement.target_unit.worker_bound(placement)
        out.append(
            f"{r.role} on {r.target}: {r.queued_at_end:,} tasks queued; the traffic keeps {need:.2f} tasks "
            f"running on average and it runs {bound} — raise that limit or place {r.role} elsewhere"
        )
    return out
