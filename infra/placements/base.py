"""The placement interface: one hook, one registry.

A placement takes one role's plan entry and the baseline, declares that role's compute as a
`pulumi.ComponentResource` (type `docpipe:placement:<Target>`, name `<role>-<target>`, every child
parented to it and named from it) and returns its outputs. Because names derive from role and
target, flipping a role's target replaces exactly one component and its children; nothing else.
Adding a target is a core module (docpipe/targets/), a module here and tests; both register
themselves.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import pulumi

from docpipe.plan import RolePlacement
from infra.baseline import Baseline


class Placement(pulumi.ComponentResource):
    """Base class: subclasses set `target`/`type_token` and implement `declare`."""

    target: ClassVar[str]
    type_token: ClassVar[str]
    # Whether Temporal starts this target's workers itself (compute config on the version).
    serverless: ClassVar[bool] = False

    outputs: dict[str, Any]
    compute: dict[str, pulumi.Input[Any]] | None

    def __init__(
        self, placement: RolePlacement, baseline: Baseline, opts: pulumi.ResourceOptions | None = None
    ):
        self.placement = placement
        self.baseline = baseline
        self.component_name = f"{placement.role}-{self.target}"
        props = {
            "role": placement.role,
            "target": placement.target,
            "sizing": placement.sizing.model_dump(by_alias=True),
            "taskQueue": placement.task_queue,
            "deploymentName": placement.deployment_name,
            "activityTimeoutSeconds": placement.activity_timeout_seconds,
        }
        super().__init__(self.type_token, self.component_name, props, opts)
        self.compute = None
        self.outputs = self.declare(placement, baseline)
        # A policy pack's stack policies see a component's registered outputs, not its props: register
        # the placement too, so `pulumi up --policy-pack policies` can price and check each role.
        self.register_outputs({**props, **self.outputs})

    def child_name(self, suffix: str) -> str:
        return f"{self.component_name}-{suffix}"

    def opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    @abstractmethod
    def declare(self, placement: RolePlacement, baseline: Baseline) -> dict[str, Any]:
        """Declare the role's resources (children of self); return its outputs."""

    @classmethod
    def shared(cls, components: Sequence[Placement], baseline: Baseline) -> None:
        """Declare what this target needs once per stack, after every role's placement (Cloud Run:
        the CREMA scaler serving all its pools). `components` holds every placement of the stack."""


def registry() -> dict[str, type[Placement]]:
    """The Pulumi half of every target: the Placement subclass of each module in this package."""
    import importlib
    import pkgutil

    import infra.placements as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "base":
            importlib.import_module(f"{package.__name__}.{module.name}")
    return {cls.target: cls for cls in _subclasses(Placement)}  # type: ignore[type-abstract]


def _subclasses(cls: type[Placement]) -> list[type[Placement]]:
    found: list[type[Placement]] = []
    for sub in cls.__subclasses__():
        if "target" in sub.__dict__:
            found.append(sub)
        found.extend(_subclasses(sub))
    return found


def placement_for(target: str) -> type[Placement]:
    """The placement class for a target name; an unknown name fails with the valid ones."""
    found = registry().get(target)
    if found is None:
        valid = ", ".join(sorted(registry()))
        raise KeyError(
            f"target {target!r} has no Pulumi placement (infra/placements/<target>.py); targets the "
            f"program can deploy: {valid}"
        )
    return found
