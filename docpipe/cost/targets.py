"""What a role costs on each placement target: one estimator per target behind a small interface.

`TARGET_ESTIMATORS` maps a target name to its estimator; adding a target is one class and one line.
Each estimator prices a month of the role's load (`RoleLoad`) on its sizing, with the working shown,
and the worst-case hour (every instance / all concurrency running).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from docpipe.cost.capacity import cloudrun_usage, lambda_usage
from docpipe.cost.load import RoleLoad
from docpipe.cost.model import Burst, Component, num, usd
from docpipe.cost.pricebook import PriceBook
from docpipe.plan import RolePlacement


@dataclass(frozen=True)
class RoleCost:
    """A role's compute line, its worst-case hour, and anything the reader must know."""

    component: Component
    burst: Burst
    warnings: tuple[str, ...] = ()
    # Lambda usage summed account-wide for the free tier.
    lambda_gb_seconds: float = 0.0
    lambda_requests: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


class TargetEstimator(Protocol):
    target: ClassVar[str]

    def estimate(self, placement: RolePlacement, load: RoleLoad, prices: PriceBook) -> RoleCost: ...


def _hours(load: RoleLoad) -> float:
    return load.month_seconds / 3600


class Ec2Estimator:
    """Long-lived workers: instance-hours × desired instances, plus their gp3 root volumes."""

    target: ClassVar[str] = "ec2"

    def estimate(self, placement: RolePlacement, load: RoleLoad, prices: PriceBook) -> RoleCost:
        s = placement.ec2
        hint = f" (activities.{placement.role}.ec2.instanceType {s.instance_type})"
        hourly = prices.get(f"ec2.hour.{s.instance_type}", hint)
        gb_month = prices.get("ebs.gp3.gbMonth")
        hours = _hours(load)
        n = s.desired_capacity
        compute = n * hours * hourly
        volumes = n * s.volume_gb * gb_month
        working = (
            f"{n} × {num(hours)} h × {num(hourly)} USD/h ({s.instance_type}) + "
            f"{n} × {s.volume_gb} GB × {num(gb_month)} USD/GB-mo gp3"
        )
        slots = n * prices.get("assume.ec2TasksPerInstance")
        warnings: list[str] = []
        notes = [f"capacity {num(slots)} concurrent tasks; average load {load.utilisation:.3f}"]
        if load.utilisation >= slots:
            warnings.append(
                f"{placement.role} on ec2: average load {load.utilisation:.2f} concurrent tasks exceeds "
                f"{num(slots)} slots ({n} × {s.instance_type}); the backlog grows without bound — "
                f"raise activities.{placement.role}.ec2.desiredCapacity"
            )
        burst_n = s.max_size
        burst = Burst(
            role=placement.role,
            target="ec2",
            usd_per_hour=burst_n * hourly,
            working=f"{burst_n} (maxSize) × {num(hourly)} USD/h",
        )
        return RoleCost(
            component=Component(
                name=f"{placement.role} (ec2)",
                usd=compute + volumes,
                working=working,
                category="compute",
                role=placement.role,
                target="ec2",
                notes=tuple(notes),
            ),
            burst=burst,
            warnings=tuple(warnings),
        )


class CloudRunEstimator:
    """Cloud Run worker pool: instance-seconds while instances run × (vCPU + memory) rates."""

    target: ClassVar[str] = "cloudrun"

    def estimate(self, placement: RolePlacement, load: RoleLoad, prices: PriceBook) -> RoleCost:
        s = placement.cloudrun
        vcpu_rate = prices.get("cloudrun.workerPool.vcpuSecond")
        gib_rate = prices.get("cloudrun.workerPool.gibSecond")
        u = prices.get("assume.cloudRunTargetUtilisation")
        cooldown = prices.get("assume.cloudRunCooldownSeconds")
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
        per_second = s.cpu * vcpu_rate + gib * gib_rate
        cost = use.instance_seconds * per_second
        if s.min_instances > 0:
            how = (
                f"max({s.min_instances} min × {num(load.month_seconds)} s, busy {num(load.busy_seconds)} s "
                f"÷ ({slots} × {num(u)}) + idle {num(use.idle_seconds)} s)"
            )
        else:
            how = (
                f"(busy {num(round(load.busy_seconds))} s ÷ ({slots} slot × {num(u)} target) + "
                f"cooldown idle {num(round(use.idle_seconds))} s "
                f"[{num(round(use.bursts))} bursts × ≤{num(cooldown)} s])"
            )
        working = (
            f"{how} = {num(round(use.instance_seconds))} inst-s × ({s.cpu} vCPU × {num(vcpu_rate)} + "
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
            target="cloudrun",
            usd_per_hour=s.max_instances * 3600 * per_second,
            working=f"{s.max_instances} (maxInstances) × 3,600 s × {num(per_second)} USD/inst-s",
        )
        return RoleCost(
            component=Component(
                name=f"{placement.role} (cloudrun)",
                usd=cost,
                working=working,
                category="compute",
                role=placement.role,
                target="cloudrun",
                notes=(f"{num(round(use.bursts))} scale-from-zero bursts/month",),
            ),
            burst=burst,
            warnings=tuple(warnings),
            extra={"instanceSeconds": use.instance_seconds, "bursts": use.bursts},
        )


class LambdaEstimator:
    """Temporal Serverless Worker: every invocation is billed for its whole timeout."""

    target: ClassVar[str] = "lambda"

    def estimate(self, placement: RolePlacement, load: RoleLoad, prices: PriceBook) -> RoleCost:
        s = placement.lambda_
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
        concurrency = (
            s.reserved_concurrency
            if s.reserved_concurrency is not None
            else int(prices.get("assume.lambdaAccountConcurrency"))
        )
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
            target="lambda",
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
                target="lambda",
                notes=tuple(notes),
            ),
            burst=burst,
            warnings=tuple(warnings),
            lambda_gb_seconds=gb_seconds,
            lambda_requests=inv,
            extra={"invocations": inv, "retries": use.retries},
        )


TARGET_ESTIMATORS: dict[str, TargetEstimator] = {
    e.target: e for e in (Ec2Estimator(), CloudRunEstimator(), LambdaEstimator())
}


def estimator_for(target: str) -> TargetEstimator:
    try:
        return TARGET_ESTIMATORS[target]
    except KeyError:
        known = ", ".join(TARGET_ESTIMATORS)
        raise ValueError(f"no cost estimator for target {target!r}; known: {known}") from None


def ceil_div(a: float, b: float) -> int:
    return math.ceil(a / b - 1e-9)


__all__ = ["TARGET_ESTIMATORS", "RoleCost", "estimator_for", "usd"]
