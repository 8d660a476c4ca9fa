"""ec2: long-lived workers in an auto-scaling group — always on, fixed capacity, priced by the hour.

Everything docpipe means by "a role on EC2" is here: the sizing, the per-role and per-tier defaults,
the drain timing, the cost, the right-sizing and the simulation model. The Pulumi half (launch
template, auto-scaling group, instance profile) is `infra/placements/ec2.py`.

Capacity: `desiredCapacity × assume.ec2TasksPerInstance` slots (one activity per vCPU of the 2-vCPU
burstable presets); tasks queue FIFO. Cost is fixed: instance-hours plus gp3 root volumes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from docpipe.cost.events import Clock, Pool, Task
from docpipe.cost.model import Burst, Charge, RoleCost, num
from docpipe.models import ConfigModel
from docpipe.targets.base import Target
from workers.contract import Env, Role

if TYPE_CHECKING:
    from docpipe.config import StackConfig
    from docpipe.cost.load import RoleLoad
    from docpipe.cost.model import Estimate
    from docpipe.cost.pricebook import PriceBook
    from docpipe.plan import RolePlacement

KEY = "ec2"
# Docker's stop timeout on the instance: SIGTERM, then this long before SIGKILL. The worker's own
# drain grace is a little shorter so it exits cleanly inside it.
STOP_TIMEOUT_SECONDS = 60
DRAIN_GRACE_SECONDS = STOP_TIMEOUT_SECONDS - 5
# Workers sit in the public subnets, each with a public IPv4 address (their way to the internet: no
# NAT gateway). infra/placements/ec2.py reads this; AWS bills every public IPv4 address by the hour.
PUBLIC_IPV4 = True
# Right-sizing aims for this utilisation of the slots at the peak (headroom for bursts).
SIZING_HEADROOM = 0.8


class Ec2Sizing(ConfigModel):
    """`activities.<role>.ec2`: an auto-scaling group of long-lived workers."""

    instance_type: str = Field(
        "t4g.small",
        pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$",
        description="EC2 instance type; Graviton families (t4g, m7g …) run the arm64 image.",
    )
    min_size: Annotated[int, Field(ge=0, le=100, description="Fewest instances the group keeps.")] = 1
    desired_capacity: Annotated[int, Field(ge=0, le=100, description="Instances running (and priced).")] = 1
    max_size: Annotated[
        int, Field(ge=1, le=100, description="Most instances (the burst the policy prices).")
    ] = 2
    volume_gb: Annotated[
        int, Field(ge=8, le=1000, description="Encrypted gp3 root volume per instance (GB).")
    ] = 20

    @model_validator(mode="after")
    def _ordered(self) -> Ec2Sizing:
        if not self.min_size <= self.desired_capacity <= self.max_size:
            raise ValueError(
                f"needs minSize <= desiredCapacity <= maxSize, got {self.min_size} <= "
                f"{self.desired_capacity} <= {self.max_size}"
            )
        return self

    @property
    def architecture(self) -> Literal["arm64", "x86_64"]:
        family = self.instance_type.split(".", 1)[0]
        # Graviton families carry a "g" after the generation digit (t4g, m7g, c7gn, r8g).
        return "arm64" if any(ch == "g" for ch in family[2:4]) else "x86_64"


DEFAULTS: dict[Role, dict[str, Any]] = {
    "workflow": {"instanceType": "t4g.micro", "minSize": 1, "desiredCapacity": 1, "maxSize": 2},
    "extraction": {"instanceType": "t4g.medium", "minSize": 1, "desiredCapacity": 1, "maxSize": 3},
    "analysis": {"instanceType": "t4g.small", "minSize": 1, "desiredCapacity": 1, "maxSize": 3},
    "enrichment": {"instanceType": "t4g.micro", "minSize": 1, "desiredCapacity": 1, "maxSize": 2},
    "storage": {"instanceType": "t4g.nano", "minSize": 1, "desiredCapacity": 1, "maxSize": 2},
}
TIER_OVERRIDES: dict[str, dict[Role, dict[str, Any]]] = {
    "high": {
        "extraction": {"desiredCapacity": 2, "minSize": 1, "maxSize": 4},
        "analysis": {"desiredCapacity": 2, "minSize": 1, "maxSize": 4},
    },
}


class Ec2Target(Target[Ec2Sizing]):
    """Auto-scaling group of long-lived workers, in public subnets with an egress-only security group."""

    key: ClassVar[str] = KEY
    role_defaults = DEFAULTS
    tier_defaults = TIER_OVERRIDES
    sizing_model = Ec2Sizing
    description = "long-lived workers in an EC2 auto-scaling group"
    order = 10

    def summary(self, sizing: Ec2Sizing) -> str:
        return f"{sizing.instance_type} ×{sizing.min_size}/{sizing.desired_capacity}/{sizing.max_size}"

    def architecture(self, sizing: Ec2Sizing) -> str:
        return sizing.architecture

    def runtime(self, placement: RolePlacement) -> Mapping[str, Any]:
        return {"stopTimeoutSeconds": STOP_TIMEOUT_SECONDS, "drainGraceSeconds": DRAIN_GRACE_SECONDS}

    def worker_env(self, placement: RolePlacement) -> dict[str, str]:
        return {Env.SHUTDOWN_GRACE_SECONDS: str(DRAIN_GRACE_SECONDS)}

    def slots(self, sizing: Ec2Sizing, prices: PriceBook) -> float:
        return sizing.desired_capacity * prices.get("assume.ec2TasksPerInstance")

    def estimate(self, placement: RolePlacement, load: RoleLoad, prices: PriceBook) -> RoleCost:
        s = self.sizing(placement)
        hint = f" (activities.{placement.role}.ec2.instanceType {s.instance_type})"
        hourly = prices.get(f"ec2.hour.{s.instance_type}", hint)
        gb_month = prices.get("ebs.gp3.gbMonth")
        hours = load.month_seconds / 3600
        n = s.desired_capacity
        compute = n * hours * hourly
        volumes = n * s.volume_gb * gb_month
        ip_hourly = prices.get("vpc.publicIpv4.hour") if PUBLIC_IPV4 else 0.0
        addresses = n * hours * ip_hourly
        working = (
            f"{n} × {num(hours)} h × {num(hourly)} USD/h ({s.instance_type}) + "
            f"{n} × {s.volume_gb} GB × {num(gb_month)} USD/GB-mo gp3"
        )
        if PUBLIC_IPV4:
            working += f" + {n} × {num(hours)} h × {num(ip_hourly)} USD/h public IPv4"
        slots = self.slots(s, prices)
        warnings: list[str] = []
        notes = [f"capacity {num(slots)} concurrent tasks; average load {load.utilisation:.3f}"]
        if load.utilisation >= slots:
            warnings.append(
                f"{placement.role} on ec2: average load {load.utilisation:.2f} concurrent tasks exceeds "
                f"{num(slots)} slots ({n} × {s.instance_type}); the backlog grows without bound — "
                f"raise activities.{placement.role}.ec2.desiredCapacity"
            )
        burst = Burst(
            role=placement.role,
            target=KEY,
            usd_per_hour=s.max_size * (hourly + ip_hourly),
            working=f"{s.max_size} (maxSize) × {num(hourly + ip_hourly)} USD/h (incl. public IPv4)",
        )
        return RoleCost.compute(
            placement.role,
            KEY,
            usd=compute + volumes + addresses,
            working=working,
            burst=burst,
            charges=(
                Charge(f"instances ({s.instance_type})", n * hours, "h", hourly),
                Charge("gp3 volumes", n * s.volume_gb, "GB-mo", gb_month),
                *((Charge("public IPv4", n * hours, "h", ip_hourly),) if PUBLIC_IPV4 else ()),
            ),
            notes=tuple(notes),
            warnings=tuple(warnings),
        )

    def right_size(
        self,
        config: StackConfig,
        role: Role,
        sizing: Ec2Sizing,
        *,
        load: RoleLoad,
        peak_factor: float,
        prices: PriceBook,
    ) -> Ec2Sizing:
        peak = load.utilisation * peak_factor
        need = max(1, math.ceil(peak / (prices.get("assume.ec2TasksPerInstance") * SIZING_HEADROOM)))
        if need <= sizing.desired_capacity:
            return sizing
        return sizing.model_copy(
            update={"desired_capacity": need, "max_size": max(sizing.max_size, need + 1)}
        )

    def simulator(
        self, clock: Clock, placement: RolePlacement, on_done: Callable[[Task], None], prices: PriceBook
    ) -> Pool:
        return Ec2Pool(clock, placement, on_done, int(self.slots(self.sizing(placement), prices)))


class Ec2Pool(Pool):
    """Fixed slots; tasks queue FIFO. Its cost is the closed form's (the same instance-hours)."""

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
        self._completed(task)
        self.on_done(task)
        self.dispatch()

    def cost(self, elapsed: float, prices: PriceBook, closed: Estimate) -> tuple[float, dict[str, float]]:
        month = prices.get("assume.hoursPerMonth") * 3600
        instances = float(TARGET.sizing(self.placement).desired_capacity) * elapsed  # always on
        figures = {"instanceSeconds": instances, "capacitySeconds": instances}
        return closed.role_compute_usd(self.placement.role) * elapsed / month, figures


TARGET = Ec2Target()
