"""cloudrun: a Cloud Run worker pool, scaled with the queue (to zero when idle), outside the AWS VPC.

Everything docpipe means by "a role on Cloud Run" is here: the sizing and its scaler settings, the
per-role and per-tier defaults, the cost, the right-sizing and the simulation model. The Pulumi half
(worker pool, service accounts, AWS federation role) is `infra/placements/cloudrun.py`.

The scaler settings (`utilisationTarget`, `scaleDownSeconds`, min/max instances) are declared once,
here, per role: the deployed compute config, the cost estimate, the simulator and the recommender all
read them from the plan.

Capacity (closed form, Poisson arrivals, instance-based billing): while tasks run the pool carries
busy time ÷ (slots × utilisation target). After the last task of a burst an instance idles for the
scale-down window before it stops; a task arriving meanwhile reuses it. The time the pool is up but
idle is `T (e^{−λd} − e^{−λ(d+C)})` — the M/G/∞ union of [task start, task end + C] minus the busy
union — and a burst is an arrival that finds the pool at zero: `T λ e^{−λ(d+C)}`.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from docpipe.cost.events import Clock, Pool, Task
from docpipe.cost.model import Burst, Charge, Component, RoleCost, num
from docpipe.models import NAMESPACE, ConfigModel
from docpipe.targets.base import Target
from workers.contract import Env, Role

if TYPE_CHECKING:
    from docpipe.config import StackConfig
    from docpipe.cost.load import RoleLoad
    from docpipe.cost.model import Estimate
    from docpipe.cost.pricebook import PriceBook
    from docpipe.plan import PlacementPlan, RolePlacement

KEY = "cloudrun"
# Cloud Run sends SIGTERM and stops an instance 10 s later; the worker drains within that.
SHUTDOWN_GRACE_SECONDS = 9
Scaler = Literal["temporal", "crema"]
# The CREMA service (one per stack): request-based billing, at most one instance (a pool must be scaled
# by one CREMA at a time — CREMA's README, Known Issues), invoked by one Cloud Scheduler job.
CREMA_CPU = 1
CREMA_MEMORY_MIB = 1024
# Worker pool names: lowercase letters, digits and hyphens, starting with a letter, at most 49 chars.
POOL_NAME_MAX = 49


# Memory Cloud Run accepts per vCPU count (second-generation environment), read 2026-12-01 from
# https://docs.cloud.google.com/run/docs/configuring/jobs/cpu ("vCPU and memory table") and
# .../configuring/services/memory-limits (512 MiB minimum, "more than 4 GiB needs 2 CPUs" …).
MEMORY_MIB_PER_CPU: dict[int, tuple[int, int]] = {
    1: (512, 4 * 1024),
    2: (512, 8 * 1024),
    4: (2 * 1024, 16 * 1024),
    6: (4 * 1024, 24 * 1024),
    8: (4 * 1024, 32 * 1024),
}


class CloudRunSizing(ConfigModel):
    """`activities.<role>.cloudrun`: a Cloud Run worker pool and how it scales."""

    cpu: Literal[1, 2, 4, 6, 8] = Field(1, description="vCPUs per instance (one activity slot per vCPU).")
    memory_mib: Annotated[int, Field(ge=512, le=32768, description="Memory per instance (MiB).")] = 1024
    min_instances: Annotated[
        int, Field(ge=0, le=100, description="Instances kept while idle (0 scales to zero).")
    ] = 0
    max_instances: Annotated[int, Field(ge=1, le=100, description="Most instances the scaler starts.")] = 3
    utilisation_target: Annotated[
        float,
        Field(
            gt=0,
            le=1,
            description="Share of the slots the scaler aims to keep busy; lower = more headroom, more cost.",
        ),
    ] = 0.75
    scale_down_seconds: Annotated[
        int,
        Field(
            ge=0,
            le=3600,
            description="How long an instance stays after the queue empties before the scaler removes it "
            "(the idle tail every burst pays for).",
        ),
    ] = 300
    scaler: Scaler | None = Field(
        None,
        description="Who resizes the pool: temporal (Temporal's worker controller; needs a GCP-hosted "
        "namespace or a server with gcp-cloud-run enabled) or crema (Google's CREMA, KEDA's temporal "
        "scaler on the task-queue backlog). Unset = temporal where Temporal can drive Cloud Run, else crema.",
    )
    # Filled in by the plan from gcp.cremaPollingSeconds when the scaler is crema (not a user setting).
    polling_seconds: SkipJsonSchema[int | None] = Field(None, exclude=True)
    # Filled in by the plan: why this scaler (`docpipe plan` shows it).
    scaler_reason: SkipJsonSchema[str | None] = Field(None, exclude=True)

    @model_validator(mode="after")
    def _ordered(self) -> CloudRunSizing:
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"needs minInstances <= maxInstances, got {self.min_instances} > {self.max_instances}"
            )
        low, high = MEMORY_MIB_PER_CPU[self.cpu]
        if not low <= self.memory_mib <= high:
            raise ValueError(
                f"memoryMib {self.memory_mib} is outside what Cloud Run allows for cpu {self.cpu}: "
                f"{low}-{high} MiB (cpu 1: 512-4096, 2: 512-8192, 4: 2048-16384, 6: 4096-24576, "
                "8: 4096-32768; cloud.google.com/run/docs/configuring/cpu)"
            )
        return self


DEFAULTS: dict[Role, dict[str, Any]] = {
    "workflow": {"cpu": 1, "memoryMib": 512, "minInstances": 0, "maxInstances": 1},
    "extraction": {"cpu": 1, "memoryMib": 2048, "minInstances": 0, "maxInstances": 3},
    "analysis": {"cpu": 1, "memoryMib": 1024, "minInstances": 0, "maxInstances": 3},
    "enrichment": {"cpu": 1, "memoryMib": 512, "minInstances": 0, "maxInstances": 2},
    "storage": {"cpu": 1, "memoryMib": 512, "minInstances": 0, "maxInstances": 1},
}
# The seed: at most 1 instance at low traffic, 3 at medium.
TIER_OVERRIDES: dict[str, dict[Role, dict[str, Any]]] = {
    "low": {"extraction": {"maxInstances": 1}, "analysis": {"maxInstances": 1}},
    "medium": {"extraction": {"maxInstances": 3}, "analysis": {"maxInstances": 3}},
}


def scaler_choice(config: StackConfig, role: Role) -> tuple[Scaler, str]:
    """The scaler of `role`'s Cloud Run pool under `config`, and why (shown by `docpipe plan`)."""
    sizing = TARGET.sizing(config.activities[role])
    providers, why = config.temporal.controller_providers()
    if sizing.scaler is not None:
        return sizing.scaler, f"activities.{role}.cloudrun.scaler is set ({why})"
    if "gcp-cloud-run" in providers:
        return "temporal", f"{why}: Temporal's worker controller can scale Cloud Run"
    return "crema", f"{why}: Temporal cannot scale Cloud Run pools, so Google's CREMA does"


def uses_crema(plan: PlacementPlan) -> list[RolePlacement]:
    """The plan's Cloud Run roles that CREMA scales."""
    return [p for p in plan.on(KEY) if TARGET.sizing(p).scaler == "crema"]


def build_suffix(build_id: str) -> str:
    """A short suffix naming the build in a worker pool's name (one pool per build, as Temporal asks):
    the build id itself when it is already short and valid, else its readable start plus a hash."""
    clean = re.sub(r"[^a-z0-9]+", "-", build_id.lower()).strip("-")
    if clean == build_id and 0 < len(clean) <= 12:
        return clean
    digest = hashlib.sha256(build_id.encode()).hexdigest()[:6]
    head = clean[:8].strip("-")
    return f"{head}-{digest}" if head else digest


def pool_name(stack: str, role: str, build_id: str) -> str:
    """`docpipe-<stack>-<role>-<build>`, within Cloud Run's name rules (the stack part is shortened)."""
    suffix = build_suffix(build_id)
    room = POOL_NAME_MAX - len(f"docpipe--{role}-{suffix}")
    short_stack = re.sub(r"[^a-z0-9]+", "-", stack.lower()).strip("-")[: max(1, room)].strip("-")
    return f"docpipe-{short_stack}-{role}-{suffix}"


def target_queue_size(sizing: CloudRunSizing) -> int:
    """KEDA `targetQueueSize`: backlog per instance, the slots the utilisation target keeps busy."""
    return max(1, math.floor(sizing.cpu * sizing.utilisation_target))


def effective_utilisation(sizing: CloudRunSizing) -> float:
    """Share of the slots kept busy: Temporal's utilisationTarget, or for CREMA what its whole-task
    targetQueueSize makes of it (targetQueueSize ÷ slots)."""
    if sizing.scaler == "crema":
        return min(1.0, target_queue_size(sizing) / sizing.cpu)
    return sizing.utilisation_target


def effective_timing(sizing: CloudRunSizing, scale_up_seconds: float) -> tuple[float, float]:
    """(scale-up delay, idle tail) of the pool. CREMA looks every `polling_seconds`: a task waits on
    average half a poll longer to be seen, and the last instance stops on the first poll after the
    scale-down window (HPA stabilisation) ends — half a poll later on average."""
    poll = float(sizing.polling_seconds or 0) if sizing.scaler == "crema" else 0.0
    return scale_up_seconds + poll / 2, sizing.scale_down_seconds + poll / 2


def crema_usage(polling_seconds: int, month_seconds: float, prices: PriceBook) -> tuple[float, float]:
    """(invocations, billed seconds per invocation) of the CREMA service in a month."""
    return month_seconds / polling_seconds, prices.get("assume.cremaSecondsPerInvocation")


@dataclass(frozen=True)
class CloudRunUsage:
    instance_seconds: float
    busy_instance_seconds: float
    idle_seconds: float
    bursts: float
    mean_instances: float


def cloudrun_usage(
    *,
    tasks: float,
    task_seconds: float,
    month_seconds: float,
    slots: int,
    target_utilisation: float,
    cooldown_seconds: float,
    min_instances: int,
) -> CloudRunUsage:
    """Instance-seconds of a worker pool for a month of `tasks` (see the module docstring)."""
    t = month_seconds
    busy = tasks * task_seconds / (slots * target_utilisation)
    lam = tasks / t
    d = task_seconds
    if min_instances > 0:
        idle = t * math.exp(-lam * d)
        total = max(min_instances * t, busy + idle)
        return CloudRunUsage(total, busy, total - busy, 0.0, total / t)
    if tasks <= 0:
        return CloudRunUsage(0.0, 0.0, 0.0, 0.0, 0.0)
    idle = t * (math.exp(-lam * d) - math.exp(-lam * (d + cooldown_seconds)))
    bursts = t * lam * math.exp(-lam * (d + cooldown_seconds))
    total = busy + idle
    return CloudRunUsage(total, busy, idle, bursts, total / t)


def per_instance_second(sizing: CloudRunSizing, prices: PriceBook) -> float:
    return sizing.cpu * prices.get("cloudrun.workerPool.vcpuSecond") + sizing.memory_mib / 1024 * prices.get(
        "cloudrun.workerPool.gibSecond"
    )


class CloudRunTarget(Target[CloudRunSizing]):
    """Cloud Run worker pool in the stack's GCP project; reaches AWS over the internet."""

    key: ClassVar[str] = KEY
    role_defaults = DEFAULTS
    tier_defaults = TIER_OVERRIDES
    sizing_model = CloudRunSizing
    description = "Cloud Run worker pool (GCP), scaled with the task queue"
    serverless = True
    in_aws_vpc = False
    cloud = "gcp"
    needs_section = "gcp.project"
    order = 20

    def summary(self, sizing: CloudRunSizing) -> str:
        scaler = f", {sizing.scaler}" if sizing.scaler else ""
        return (
            f"{sizing.cpu} vCPU {sizing.memory_mib} MiB, {sizing.min_instances}–{sizing.max_instances} inst."
            f"{scaler}"
        )

    def rules(self, config: StackConfig, role: Role) -> list[str]:
        scaler, why = scaler_choice(config, role)
        found: list[str] = []
        if scaler == "crema" and (config.gcp is None or config.gcp.crema_image is None):
            found.append(
                f"{NAMESPACE}:gcp.cremaImage: is required because CREMA scales this stack's Cloud Run "
                f"pools ({why.split(': ')[0]}); set it to Google's pre-built image "
                "(`pulumi config set --path "
                f"{NAMESPACE}:gcp.cremaImage us-central1-docker.pkg.dev/cloud-run-oss-images/crema-v1/"
                "autoscaler:1.2`) or build your own from github.com/GoogleCloudPlatform/"
                "cloud-run-external-metrics-autoscaling (`gcloud builds submit --tag "
                "<region>-docker.pkg.dev/<project>/<repo>/crema:<tag> .`, 30+ minutes); "
                "see docs/cloud-run-scaling.md"
            )
        if scaler == "temporal" and config.temporal.cloud_run_principal is None:
            found.append(
                f"{NAMESPACE}:temporal.cloudRunPrincipal: is required because {role}'s Cloud Run pool is "
                f"scaled by Temporal ({why}): it is the identity that gets "
                "roles/iam.serviceAccountTokenCreator on the pool's scaler account; ask Temporal for it "
                "(see docs/cloud-run-scaling.md), or set "
                f"activities.{role}.cloudrun.scaler to crema"
            )
        return found

    def temporal_compute_provider(self, config: StackConfig, role: Role) -> str | None:
        scaler, _why = scaler_choice(config, role)
        return "gcp-cloud-run" if scaler == "temporal" else None

    def resolve(self, config: StackConfig, role: Role, sizing: CloudRunSizing) -> CloudRunSizing:
        scaler, why = scaler_choice(config, role)
        poll = config.gcp.crema_polling_seconds if scaler == "crema" and config.gcp is not None else None
        return sizing.model_copy(update={"scaler": scaler, "polling_seconds": poll, "scaler_reason": why})

    def notes(self, placement: RolePlacement) -> list[str]:
        s = self.sizing(placement)
        why = f" — why: {s.scaler_reason}" if s.scaler_reason else ""
        if s.scaler == "crema":
            return [
                f"scaler crema: Google's CREMA (KEDA temporal scaler) resizes the pool every "
                f"{s.polling_seconds} s; Temporal does not start these workers{why}"
            ]
        if s.scaler == "temporal":
            return [f"scaler temporal: Temporal's worker controller resizes the pool (compute config){why}"]
        return []

    def architecture(self, sizing: CloudRunSizing) -> str:
        return "x86_64"  # Cloud Run runs linux/amd64 images only

    def runtime(self, placement: RolePlacement) -> Mapping[str, Any]:
        """The scaler and its settings. temporal: the five settings Temporal's compute config sets
        together; crema: what the CremaConfig's ScaledObject and KEDA trigger carry."""
        s = self.sizing(placement)
        settings: dict[str, Any] = {
            "scaler": s.scaler,
            "minInstances": s.min_instances,
            "maxInstances": s.max_instances,
            "utilisationTarget": s.utilisation_target,
            "scaleDownSeconds": s.scale_down_seconds,
            "shutdownGraceSeconds": SHUTDOWN_GRACE_SECONDS,
        }
        if s.scaler == "temporal":
            settings["initialInstances"] = s.min_instances
        elif s.scaler == "crema":
            settings["pollingSeconds"] = s.polling_seconds
            settings["targetQueueSize"] = target_queue_size(s)
            settings["activationTargetQueueSize"] = 0
        return settings

    def worker_env(self, placement: RolePlacement) -> dict[str, str]:
        return {Env.SHUTDOWN_GRACE_SECONDS: str(SHUTDOWN_GRACE_SECONDS)}

    def estimate(self, placement: RolePlacement, load: RoleLoad, prices: PriceBook) -> RoleCost:
        s = self.sizing(placement)
        vcpu_rate = prices.get("cloudrun.workerPool.vcpuSecond")
        gib_rate = prices.get("cloudrun.workerPool.gibSecond")
        u = effective_utilisation(s)
        _up, cooldown = effective_timing(s, 0.0)
        gib = s.memory_mib / 1024
        slots = s.cpu  # one activity per vCPU
        use = cloudrun_usage(
            tasks=load.tasks,
            task_seconds=load.task_seconds,
            month_seconds=load.month_seconds,
            slots=slots,
            target_utilisation=u,
            cooldown_seconds=cooldown,
            min_instances=s.min_instances,
        )
        per_second = per_instance_second(s, prices)
        # Never more than maxInstances can run in the month: beyond that the work queues, unbilled.
        cap = s.max_instances * load.month_seconds
        instance_seconds = min(use.instance_seconds, cap)
        cost = instance_seconds * per_second
        tail = "scaleDownSeconds"
        u_name = "utilisationTarget"
        if s.scaler == "crema":
            u_name = f"= targetQueueSize {target_queue_size(s)} ÷ {slots} vCPU"
            poll = num(s.polling_seconds or 0)
            tail = f"= {num(s.scale_down_seconds)} scaleDownSeconds + ½ × {poll} s pollingSeconds"
        if s.min_instances > 0:
            how = (
                f"max({s.min_instances} min × {num(load.month_seconds)} s, busy {num(load.busy_seconds)} s "
                f"÷ ({slots} × {num(u)}) + idle {num(use.idle_seconds)} s)"
            )
        else:
            how = (
                f"(busy {num(round(load.busy_seconds))} s ÷ ({slots} slot × {num(u)} {u_name}) + "
                f"idle tail {num(round(use.idle_seconds))} s "
                f"[{num(round(use.bursts))} bursts × ≤{num(cooldown)} s {tail}])"
            )
        capped = ""
        if instance_seconds < use.instance_seconds:
            capped = f", capped at {s.max_instances} maxInstances × {num(load.month_seconds)} s"
        working = (
            f"{how} = {num(round(use.instance_seconds))} inst-s{capped} × ({s.cpu} vCPU × {num(vcpu_rate)} + "
            f"{num(gib)} GiB × {num(gib_rate)}) USD/s"
        )
        warnings: list[str] = []
        need = load.utilisation / (slots * u)
        if need > s.max_instances:
            warnings.append(
                f"{placement.role} on cloudrun: the average load needs {need:.2f} instances at "
                f"{num(u)} utilisation but maxInstances is {s.max_instances}; tasks queue — raise "
                f"activities.{placement.role}.cloudrun.maxInstances"
            )
        burst = Burst(
            role=placement.role,
            target=KEY,
            usd_per_hour=s.max_instances * 3600 * per_second,
            working=f"{s.max_instances} (maxInstances) × 3,600 s × {num(per_second)} USD/inst-s",
        )
        return RoleCost.compute(
            placement.role,
            KEY,
            usd=cost,
            working=working,
            burst=burst,
            charges=(
                Charge("vCPU time", use.instance_seconds * s.cpu, "vCPU-s", vcpu_rate),
                Charge("memory time", use.instance_seconds * gib, "GiB-s", gib_rate),
            ),
            notes=(
                f"{num(round(use.bursts))} scale-from-zero bursts/month",
                f"scaler {s.scaler or 'temporal'}",
            ),
            warnings=warnings,
            extra={"instanceSeconds": instance_seconds, "bursts": use.bursts},
        )

    def shared_cost(self, plan: PlacementPlan, prices: PriceBook) -> Component | None:
        """The CREMA service (request-based Cloud Run billing) and its Cloud Scheduler job, once per
        stack when any Cloud Run role is scaled by CREMA."""
        roles = uses_crema(plan)
        if not roles or plan.config.gcp is None:
            return None
        poll = plan.config.gcp.crema_polling_seconds
        month = prices.get("assume.hoursPerMonth") * 3600
        calls, seconds = crema_usage(poll, month, prices)
        vcpu = prices.get("cloudrun.request.vcpuSecond")
        gib_rate = prices.get("cloudrun.request.gibSecond")
        per_million = prices.get("cloudrun.request.requestsPerMillion")
        job = prices.get("cloudscheduler.jobMonth")
        gib = CREMA_MEMORY_MIB / 1024
        compute = calls * seconds * (CREMA_CPU * vcpu + gib * gib_rate)
        usd = compute + calls * per_million / 1e6 + job
        working = (
            f"{num(round(calls))} invocations ({num(month)} s ÷ {num(poll)} s gcp.cremaPollingSeconds) × "
            f"{num(seconds)} s × ({CREMA_CPU} vCPU × {num(vcpu)} + {num(gib)} GiB × {num(gib_rate)}) USD/s "
            f"+ {num(round(calls))} req × {num(per_million)}/1M + 1 Cloud Scheduler job × {num(job)} USD/mo"
        )
        return Component(
            "CREMA scaler (Cloud Run service + Cloud Scheduler)",
            usd,
            working,
            "baseline",
            notes=(
                f"scales {', '.join(p.role for p in roles)}",
                "before free tiers: Cloud Run's request-based free tier and Cloud Scheduler's 3 free jobs "
                "are per billing account",
            ),
        )

    def cold_start_seconds(self, sizing: CloudRunSizing, prices: PriceBook) -> float:
        if sizing.min_instances:
            return 0.0
        up, _tail = effective_timing(sizing, prices.get("assume.cloudRunScaleUpSeconds"))
        return up

    def right_size(
        self,
        config: StackConfig,
        role: Role,
        sizing: CloudRunSizing,
        *,
        load: RoleLoad,
        peak_factor: float,
        prices: PriceBook,
    ) -> CloudRunSizing:
        peak = load.utilisation * peak_factor
        need = min(100, math.ceil(peak / (sizing.cpu * effective_utilisation(sizing))) + 1)
        if need <= sizing.max_instances:
            return sizing
        return sizing.model_copy(update={"max_instances": need})

    def simulator(
        self, clock: Clock, placement: RolePlacement, on_done: Callable[[Task], None], prices: PriceBook
    ) -> Pool:
        up, _tail = effective_timing(self.sizing(placement), prices.get("assume.cloudRunScaleUpSeconds"))
        return CloudRunPool(clock, placement, on_done, up)


@dataclass
class _Instance:
    ready: bool = False
    busy: int = 0
    token: int = 0


class CloudRunPool(Pool):
    """Instances start `assume.cloudRunScaleUpSeconds` after a task finds no free slot (up to
    maxInstances); an instance idle for scaleDownSeconds is stopped (down to minInstances). Billed: busy
    time ÷ (slots × utilisationTarget) plus the time the pool is up with nothing running — the same rule
    as the closed form."""

    def __init__(
        self, clock: Clock, placement: RolePlacement, on_done: Callable[[Task], None], scale_up: float
    ):
        super().__init__(clock, placement, on_done)
        s = TARGET.sizing(placement)
        self.slots = s.cpu
        self.max = s.max_instances
        self.min = s.min_instances
        self.scale_up = scale_up
        self.cooldown = effective_timing(s, 0.0)[1]
        self.utilisation = effective_utilisation(s)
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
        self._completed(task)
        self.on_done(task)
        self.dispatch()
        if inst.busy == 0:
            self._idle(inst)

    def _scale_in(self, inst: _Instance, token: int) -> None:
        if inst.busy or inst.token != token or inst not in self.instances or len(self.instances) <= self.min:
            return
        self._account()
        self.instances.remove(inst)

    def close(self, now: float) -> None:
        self._account()
        super().close(now)

    def instance_seconds(self, elapsed: float) -> float:
        """Billed instance-seconds of the period, never more than maxInstances can run in it."""
        busy = self.stats.busy_seconds / (self.slots * self.utilisation)
        return min(self.max * elapsed, max(self.min * elapsed, busy + self.idle_alive))

    def cost(self, elapsed: float, prices: PriceBook, closed: Estimate) -> tuple[float, dict[str, float]]:
        inst_s = self.instance_seconds(elapsed)
        per_s = per_instance_second(TARGET.sizing(self.placement), prices)
        figures = {
            "instanceSeconds": inst_s,
            "capacitySeconds": self.max * elapsed,
            "bursts": float(self.bursts),
        }
        return inst_s * per_s, figures


TARGET = CloudRunTarget()
