"""lambda: a Temporal Serverless Worker — a container-image Lambda that Temporal invokes.

Everything docpipe means by "a role on Lambda" is here: the sizing, the per-role and per-tier
defaults, the timing rule, the worker's runtime settings, the cost, the right-sizing and the
simulation model. The Pulumi half (function, IAM, invoke role) is `infra/placements/lambda_.py`.

How it behaves (temporalio.contrib.aws.lambda_worker): Temporal invokes the function when a task is
queued and no running invocation is free. The invocation polls until `timeout − deadline buffer`,
then stops polling, lets running tasks finish within the graceful stop, runs its shutdown hooks and
returns; it never returns early when idle. The timing follows Temporal's rule for long activities
("Tuning for long-running Activities"), derived per role from its activity timeout `A` — never
configured separately, so it cannot drift:

    graceful stop   = A + STOP_MARGIN_SECONDS      (> the longest activity)
    deadline buffer = graceful stop + HOOK_SECONDS (> graceful stop + shutdown hooks)
    timeout         ≥ A + deadline buffer + 1      (> activity + buffer), at most 900 s

So a task picked up at the last moment of the poll window still finishes, and nothing is cut and
retried. An invocation is billed from its start until it returns: the poll window `P`, plus the rest
of a task still running at `P`.

Capacity (closed form, Poisson arrivals at the month's mean rate, one task at a time per
invocation): an arrival is absorbed by an invocation that is idle-polling; the idle-poll time on offer
is `inv_rate·P − ρ` per second, so the absorbed share is `f = 1 − e^{−idle pollers}` and invocations
run back to back at heavy load. The chance an invocation still runs a task at `P` is the last start's
chance of falling within `d` of `P`; that task drains for `d/2` on average.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from docpipe.cost.events import Clock, Pool, Task
from docpipe.cost.model import Burst, Charge, RoleCost, num
from docpipe.models import ConfigModel
from docpipe.targets.base import Target
from workers.contract import LAMBDA_HOOK_SECONDS, Env, Role

if TYPE_CHECKING:
    from docpipe.config import StackConfig
    from docpipe.cost.load import RoleLoad
    from docpipe.cost.model import Estimate
    from docpipe.cost.pricebook import PriceBook
    from docpipe.plan import Need, RolePlacement

KEY = "lambda"
MAX_TIMEOUT_SECONDS = 900
# The graceful stop exceeds the longest activity by this much (Temporal: stop timeout > activity).
STOP_MARGIN_SECONDS = 2
# After the graceful stop, time for the worker's shutdown hooks (closing clients): the contrib's 2 s,
# declared once in workers.contract so the handler's defaults and this derivation agree.
HOOK_SECONDS = LAMBDA_HOOK_SECONDS
# A workflow task must finish well within this; the workflow role has no activity timeout.
WORKFLOW_TASK_SECONDS = 10


@dataclass(frozen=True)
class LambdaTiming:
    """A Lambda worker's timing, derived from the longest task it may run (Temporal's rule)."""

    activity_seconds: int
    graceful_stop_seconds: int
    deadline_buffer_seconds: int
    min_timeout_seconds: int

    @classmethod
    def of(cls, activity_timeout: int | None) -> LambdaTiming:
        a = WORKFLOW_TASK_SECONDS if activity_timeout is None else int(activity_timeout)
        graceful = a + STOP_MARGIN_SECONDS
        buffer = graceful + HOOK_SECONDS
        return cls(a, graceful, buffer, a + buffer + 1)

    def poll_seconds(self, timeout: int) -> int:
        return timeout - self.deadline_buffer_seconds


# The longest activity a Lambda worker can hold: A + (A + margins) + 1 ≤ 900.
MAX_ACTIVITY_SECONDS = (MAX_TIMEOUT_SECONDS - 1 - STOP_MARGIN_SECONDS - HOOK_SECONDS) // 2


class LambdaSizing(ConfigModel):
    """`activities.<role>.lambda`: a Temporal Serverless Worker on Lambda (container image)."""

    memory_mb: Annotated[
        int, Field(ge=128, le=10240, description="Function memory (MB); CPU scales with it.")
    ] = 1024
    timeout_seconds: Annotated[
        int,
        Field(
            ge=1,
            le=MAX_TIMEOUT_SECONDS,
            description="Function timeout: the invocation polls until timeout minus its deadline buffer "
            f"(2 × activityTimeoutSeconds + {STOP_MARGIN_SECONDS + HOOK_SECONDS} s in all, derived), so it "
            "must be at least 2 × activityTimeoutSeconds + "
            f"{STOP_MARGIN_SECONDS + HOOK_SECONDS + 1} s.",
        ),
    ] = 300
    reserved_concurrency: Annotated[
        int | None,
        Field(
            ge=1,
            le=1000,
            description="Reserved concurrent executions (caps the burst; at least 1: 0 would stop the "
            "function); unset = the account's pool. "
            "AWS keeps 100 unreserved, so the account limit must be ≥ 100 + the sum reserved.",
        ),
    ] = None
    provisioned_concurrency: Annotated[
        int, Field(ge=0, le=1000, description="Pre-initialised environments, billed around the clock.")
    ] = 0
    architecture: Literal["arm64", "x86_64"] = Field(
        "arm64", description="CPU architecture (arm64 = Graviton)."
    )

    @model_validator(mode="after")
    def _provisioned_within_reserved(self) -> LambdaSizing:
        # Lambda refuses provisioned concurrency above the function's reserved concurrency.
        if self.reserved_concurrency is not None and self.provisioned_concurrency > self.reserved_concurrency:
            raise ValueError(
                f"provisionedConcurrency {self.provisioned_concurrency} exceeds reservedConcurrency "
                f"{self.reserved_concurrency}; Lambda needs provisioned <= reserved (raise "
                "reservedConcurrency or lower provisionedConcurrency)"
            )
        return self


# Timeouts are the smallest the timing rule allows for the presets' activity timeouts (rounded up to
# 5 s): workflow 10 s task → 25 (30), extraction/analysis 420 s → 845, enrichment 300 s → 605,
# storage 60 s → 125.
DEFAULTS: dict[Role, dict[str, Any]] = {
    "workflow": {"memoryMb": 512, "timeoutSeconds": 30, "reservedConcurrency": 10},
    "extraction": {"memoryMb": 2048, "timeoutSeconds": 845},
    "analysis": {"memoryMb": 1024, "timeoutSeconds": 845},
    "enrichment": {"memoryMb": 512, "timeoutSeconds": 605, "reservedConcurrency": 4},
    "storage": {"memoryMb": 512, "timeoutSeconds": 125, "reservedConcurrency": 10},
}
# Lambda roles the tiers place on Lambda carry a reserved concurrency: without one a burst may use the
# account's whole concurrency (1,000), which the policy pack's burst-cost-cap refuses.
TIER_OVERRIDES: dict[str, dict[Role, dict[str, Any]]] = {
    "high": {"enrichment": {"reservedConcurrency": 10}},
}


def required_timeout(role: str, activity_timeout: float | None) -> tuple[int, str]:
    """The smallest Lambda timeout that holds one of the role's tasks, and the sum spelled out.

    The one statement of the rule: config validation, the recommender and the policy pack's
    `lambda-timeout-fits-activity` all call it.
    """
    t = LambdaTiming.of(None if activity_timeout is None else int(activity_timeout))
    task = "a workflow task" if activity_timeout is None else f"the {role} activity timeout"
    return (
        t.min_timeout_seconds,
        f"{task} ({t.activity_seconds} s) plus the worker's deadline buffer ({t.deadline_buffer_seconds} s: "
        f"graceful stop {t.graceful_stop_seconds} s + {HOOK_SECONDS} s for shutdown hooks) plus 1 s",
    )


@dataclass(frozen=True)
class LambdaUsage:
    invocations: float
    absorbed_share: float
    in_flight_at_deadline: float  # chance an invocation still runs a task when polling stops
    mean_concurrency: float
    billed_seconds: float  # per invocation: the poll window plus the expected drain


def lambda_usage(tasks: float, task_seconds: float, month_seconds: float, poll_seconds: float) -> LambdaUsage:
    """Invocations a month of `tasks` needs and what each is billed (see the module docstring)."""
    if tasks <= 0:
        return LambdaUsage(0.0, 0.0, 0.0, 0.0, float(poll_seconds))
    lam = tasks / month_seconds
    d = task_seconds
    p = poll_seconds
    inv_rate, share, in_flight = lam, 0.0, 0.0
    for _ in range(500):
        idle_pollers = max(1e-12, inv_rate * p - lam * d)
        share = 1 - math.exp(-idle_pollers)
        per_poller = lam * share / idle_pollers  # task rate an idle poller sees
        cycle = d + 1 / per_poller
        starts = 1 + max(0.0, p - d) / cycle
        in_flight = min(1.0, d / cycle)
        new_inv = 0.5 * inv_rate + 0.5 * lam / starts  # damped: the undamped map oscillates
        done = abs(new_inv - inv_rate) <= 1e-10 * lam
        inv_rate = new_inv
        if done:
            break
    billed = p + in_flight * d / 2
    return LambdaUsage(
        invocations=inv_rate * month_seconds,
        absorbed_share=share,
        in_flight_at_deadline=in_flight,
        mean_concurrency=inv_rate * billed,
        billed_seconds=billed,
    )


class LambdaTarget(Target[LambdaSizing]):
    """Temporal Serverless Worker on Lambda: scale to zero, billed per invocation for its whole timeout."""

    key: ClassVar[str] = KEY
    role_defaults = DEFAULTS
    tier_defaults = TIER_OVERRIDES
    sizing_model = LambdaSizing
    description = "Temporal Serverless Worker (container-image Lambda invoked by Temporal)"
    serverless = True
    order = 30

    # --- config -----------------------------------------------------------------------------------
    def summary(self, sizing: LambdaSizing) -> str:
        reserved = "" if sizing.reserved_concurrency is None else f", reserved {sizing.reserved_concurrency}"
        return f"{sizing.memory_mb} MB {sizing.architecture}, {sizing.timeout_seconds} s{reserved}"

    def rules(self, config: StackConfig, role: Role) -> list[str]:
        activity = config.activities[role]
        sizing = self.sizing(activity)
        needed, why = required_timeout(role, activity.activity_timeout_seconds)
        key = f"docpipe:activities.{role}.lambda.timeoutSeconds"
        if needed > MAX_TIMEOUT_SECONDS:
            return [
                f"docpipe:activities.{role}.activityTimeoutSeconds: a Lambda worker needs {why} = "
                f"{needed} s, beyond Lambda's {MAX_TIMEOUT_SECONDS} s limit; place {role} on ec2 or "
                f"cloudrun, or set activityTimeoutSeconds to at most {MAX_ACTIVITY_SECONDS}"
            ]
        if sizing.timeout_seconds >= needed:
            return []
        return [
            f"{key}: {sizing.timeout_seconds} s cannot hold {why}; set it to at least {needed} s "
            f"(max {MAX_TIMEOUT_SECONDS})"
        ]

    def notes(self, placement: RolePlacement) -> list[str]:
        s = self.sizing(placement)
        if s.reserved_concurrency is None:
            return [
                "no reserved concurrency: a burst may use the account's whole Lambda concurrency "
                "(burst-cost-cap prices it at the account limit)"
            ]
        return [f"reserves {s.reserved_concurrency} concurrent executions"]

    def stack_notes(self, placements: list[RolePlacement]) -> list[str]:
        reserved = sum(self.sizing(p).reserved_concurrency or 0 for p in placements)
        if not reserved:
            return []
        return [
            f"Lambda: {reserved} concurrent executions reserved in all; AWS keeps 100 unreserved, so "
            f"the account's concurrency limit must be ≥ {100 + reserved} (new accounts are often at "
            "10: Service Quotas → AWS Lambda → Concurrent executions), or unset "
            "activities.<role>.lambda.reservedConcurrency"
        ]

    # --- plan -------------------------------------------------------------------------------------
    def joins_vpc(self, config: StackConfig, role: Role, needs: frozenset[Need]) -> bool:
        # A Lambda joins the VPC only for what lives there: the database, or a self-hosted Temporal.
        return "database" in needs or config.temporal.mode == "self-hosted"

    def needs_nat(self, placement: RolePlacement) -> bool:
        """A VPC-attached Lambda reaches the internet only through a NAT gateway."""
        return placement.vpc_attached and "internet" in placement.needs

    def architecture(self, sizing: LambdaSizing) -> str:
        return sizing.architecture

    # --- runtime ----------------------------------------------------------------------------------
    def timing(self, placement: RolePlacement) -> LambdaTiming:
        return LambdaTiming.of(placement.activity_timeout_seconds)

    def runtime(self, placement: RolePlacement) -> Mapping[str, Any]:
        s = self.sizing(placement)
        t = self.timing(placement)
        return {
            "pollSeconds": t.poll_seconds(s.timeout_seconds),
            "gracefulStopSeconds": t.graceful_stop_seconds,
            "deadlineBufferSeconds": t.deadline_buffer_seconds,
            "minTimeoutSeconds": t.min_timeout_seconds,
        }

    def worker_env(self, placement: RolePlacement) -> dict[str, str]:
        rt = self.runtime(placement)
        return {
            Env.LAMBDA_GRACEFUL_STOP_SECONDS: str(rt["gracefulStopSeconds"]),
            Env.LAMBDA_DEADLINE_BUFFER_SECONDS: str(rt["deadlineBufferSeconds"]),
        }

    # --- cost -------------------------------------------------------------------------------------
    def concurrency(self, sizing: LambdaSizing, prices: PriceBook) -> int:
        if sizing.reserved_concurrency is not None:
            return sizing.reserved_concurrency
        return int(prices.get("assume.lambdaAccountConcurrency"))

    def estimate(self, placement: RolePlacement, load: RoleLoad, prices: PriceBook) -> RoleCost:
        s = self.sizing(placement)
        gb_rate = prices.get(f"lambda.gbSecond.{s.architecture}")
        req_rate = prices.get("lambda.requestsPerMillion")
        gb = s.memory_mb / 1024
        poll = float(self.timing(placement).poll_seconds(s.timeout_seconds))
        use = lambda_usage(load.tasks, load.task_seconds, load.month_seconds, poll)
        billed = use.billed_seconds
        inv = use.invocations
        init = prices.get("assume.lambdaInitSeconds")  # AWS bills the INIT phase like duration
        gb_seconds = inv * (billed + init) * gb
        duration = gb_seconds * gb_rate
        requests = inv * req_rate / 1e6
        working = (
            f"{num(round(inv))} inv × ({num(billed)} s + {num(init)} s INIT) × {num(gb)} GB × "
            f"{num(gb_rate)} USD/GB-s ({s.architecture}) + {num(round(inv))} req × {num(req_rate)} USD/1M"
        )
        notes = [
            f"{num(round(load.tasks))} tasks ({load.tasks_working}); "
            f"{use.absorbed_share:.1%} picked up by an already-running invocation",
            f"billed {num(round(billed, 1))} s per invocation: it polls for {num(poll)} s whatever the "
            f"load, then finishes a task still running ({use.in_flight_at_deadline:.1%} of invocations, "
            f"{num(load.task_seconds / 2)} s on average)",
        ]
        warnings: list[str] = []
        concurrency = self.concurrency(s, prices)
        if use.mean_concurrency > concurrency:
            warnings.append(
                f"{placement.role} on lambda: needs ~{use.mean_concurrency:.1f} concurrent invocations "
                f"but reserved concurrency is {concurrency}; tasks queue"
            )
        if s.provisioned_concurrency:
            warnings.append(
                f"{placement.role} on lambda: provisioned concurrency ({s.provisioned_concurrency}) is "
                "not priced by this model"
            )
        per_hour_inv = 3600 / billed
        burst_usd = concurrency * 3600 * gb * gb_rate + concurrency * per_hour_inv * req_rate / 1e6
        burst = Burst(
            role=placement.role,
            target=KEY,
            usd_per_hour=burst_usd,
            working=(
                f"{concurrency} concurrent × 3,600 s × {num(gb)} GB × {num(gb_rate)} USD/GB-s + "
                f"{concurrency} × {num(per_hour_inv)} inv/h × {num(req_rate)} USD/1M"
            ),
        )
        return RoleCost.compute(
            placement.role,
            KEY,
            usd=duration + requests,
            working=working,
            burst=burst,
            notes=tuple(notes),
            warnings=tuple(warnings),
            charges=(
                Charge(f"duration ({s.architecture})", gb_seconds, "GB-s", gb_rate),
                Charge("requests", inv / 1e6, "1M req", req_rate),
            ),
            lambda_gb_seconds=gb_seconds,
            lambda_requests=inv,
            extra={"invocations": inv, "billedSecondsPerInvocation": billed},
        )

    def cold_start_seconds(self, sizing: LambdaSizing, prices: PriceBook) -> float:
        return 0.0 if sizing.provisioned_concurrency else prices.get("assume.lambdaColdStartSeconds")

    def right_size(
        self,
        config: StackConfig,
        role: Role,
        sizing: LambdaSizing,
        *,
        load: RoleLoad,
        peak_factor: float,
        prices: PriceBook,
    ) -> LambdaSizing:
        update: dict[str, Any] = {}
        timing = LambdaTiming.of(config.activities[role].activity_timeout_seconds)
        if timing.min_timeout_seconds > sizing.timeout_seconds:
            update["timeout_seconds"] = min(timing.min_timeout_seconds, MAX_TIMEOUT_SECONDS)
        if sizing.reserved_concurrency is not None:
            timeout = update.get("timeout_seconds", sizing.timeout_seconds)
            use = lambda_usage(
                load.tasks, load.task_seconds, load.month_seconds, timing.poll_seconds(timeout)
            )
            need = math.ceil(use.mean_concurrency * peak_factor) + 2
            if need > sizing.reserved_concurrency:
                update["reserved_concurrency"] = min(1000, need)
        return sizing.model_copy(update=update) if update else sizing

    def simulator(
        self, clock: Clock, placement: RolePlacement, on_done: Callable[[Task], None], prices: PriceBook
    ) -> Pool:
        return LambdaPool(
            clock,
            placement,
            on_done,
            prices.get("assume.lambdaColdStartSeconds"),
            self.concurrency(self.sizing(placement), prices),
        )


@dataclass
class _Invocation:
    poll_end: float
    started: float = 0.0
    ready: bool = False
    busy: bool = False
    alive: bool = True  # still polling


class LambdaPool(Pool):
    """A task that finds no idle invocation starts one (up to the concurrency); it polls after the cold
    start, one task at a time, until `timeout − deadline buffer`; a task still running then finishes
    (the graceful stop exceeds the activity timeout), and the invocation is billed until it returns."""

    def __init__(
        self,
        clock: Clock,
        placement: RolePlacement,
        on_done: Callable[[Task], None],
        cold_start: float,
        concurrency: int,
    ):
        super().__init__(clock, placement, on_done)
        s = TARGET.sizing(placement)
        self.poll = float(TARGET.timing(placement).poll_seconds(s.timeout_seconds))
        self.cold_start = cold_start
        self.concurrency = concurrency
        self.live = 0  # started and not yet returned (counts against concurrency)
        self.starting = 0
        self.idle: deque[_Invocation] = deque()  # idle pollers, longest-waiting first
        self.invocations = 0
        self.billed_seconds = 0.0
        self.running: dict[int, _Invocation] = {}  # started and not yet returned

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
        ready_at = self.clock.now + self.cold_start
        inv = _Invocation(poll_end=ready_at + self.poll, started=ready_at)
        self.running[id(inv)] = inv
        self.live += 1
        self.starting += 1
        self.invocations += 1
        self.clock.at(ready_at, self._ready, inv)
        self.clock.at(inv.poll_end, self._poll_end, inv)

    def _idle(self, inv: _Invocation) -> None:
        inv.busy = False
        self.idle.append(inv)

    def _ready(self, inv: _Invocation) -> None:
        inv.ready = True
        self.starting -= 1
        self._idle(inv)
        self.dispatch()

    def _assign(self, inv: _Invocation, task: Task) -> None:
        inv.busy = True
        self._started(task)
        self.clock.at(self.clock.now + task.duration, self._finish, inv, task)

    def _finish(self, inv: _Invocation, task: Task) -> None:
        self._completed(task)
        self.on_done(task)
        if inv.alive:
            self._idle(inv)
        else:
            inv.busy = False
            self._end(inv)  # the task it drained was its last
        self.dispatch()

    def _poll_end(self, inv: _Invocation) -> None:
        inv.alive = False
        if not inv.busy:
            self._end(inv)

    def _end(self, inv: _Invocation) -> None:
        self.live -= 1
        self.running.pop(id(inv), None)
        self.billed_seconds += self.clock.now - inv.started
        self.dispatch()

    def close(self, now: float) -> None:
        super().close(now)
        for inv in self.running.values():  # billed up to the end of the period
            self.billed_seconds += max(0.0, now - inv.started)
        self.running.clear()

    def cost(self, elapsed: float, prices: PriceBook, closed: Estimate) -> tuple[float, dict[str, float]]:
        s = TARGET.sizing(self.placement)
        gb_rate = prices.get(f"lambda.gbSecond.{s.architecture}")
        init = self.invocations * prices.get("assume.lambdaInitSeconds")
        duration = (self.billed_seconds + init) * s.memory_mb / 1024 * gb_rate
        requests = self.invocations * prices.get("lambda.requestsPerMillion") / 1e6
        return duration + requests, {
            "invocations": float(self.invocations),
            "billedSeconds": self.billed_seconds,
            "instanceSeconds": self.billed_seconds,
            "capacitySeconds": self.concurrency * elapsed,
        }


TARGET = LambdaTarget()
