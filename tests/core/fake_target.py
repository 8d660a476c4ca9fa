"""A fourth placement target defined entirely outside the core, as a plug-in would be.

Importing this module registers `fargate` (a made-up ECS-Fargate-like target: fixed per-task
pricing, always-on tasks). Tests import it in-process, or name it in DOCPIPE_TARGETS for a
subprocess; nothing in docpipe/ knows it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar

from pydantic import Field

from docpipe.cost.events import Clock, Pool, Task
from docpipe.cost.model import Burst, Component, Estimate, RoleCost
from docpipe.cost.pricebook import PriceBook
from docpipe.models import ConfigModel
from docpipe.targets import Target
from workers.contract import Role

VCPU_HOUR_USD = 0.04
GB_HOUR_USD = 0.0044


class FargateSizing(ConfigModel):
    """`activities.<role>.fargate`: always-on tasks."""

    vcpu: Annotated[float, Field(ge=0.25, le=16, description="vCPUs per task.")] = 0.5
    memory_gb: Annotated[float, Field(ge=0.5, le=120, description="Memory per task (GB).")] = 1
    tasks: Annotated[int, Field(ge=1, le=100, description="Tasks running.")] = 1


class FargateTarget(Target[FargateSizing]):
    key: ClassVar[str] = "fargate"
    sizing_model = FargateSizing
    description = "always-on Fargate-like tasks (test plug-in)"
    order = 40

    def defaults(self, role: Role) -> dict[str, Any]:
        return {"vcpu": 1} if role == "extraction" else {}

    def summary(self, sizing: FargateSizing) -> str:
        return f"{sizing.vcpu:g} vCPU {sizing.memory_gb:g} GB ×{sizing.tasks}"

    def rules(self, config: Any, role: Role) -> list[str]:
        sizing = self.sizing(config.activities[role])
        if role == "storage" and sizing.tasks > 1:
            key = f"docpipe:activities.{role}.fargate.tasks"
            return [f"{key}: storage runs one task on fargate, got {sizing.tasks}"]
        return []

    def hourly(self, sizing: FargateSizing) -> float:
        return sizing.tasks * (sizing.vcpu * VCPU_HOUR_USD + sizing.memory_gb * GB_HOUR_USD)

    def estimate(self, placement: Any, load: Any, prices: PriceBook) -> RoleCost:
        s = self.sizing(placement)
        hours = load.month_seconds / 3600
        return RoleCost(
            component=Component(
                name=f"{placement.role} (fargate)",
                usd=hours * self.hourly(s),
                working=f"{hours:g} h × {self.hourly(s):g} USD/h",
                category="compute",
                role=placement.role,
                target=self.key,
            ),
            burst=Burst(placement.role, self.key, self.hourly(s), "fixed tasks"),
        )

    def simulator(
        self, clock: Clock, placement: Any, on_done: Callable[[Task], None], prices: PriceBook
    ) -> Pool:
        return FixedPool(clock, placement, on_done, self.sizing(placement).tasks)


class FixedPool(Pool):
    def __init__(self, clock: Clock, placement: Any, on_done: Callable[[Task], None], slots: int) -> None:
        super().__init__(clock, placement, on_done)
        self.slots, self.busy = slots, 0

    def dispatch(self) -> None:
        while self.queue and self.busy < self.slots:
            task = self.queue.popleft()
            self.busy += 1
            self._started(task)
            self.clock.at(self.clock.now + task.duration, self._finish, task)

    def _finish(self, task: Task) -> None:
        self.busy -= 1
        self.on_done(task)
        self.dispatch()

    def cost(self, elapsed: float, prices: PriceBook, closed: Estimate) -> tuple[float, dict[str, float]]:
        return elapsed / 3600 * TARGET.hourly(TARGET.sizing(self.placement)), {}


TARGET = FargateTarget()
