"""A deterministic discrete-event simulation of documents flowing through a placement.

Each document runs the pipeline the workflow runs — a workflow task, extraction, a workflow task,
analysis, a workflow task, (enrichment and a workflow task for the enriched share), storage and a
last workflow task — and every task goes to its role's capacity model:

* **ec2**: `desiredCapacity × assume.ec2TasksPerInstance` fixed slots; tasks queue FIFO. Cost is
  fixed (instance-hours).
* **cloudrun**: instances start `assume.cloudRunScaleUpSeconds` after a task finds no free slot
  (up to `maxInstances`); an instance idle for the cooldown (90 s) is stopped (down to
  `minInstances`). Billed: busy time ÷ (slots × target utilisation) plus the time the pool is up with
  nothing running — the same rule as the closed form.
* **lambda**: a task that finds no idle invocation starts one (up to the reserved concurrency); it
  polls after `assume.lambdaColdStartSeconds`, one task at a time, until `timeout − shutdown buffer`,
  and is billed the whole timeout. A task that cannot finish before the polling deadline is cut and
  retried (Temporal retry, 1 s backoff).

Arrivals: `steady` (Poisson), `diurnal` (Poisson, rate 0.2×–1.8× the mean over the day) or `bursty`
(batches of ~10 files on the diurnal curve). Task times vary ±25% around `minutesPerFile`. The same
seed always gives the same result.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from docpipe.config import StackConfig
from docpipe.cost.estimate import estimate, price_book_for
from docpipe.cost.load import days_per_month
from docpipe.cost.model import Estimate
from docpipe.cost.pricebook import PriceBook
from docpipe.plan import PlacementPlan, RolePlacement, build_plan
from workers.contract import ROLES, Role

DAY = 86400.0
JITTER = 0.25
BATCH_MEAN = 10
RETRY_BACKOFF = 1.0


class Clock:
    """The event queue: callbacks at times, run in time order (ties in scheduling order)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0

    def at(self, when: float, fn: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._heap, (when, self._seq, fn, args))
        self._seq += 1

    def run(self) -> None:
        while self._heap:
            when, _, fn, args = heapq.heappop(self._heap)
            self.now = when
            fn(*args)


@dataclass
class Task:
    doc: Doc
    role: Role
    duration: float
    submitted: float
    started: float | None = None
    attempts: int = 0


@dataclass
class Doc:
    arrived: float
    stages: list[Role]
    step: int = 0
    done: float | None = None


@dataclass
class RoleStats:
    waits: list[float] = field(default_factory=list)
    backlog_peak: int = 0
    tasks: int = 0
    retries: int = 0
    busy_seconds: float = 0.0
    cost_usd: float = 0.0
    detail: dict[str, float] = field(default_factory=dict)


class Pool:
    """A role's capacity model. `submit` hands it a task; it calls `on_done(task)` when finished."""

    def __init__(self, clock: Clock, placement: RolePlacement, on_done: Callable[[Task], None]) -> None:
        self.clock = clock
        self.placement = placement
        self.on_done = on_done
        self.queue: deque[Task] = deque()
        self.stats = RoleStats()

    def submit(self, task: Task) -> None:
        self.queue.append(task)
        self.dispatch()
        self.stats.backlog_peak = max(self.stats.backlog_peak, len(self.queue))

    def dispatch(self) -> None:
        raise NotImplementedError

    def _started(self, task: Task) -> None:
        now = self.clock.now
        if task.started is None:
            task.started = now
            self.stats.waits.append(now - task.submitted)
        task.attempts += 1

    def finish(self, elapsed: float) -> None:
        """Close the books at `elapsed` seconds (cost of the simulated period)."""


class Ec2Pool(Pool):
    def __init__(self, clock: Clock, placement: RolePlacement, on_done: Callable[[Task], None], slots: int):
        super().__init__(clock, placement, on_done)
        self.slots = slots
        self.busy = 0

    def dispatch(self) -> None:
        while self.queue and self.busy < self.slots:
            task = self.queue.popleft()
            self.busy += 1
            self._started(task)
            self.clock.at(self.clock.now + task.duration, self._finish, task)

    def _finish(self, task: Task) -> None:
        self.busy -= 1
        self.stats.busy_seconds += task.duration
        self.on_done(task)
        self.dispatch()


@dataclass
class _Instance:
    ready: bool = False
    busy: int = 0
    token: int = 0


class CloudRunPool(Pool):
    def __init__(
        self,
        clock: Clock,
        placement: RolePlacement,
        on_done: Callable[[Task], None],
        scale_up: float,
        cooldown: float,
    ):
        super().__init__(clock, placement, on_done)
        s = placement.cloudrun
        self.slots = s.cpu
        self.max = s.max_instances
        self.min = s.min_instances
        self.scale_up = scale_up
        self.cooldown = cooldown
        self.instances: list[_Instance] = [_Instance(ready=True) for _ in range(self.min)]
        self.running = 0
        self.idle_alive = 0.0
        self._last = 0.0
        self.bursts = 0

    def _account(self) -> None:
        now = self.clock.now
        if self.running == 0 and any(i.ready for i in self.instances):
            self.idle_alive += now - self._last
        self._last = now

    def dispatch(self) -> None:
        self._account()
        for inst in self.instances:
            while self.queue and inst.ready and inst.busy < self.slots:
                task = self.queue.popleft()
                inst.busy += 1
                inst.token += 1
                self.running += 1
                self._started(task)
                self.clock.at(self.clock.now + task.duration, self._finish, inst, task)
        if not self.queue:
            return
        starting = sum(1 for i in self.instances if not i.ready)
        want = math.ceil(len(self.queue) / self.slots) - starting
        room = self.max - len(self.instances)
        for _ in range(max(0, min(want, room))):
            if not self.instances:
                self.bursts += 1
            inst = _Instance()
            self.instances.append(inst)
            self.clock.at(self.clock.now + self.scale_up, self._ready, inst)

    def _ready(self, inst: _Instance) -> None:
        self._account()
        inst.ready = True
        self.dispatch()
        if inst.busy == 0:
            self._idle(inst)

    def _idle(self, inst: _Instance) -> None:
        inst.token += 1
        self.clock.at(self.clock.now + self.cooldown, self._scale_in, inst, inst.token)

    def _finish(self, inst: _Instance, task: Task) -> None:
        self._account()
        inst.busy -= 1
        self.running -= 1
        self.stats.busy_seconds += task.duration
        self.on_done(task)
        self.dispatch()
        if inst.busy == 0:
            self._idle(inst)

    def _scale_in(self, inst: _Instance, token: int) -> None:
        if inst.busy or inst.token != token or inst not in self.instances or len(self.instances) <= self.min:
            return
        self._account()
        self.instances.remove(inst)

    def instance_seconds(self, elapsed: float, utilisation: float) -> float:
        busy = self.stats.busy_seconds / (self.slots * utilisation)
        return max(self.min * elapsed, busy + self.idle_alive)


@dataclass
class _Invocation:
    poll_end: float
    ready: bool = False
    busy: bool = False
    idle_since: float = 0.0
    alive: bool = True


class LambdaPool(Pool):
    def __init__(
        self,
        clock: Clock,
        placement: RolePlacement,
        on_done: Callable[[Task], None],
        cold_start: float,
        concurrency: int,
    ):
        super().__init__(clock, placement, on_done)
        s = placement.lambda_
        self.billed = float(s.timeout_seconds)
        self.poll = self.billed - s.shutdown_buffer_seconds
        self.cold_start = cold_start
        self.concurrency = concurrency
        self.live = 0  # started and not yet at their deadline (counts against concurrency)
        self.starting = 0
        self.idle: deque[_Invocation] = deque()  # idle pollers, longest-waiting first
        self.invocations = 0

    def _pop_idle(self) -> _Invocation | None:
        now = self.clock.now
        while self.idle:
            inv = self.idle.popleft()
            if inv.alive and not inv.busy and now < inv.poll_end:
                return inv
        return None

    def dispatch(self) -> None:
        while self.queue:
            inv = self._pop_idle()  # the longest-waiting poller gets the task
            if inv is None:
                break
            self._assign(inv, self.queue.popleft())
        if not self.queue:
            return
        want = len(self.queue) - self.starting
        room = self.concurrency - self.live
        for _ in range(max(0, min(want, room))):
            self._invoke()

    def _invoke(self) -> None:
        now = self.clock.now
        ready_at = now + self.cold_start
        inv = _Invocation(poll_end=ready_at + self.poll)
        self.live += 1
        self.starting += 1
        self.invocations += 1
        self.clock.at(ready_at, self._ready, inv)
        self.clock.at(inv.poll_end, self._poll_end, inv)
        self.clock.at(ready_at + self.billed, self._end, inv)

    def _idle(self, inv: _Invocation) -> None:
        inv.busy = False
        inv.idle_since = self.clock.now
        self.idle.append(inv)

    def _ready(self, inv: _Invocation) -> None:
        inv.ready = True
        self.starting -= 1
        self._idle(inv)
        self.dispatch()

    def _assign(self, inv: _Invocation, task: Task) -> None:
        now = self.clock.now
        inv.busy = True
        self._started(task)
        if now + task.duration > inv.poll_end:
            self.clock.at(inv.poll_end, self._cut, inv, task)
        else:
            self.clock.at(now + task.duration, self._finish, inv, task)

    def _finish(self, inv: _Invocation, task: Task) -> None:
        self._idle(inv)
        self.stats.busy_seconds += task.duration
        self.on_done(task)
        self.dispatch()

    def _cut(self, inv: _Invocation, task: Task) -> None:
        inv.busy = False
        self.stats.retries += 1
        self.clock.at(self.clock.now + RETRY_BACKOFF, self.submit, task)

    def _poll_end(self, inv: _Invocation) -> None:
        inv.alive = False

    def _end(self, inv: _Invocation) -> None:
        self.live -= 1
        self.dispatch()


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "target": self.target,
            "tasks": self.tasks,
            "retries": self.retries,
            "monthlyUsd": round(self.cost_usd, 4),
            "waitSeconds": {"p50": self.wait_p50, "p95": self.wait_p95, "p99": self.wait_p99},
            "backlogPeak": self.backlog_peak,
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
    pools: dict[Role, Pool] = {}
    for p in plan:
        if p.target == "ec2":
            slots = int(p.ec2.desired_capacity * book.get("assume.ec2TasksPerInstance"))
            pools[p.role] = Ec2Pool(clock, p, advance, slots)
        elif p.target == "cloudrun":
            pools[p.role] = CloudRunPool(
                clock,
                p,
                advance,
                book.get("assume.cloudRunScaleUpSeconds"),
                book.get("assume.cloudRunCooldownSeconds"),
            )
        else:
            s = p.lambda_
            conc = (
                s.reserved_concurrency
                if s.reserved_concurrency is not None
                else int(book.get("assume.lambdaAccountConcurrency"))
            )
            pools[p.role] = LambdaPool(clock, p, advance, book.get("assume.lambdaColdStartSeconds"), conc)

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
    clock.run()
    elapsed = days * DAY
    scale = days_per_month(book) / days
    results: list[RoleResult] = []
    for p in plan:
        pool = pools[p.role]
        detail: dict[str, float] = {}
        if isinstance(pool, Ec2Pool):
            cost = closed.role_compute_usd(p.role) / scale  # fixed: the same instance-hours
        elif isinstance(pool, CloudRunPool):
            cr = p.cloudrun
            inst_s = pool.instance_seconds(elapsed, book.get("assume.cloudRunTargetUtilisation"))
            per_s = cr.cpu * book.get("cloudrun.workerPool.vcpuSecond") + cr.memory_mib / 1024 * book.get(
                "cloudrun.workerPool.gibSecond"
            )
            cost = inst_s * per_s
            detail = {"instanceSeconds": inst_s * scale, "bursts": pool.bursts * scale}
        else:
            assert isinstance(pool, LambdaPool)
            lam = p.lambda_
            gb_rate = book.get(f"lambda.gbSecond.{lam.architecture}")
            cost = pool.invocations * (
                pool.billed * lam.memory_mb / 1024 * gb_rate + book.get("lambda.requestsPerMillion") / 1e6
            )
            detail = {"invocations": pool.invocations * scale}
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
            )
        )
    free = next((c.usd for c in closed.components if c.name == "Lambda free tier"), 0.0)
    fixed = closed.total_monthly_usd - closed.by_category("compute") + free
    latencies = [d.done - d.arrived for d in docs if d.done is not None]
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
    )
