"""A placement target: everything docpipe means by "run a role on X", behind one small interface.

A target is one subclass of `Target` in one module. It owns its sizing model (pydantic, bounds and
descriptions), its per-role and per-tier defaults, its rules (platform limits, timing, reachability),
the runtime settings and worker environment that decide its behaviour, and its cost, right-sizing and
simulation hooks. Defining the subclass registers it under its `key` (as Prefect's worker types do),
so config validation, the plan, the cost model, the recommender and `docpipe dev` accept it with no
edit anywhere else. The Pulumi half of a target lives in `infra/placements/<key>.py`.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from docpipe.models import ConfigModel
from workers.contract import Role

if TYPE_CHECKING:
    from docpipe.config import ActivityConfig, StackConfig
    from docpipe.cost.events import Clock, Pool, Task
    from docpipe.cost.load import RoleLoad
    from docpipe.cost.model import Component, RoleCost
    from docpipe.cost.pricebook import PriceBook
    from docpipe.plan import Need, PlacementPlan, RolePlacement

S = TypeVar("S", bound=ConfigModel)

_REGISTRY: dict[str, Target[Any]] = {}


class Target(ABC, Generic[S]):
    """One placement target. Subclasses set the class attributes and implement the hooks."""

    #: The config key (`activities.<role>.target: <key>`, `activities.<role>.<key>: {sizing}`).
    key: ClassVar[str]
    #: The sizing model of `activities.<role>.<key>`.
    sizing_model: ClassVar[type[ConfigModel]]
    #: One line for `docpipe plan` and the docs.
    description: ClassVar[str]
    #: Temporal starts this target's workers itself (a compute config on the Worker Deployment version).
    serverless: ClassVar[bool] = False
    #: Its workers run inside the stack's AWS VPC (and so can reach the database, cache and a
    #: self-hosted Temporal there).
    in_aws_vpc: ClassVar[bool] = True
    #: The cloud its compute runs in (`aws`, `gcp`): decides which providers the program configures.
    cloud: ClassVar[str] = "aws"
    #: The config key this target needs set (e.g. `gcp.project` for Cloud Run), or None.
    needs_section: ClassVar[str | None] = None
    #: Where the target sorts in lists and messages (built-ins 10, 20, 30; plug-ins after).
    order: ClassVar[int] = 100

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not inspect.isabstract(cls) and "key" in cls.__dict__:
            register(cls())

    # --- config -----------------------------------------------------------------------------------
    def sizing(self, source: ActivityConfig | RolePlacement) -> S:
        """This target's sizing of a role (typed), from its activity config or its placement."""
        from docpipe.config import ActivityConfig

        found = source.sizing_for(self.key) if isinstance(source, ActivityConfig) else source.sizing
        if not isinstance(found, self.sizing_model):
            raise TypeError(f"{source!r} holds no {self.key} sizing")
        return found  # type: ignore[return-value]

    #: Raw (camelCase) sizing per role, before the tier's overrides; and what each tier changes.
    role_defaults: ClassVar[Mapping[Role, Mapping[str, Any]]] = {}
    tier_defaults: ClassVar[Mapping[str, Mapping[Role, Mapping[str, Any]]]] = {}

    def defaults(self, role: Role) -> dict[str, Any]:
        """Raw (camelCase) sizing defaults of a role on this target, before the tier's overrides."""
        return dict(self.role_defaults.get(role, {}))

    def tier_overrides(self, tier: str, role: Role) -> dict[str, Any]:
        """Raw sizing the tier changes over `defaults` (the seed: at most 1 instance at low …)."""
        return dict(self.tier_defaults.get(tier, {}).get(role, {}))

    @abstractmethod
    def summary(self, sizing: S) -> str:
        """The sizing in a few words for the placement table."""

    def rules(self, config: StackConfig, role: Role) -> list[str]:
        """Why `role` cannot run on this target under `config` (empty when it can).

        Each message names the config keys involved and what would be valid. Config validation, the
        recommender, `cost compare` and the policy pack all ask this one method.
        """
        return []

    def temporal_compute_provider(self, config: StackConfig, role: Role) -> str | None:
        """The worker-controller compute provider Temporal must drive to start this role's workers
        (`aws-lambda`, `gcp-cloud-run`), or None when Temporal does not start them. Default: a
        serverless target's cloud's provider. `docpipe.rules.worker_controller_matches` checks it."""
        if not self.serverless:
            return None
        return {"aws": "aws-lambda", "gcp": "gcp-cloud-run"}.get(self.cloud)

    # --- plan -------------------------------------------------------------------------------------
    def resolve(self, config: StackConfig, role: Role, sizing: S) -> S:
        """The sizing the plan carries: unset choices the target makes from the rest of the config
        (Cloud Run: which scaler) filled in, so everything downstream reads one decided value."""
        return sizing

    def joins_vpc(self, config: StackConfig, role: Role, needs: frozenset[Need]) -> bool:
        """Whether this role's workers are attached to the stack's VPC on this target."""
        return self.in_aws_vpc

    def needs_nat(self, placement: RolePlacement) -> bool:
        """Whether this placement needs a NAT gateway to reach the internet."""
        return False

    def joins_vpc_for_cache(self, config: StackConfig, role: Role, needs: frozenset[Need]) -> bool:
        """Whether a role that `joins_vpc` left outside the VPC joins it to reach the cache when the
        stack has a NAT gateway anyway (its internet traffic then goes through that gateway, which
        costs it nothing more than the gateway's per-GB charge). Default: any target whose workers can
        run in the stack's AWS VPC (Lambda); Cloud Run cannot."""
        return self.in_aws_vpc

    def cache_unreachable(self, config: StackConfig, role: Role) -> str:
        """Why this role's workers on this target do not reach Valkey (said by `docpipe plan`)."""
        if not self.in_aws_vpc:
            return (
                f"{self.key} runs outside AWS ({self.cloud}): there is no private path to the AWS VPC "
                "where Valkey is"
            )
        return (
            "outside the VPC: joining it would need a NAT gateway for its internet traffic (Temporal, "
            "the backends' APIs), and no other role brings one to this stack"
        )

    def worker_bound(self, placement: RolePlacement) -> str:
        """What bounds how many of this placement's workers run at once, in words with its config key
        (what caps a role's model calls and sandboxes when no Valkey semaphore does)."""
        sizing = placement.sizing.model_dump(by_alias=True)
        for key in ("maxInstances", "maxSize", "reservedConcurrency"):
            if key in sizing:
                path = f"activities.{placement.role}.{self.key}.{key}"
                if sizing[key] is None:
                    return f"workers up to the account's unreserved concurrency ({path} unset)"
                n = sizing[key]
                return f"at most {n} worker{'' if n == 1 else 's'} ({path})"
        return "workers without a limit of their own"

    def architecture(self, sizing: S) -> str:
        """CPU architecture of the worker image this sizing runs (`arm64` or `x86_64`)."""
        return "x86_64"

    def notes(self, placement: RolePlacement) -> list[str]:
        """What a user must know about this placement before deploying (shown by `docpipe plan`)."""
        return []

    def stack_notes(self, placements: list[RolePlacement]) -> list[str]:
        """What a user must know about all of this target's placements together (account limits)."""
        return []

    # --- runtime ----------------------------------------------------------------------------------
    def worker_env(self, placement: RolePlacement) -> dict[str, str]:
        """Environment this target's workers need beyond the role's own (timings, scaler settings)."""
        return {}

    def runtime(self, placement: RolePlacement) -> Mapping[str, Any]:
        """The settings that decide how this placement behaves at run time (shown by `docpipe plan`,
        read by the deployment, the cost model and the simulator)."""
        return {}

    # --- cost -------------------------------------------------------------------------------------
    @abstractmethod
    def estimate(self, placement: RolePlacement, load: RoleLoad, prices: PriceBook) -> RoleCost:
        """A month of the role's load on this placement, with the working, and its worst-case hour."""

    def shared_cost(self, plan: PlacementPlan, prices: PriceBook) -> Component | None:
        """What the target costs once per stack when any role is on it (Cloud Run: the CREMA scaler)."""
        return None

    def cold_start_seconds(self, sizing: S, prices: PriceBook) -> float:
        """How long a task may wait for capacity to start (0 for always-on capacity)."""
        return 0.0

    def right_size(
        self,
        config: StackConfig,
        role: Role,
        sizing: S,
        *,
        load: RoleLoad,
        peak_factor: float,
        prices: PriceBook,
    ) -> S:
        """The sizing raised (never lowered) so it carries the load at its peak (`peak_factor` × mean).

        `config` already carries the role's right-sized activity timeout."""
        return sizing

    @abstractmethod
    def simulator(
        self, clock: Clock, placement: RolePlacement, on_done: Callable[[Task], None], prices: PriceBook
    ) -> Pool:
        """The event-driven capacity model `docpipe simulate` plays tasks through."""


def register(target: Target[Any]) -> None:
    """Make `target` known under its key (a later registration under the same key replaces it)."""
    _REGISTRY[target.key] = target


def unregister(key: str) -> None:
    _REGISTRY.pop(key, None)


PLUGINS_ENV = "DOCPIPE_TARGETS"


def _discover() -> None:
    """Import the built-in target modules (each registers itself) and the plug-ins: installed ones
    (entry point group `docpipe.targets`) and modules named in DOCPIPE_TARGETS (comma-separated)."""
    import importlib
    import os
    import pkgutil
    from importlib.metadata import entry_points

    import docpipe.targets as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "base":
            importlib.import_module(f"{package.__name__}.{module.name}")
    for entry in entry_points(group="docpipe.targets"):
        entry.load()
    for name in filter(None, (n.strip() for n in os.environ.get(PLUGINS_ENV, "").split(","))):
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ImportError(f"{PLUGINS_ENV} names {name!r}, which cannot be imported: {err}") from err


_discovered = False


def all_targets() -> dict[str, Target[Any]]:
    """Every registered target by key, in `order` (ec2, cloudrun, lambda, then plug-ins)."""
    global _discovered  # noqa: PLW0603 (discovery runs once per process)
    if not _discovered:
        _discovered = True
        _discover()
    return dict(sorted(_REGISTRY.items(), key=lambda item: (item[1].order, item[0])))


def target_keys() -> tuple[str, ...]:
    return tuple(all_targets())


def get_target(key: str) -> Target[Any]:
    """The target registered under `key`; an unknown key fails with the valid ones."""
    found = all_targets().get(key)
    if found is None:
        from workers.suggest import did_you_mean

        valid = list(all_targets())
        raise KeyError(
            f"unknown placement target {key!r}; valid targets: {', '.join(valid)}{did_you_mean(key, valid)}"
        )
    return found
