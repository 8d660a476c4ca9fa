"""Closed-form capacity models: how many Lambda invocations and Cloud Run instance-seconds a load needs.

Both follow the rules the simulator (`docpipe.cost.simulate`) plays event by event, for Poisson
arrivals at the month's average rate:

Lambda Serverless Worker (one activity at a time per invocation):
  * Temporal invokes the function when a task is queued and no running invocation is free; the
    invocation polls until `P = timeout − shutdown buffer` and is billed for the whole timeout `W`,
    busy or not — it never exits early when idle.
  * An arrival is absorbed by an invocation that is idle-polling. The idle-poll time on offer is
    `inv_rate·P − ρ` per second, so the absorbed share is `f = 1 − (1 + ρ) / (1 + λP)` and
    `inv_rate = λ (1 + ρ) / (1 + λP)`: one invocation per task at light load (λP ≪ 1),
    back-to-back invocations busy for `P` each at heavy load.
  * A task picked up with less than its duration left before `P` is cut at the deadline and retried
    (Temporal retries it; the next invocation runs it from the start). An absorbed task starts
    uniformly in the idle part `[d, P]`, so it is cut with probability `min(1, d / (P − d))`; retries
    add arrivals (solved as a fixed point).

Cloud Run worker pool (Temporal's worker controller, instance-based billing):
  * While tasks run, the pool carries busy time ÷ (slots × target utilisation ~0.8).
  * After the last task of a burst the instance idles for the cooldown (90 s) before scale-in; a
    task arriving meanwhile reuses it. The time the pool is up but idle is
    `T (e^{−λd} − e^{−λ(d+C)})` — the M/G/∞ union of [task start, task end + C] minus the busy union.
  * A burst is an arrival that finds the pool scaled to zero: `T λ e^{−λ(d+C)}`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


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
