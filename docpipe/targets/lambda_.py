"""lambda: a Temporal Serverless Worker — a container-image Lambda that Temporal invokes.

Everything docpipe means by "a role on Lambda" is here: the sizing, the per-role and per-tier
defaults, the timing rule, the worker's runtime settings, the cost, the right-sizing and the
simulation model. The Pulumi half (function, IAM, invoke role) is `infra/placements/lambda_.py`.

How it behaves (temporalio.contrib.aws.lambda_worker): Temporal invokes the function when a task is
queued and no running invocation is free. The invocation polls until `timeout − shutdownBuffer`,
then stops polling, lets running tasks finish within the graceful stop, and returns. It never exits
early when idle, so every invocation is billed for its whole timeout.

Capacity (closed form, Poisson arrivals at the month's mean rate, one task at a time per
invocation): an arrival is absorbed by an invocation that is idle-polling; the idle-poll time on offer
is `inv_rate·P − ρ` per second, so the absorbed share is `f = 1 − e^{−idle pollers}` and invocations
run back to back at heavy load. A task picked up with less than its duration left before `P` is cut
at the deadline and retried; retries add arrivals (solved as a damped fixed point).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field

from docpipe.cost.events import Clock, Pool, Task
from docpipe.cost.model import Burst, Component, RoleCost, num
from docpipe.models import ConfigModel
from docpipe.targets.base import Target
from workers.contract import Env, Role

if TYPE_CHECKING:
    from docpipe.config import StackConfig
    from docpipe.cost.load import RoleLoad
    from docpipe.cost.model import Estimate
    from docpipe.cost.pricebook import PriceBook
    from docpipe.plan import Need, RolePlacement

KEY = "lambda"
MAX_TIMEOUT_SECONDS = 900
# temporalio.contrib.aws.lambda_worker's default: graceful shutdown (5 s) + hook buffer (2 s).
DEFAULT_SHUTDOWN_BUFFER_SECONDS = 7
# Part of the shutdown buffer kept for the worker's shutdown hooks (closing clients) after the
# graceful stop: the contrib default's 2 s.
HOOK_SECONDS = 2
# A workflow task must finish well within this; the workflow role has no activity timeout.
WORKFLOW_TASK_SECONDS = 10
RETRY_BACKOFF_SECONDS = 1.0


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
            description="Function timeout: the invocation polls until timeout − shutdownBufferSeconds and "
            "is billed for all of it. Must cover activityTimeoutSeconds + shutdownBufferSeconds.",
        ),
    ] = 300
    reserved_concurrency: Annotated[
        int | None,
        Field(
            ge=0,
            le=1000,
            description="Reserved concurrent executions (caps the burst); unset = the account's pool. "
            "AWS keeps 100 unreserved, so the account limit must be ≥ 100 + the sum reserved.",
        ),
    ] = None
    provisioned_concurrency: Annotated[
        int, Field(ge=0, le=1000, description="Pre-initialised environments, billed around the clock.")
    ] = 0
    architecture: Literal["arm64", "x86_64"] = Field(
        "arm64", description="CPU architecture (arm64 = Graviton)."
    )
    shutdown_buffer_seconds: Annotated[
        int,
        Field(
            ge=1 + HOOK_SECONDS,
            le=120,
            description="Seconds before the deadline the worker stops polling: its graceful stop plus "
            f"{HOOK_SECONDS} s for shutdown hooks.",
        ),
    ] = DEFAULT_SHUTDOWN_BUFFER_SECONDS


DEFAULTS: dict[Role, dict[str, Any]] = {
    "workflow": {"memoryMb": 512, "timeoutSeconds": 30, "reservedConcurrency": 10},
    "extraction": {"memoryMb": 2048, "timeoutSeconds": 620},
    "analysis": {"memoryMb": 1024, "timeoutSeconds": 620},
    "enrichment": {"memoryMb": 512, "timeoutSeconds": 320, "reservedConcurrency": 4},
    "storage": {"memoryMb": 512, "timeoutSeconds": 90, "reservedConcurrency": 10},
}
# Lambda roles the tiers place on Lambda carry a reserved concurrency: without one a burst may use the
# account's whole concurrency (1,000), which the policy pack's burst-cost-cap refuses.
TIER_OVERRIDES: dict[str, dict[Role, dict[str, Any]]] = {
    "high": {"enrichment": {"reservedConcurrency": 10}},
}


def required_timeout(role: str, activity_timeout: float | None, buffer: float) -> tuple[float, str]:
    """Seconds a Lambda worker's timeout must cover, and the sum spelled out.

    The one statement of the rule: config validation, the recommender and the policy pack's
    `lambda-timeout-fits-activity` all call it.
    """
    if activity_timeout is None:
        task = WORKFLOW_TASK_SECONDS
        return task + buffer, f"a workflow task ({task:g} s) plus the worker's shutdown buffer ({buffer:g} s)"
    return (
        activity_timeout + buffer,
        f"the {role} activity timeout ({activity_timeout:g} s) plus the worker's shutdown buffer "
        f"({buffer:g} s)",
    )


@dataclass(frozen=True)
class LambdaUsage:
    invocations: float
    absorbed_share: float
    cut_probability: float
    retries: float
    mean_concurrency: float


def lambda_usage(
    tasks: float, task_seconds: float, month_seconds: float, poll_seconds: float, billed_seconds: float
) -> LambdaUsage:
    """Invocations a month of `tasks` needs (see the module docstring for the rules)."""
    if tasks <= 0:
        return LambdaUsage(0.0, 0.0, 0.0, 0.0, 0.0)
    lam = tasks / month_seconds
    d = task_seconds
    p = poll_seconds
    if p <= d:  # every task is cut: the configuration cannot work (config validation forbids it)
        return LambdaUsage(tasks, 0.0, 1.0, tasks, lam * billed_seconds)
    lam_eff, inv_rate, share, cut = lam, lam, 0.0, 0.0
    for _ in range(500):
        rho = lam * d + inv_rate * cut * d / 2  # useful work plus the half-run of cut tasks
        idle_pollers = max(1e-12, inv_rate * p - rho)
        share = 1 - math.exp(-idle_pollers)
        per_poller = lam_eff * share / idle_pollers  # task rate an idle poller sees
        cycle = d + 1 / per_poller
        starts = 1 + (p - d) / cycle
        cut = min(1.0, d / cycle)
        nxt_inv = lam_eff / starts
        nxt_lam = lam + nxt_inv * cut
        # damped fixed point: the undamped map oscillates at heavy load
        new_inv = 0.5 * inv_rate + 0.5 * nxt_inv
        new_lam = 0.5 * lam_eff + 0.5 * nxt_lam
        done = abs(new_inv - inv_rate) <= 1e-10 * lam and abs(new_lam - lam_eff) <= 1e-10 * lam
        inv_rate, lam_eff = new_inv, new_lam
        if done:
            break
    return LambdaUsage(
        invocations=inv_rate * month_seconds,
        absorbed_share=share,
        cut_probability=cut,
        retries=(lam_eff - lam) * month_seconds,
        mean_concurrency=inv_rate * billed_seconds,
    )


class LambdaTarget(Target[LambdaSizing]):
    """Temporal Serverless Worker on Lambda: scale to zero, billed per invocation for its whole timeout."""

    key: ClassVar[str] = KEY
    sizing_model = LambdaSizing
    description = "Temporal Serverless Worker (container-image Lambda invoked by Temporal)"
    serverless = True
    order = 30

    # --- config -----------------------------------------------------------------------------------
    def defaults(self, role: Role) -> dict[str, Any]:
        return dict(DEFAULTS.get(role, {}))

    def tier_overrides(self, tier: str, role: Role) -> dict[str, Any]:
        return dict(TIER_OVERRIDES.get(tier, {}).get(role, {}))

    def summary(self, sizing: LambdaSizing) -> str:
        reserved = "" if sizing.reserved_concurrency is None else f", reserved {sizing.reserved_concurrency}"
        return f"{sizing.memory_mb} MB {sizing.architecture}, {sizing.timeout_seconds} s{reserved}"

    def rules(self, config: StackConfig, role: Role) -> list[str]:
        activity = config.activities[role]
        sizing = self.sizing(activity)
        needed, _why = required_timeout(
            role, activity.activity_timeout_seconds, sizing.shutdown_buffer_seconds
        )
        if sizing.timeout_seconds >= needed:
            return []
        key = f"docpipe:activities.{role}.lambda.timeoutSeconds"
        if activity.activity_timeout_seconds is None:
            return [
                f"{key}: {sizing.timeout_seconds} s leaves no time for a workflow task; "
                f"set it to at least {needed:g} s"
            ]
        advice = (
            f"set it to at least {needed:g} s (max {MAX_TIMEOUT_SECONDS}), or move {role} to ec2 or cloudrun"
            if needed <= MAX_TIMEOUT_SECONDS
            else f"Lambda's {MAX_TIMEOUT_SECONDS} s limit cannot hold it: move {role} to ec2 or cloudrun, "
            "or shorten the activity timeout"
        )
        return [
            f"{key}: {sizing.timeout_seconds} s does not cover activities.{role}.activityTimeoutSeconds "
            f"({activity.activity_timeout_seconds} s) plus the worker's shutdown buffer "
            f"({sizing.shutdown_buffer_seconds} s); {advice}"
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
    def runtime(self, placement: RolePlacement) -> Mapping[str, Any]:
        s = self.sizing(placement)
        buffer = s.shutdown_buffer_seconds
        return {
            "pollSeconds": s.timeout_seconds - buffer,
            "gracefulStopSeconds": buffer - HOOK_SECONDS,
            "deadlineBufferSeconds": buffer,
            "billedSecondsPerInvocation": s.timeout_seconds,
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
        billed = float(s.timeout_seconds)
        poll = billed - s.shutdown_buffer_seconds
        use = lambda_usage(load.tasks, load.task_seconds, load.month_seconds, poll, billed)
        inv = use.invocations
        gb_seconds = inv * billed * gb
        duration = gb_seconds * gb_rate
        requests = inv * req_rate / 1e6
        working = (
            f"{num(round(inv))} inv × {num(billed)} s × {num(gb)} GB × {num(gb_rate)} USD/GB-s "
            f"({s.architecture}) + {num(round(inv))} req × {num(req_rate)} USD/1M"
        )
        notes = [
            f"{num(round(load.tasks))} tasks ({load.tasks_working}); "
            f"{use.absorbed_share:.1%} picked up by an already-running invocation",
            f"billed {num(billed)} s per invocation whatever the task length (polls until the deadline)",
        ]
        warnings: list[str] = []
        if use.retries >= max(0.5, 0.01 * load.tasks):
            warnings.append(
                f"{placement.role} on lambda: ~{num(round(use.retries))} tasks/month are picked up with "
                f"less than their {num(load.task_seconds)} s left before the {num(poll)} s polling "
                "deadline, cut and retried (a worker does not stop polling early); a longer "
                f"activities.{placement.role}.lambda.timeoutSeconds or another target avoids it"
            )
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
        return RoleCost(
            component=Component(
                name=f"{placement.role} (lambda)",
                usd=duration + requests,
                working=working,
                category="compute",
                role=placement.role,
                target=KEY,
                notes=tuple(notes),
            ),
            burst=burst,
            warnings=tuple(warnings),
            lambda_gb_seconds=gb_seconds,
            lambda_requests=inv,
            extra={"invocations": inv, "retries": use.retries},
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
        activity_timeout = config.activities[role].activity_timeout_seconds
        if activity_timeout is not None:
            timeout = activity_timeout + sizing.shutdown_buffer_seconds
            if timeout > sizing.timeout_seconds:
                update["timeout_seconds"] = min(timeout, MAX_TIMEOUT_SECONDS)
        if sizing.reserved_concurrency is not None:
            billed = update.get("timeout_seconds", sizing.timeout_seconds)
            use = lambda_usage(
                load.tasks,
                load.task_seconds,
                load.month_seconds,
                billed - sizing.shutdown_buffer_seconds,
                billed,
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
    ready: bool = False
    busy: bool = False
    idle_since: float = 0.0
    alive: bool = True


class LambdaPool(Pool):
    """A task that finds no idle invocation starts one (up to the concurrency); it polls after the cold
    start, one task at a time, until `timeout − shutdown buffer`, and is billed the whole timeout. A task
    that cannot finish before the polling deadline is cut and retried (1 s backoff)."""

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
        self.clock.at(self.clock.now + RETRY_BACKOFF_SECONDS, self.submit, task)

    def _poll_end(self, inv: _Invocation) -> None:
        inv.alive = False

    def _end(self, inv: _Invocation) -> None:
        self.live -= 1
        self.dispatch()

    def cost(self, elapsed: float, prices: PriceBook, closed: Estimate) -> tuple[float, dict[str, float]]:
        s = TARGET.sizing(self.placement)
        gb_rate = prices.get(f"lambda.gbSecond.{s.architecture}")
        per_invocation = (
            self.billed * s.memory_mb / 1024 * gb_rate + prices.get("lambda.requestsPerMillion") / 1e6
        )
        return self.invocations * per_invocation, {"invocations": float(self.invocations)}


TARGET = LambdaTarget()
