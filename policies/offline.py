"""The pack's verdicts for an offline run of the program (what `docpipe plan` shows).

`verdicts(result, stack)` runs every policy on the resources `infra.offline.run_offline` recorded,
with the stack's example policy config (`policies/<stack>.json`) when there is one, exactly as
`pulumi up --policy-pack policies --policy-pack-config policies/<stack>.json` would judge them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from policies.cost import CostInputError, stack_estimate
from policies.pack import POLICIES
from policies.runner import (
    Report,
    StackResource,
    evaluate,
    format_report,
    policy_resources,
    resolve_config,
    with_urns,
)

PACK_DIR = Path(__file__).resolve().parent


class Recorded(Protocol):
    """A resource as infra.offline records it."""

    type: str
    name: str
    urn: str
    parent: str
    inputs: dict[str, Any]
    dependencies: tuple[str, ...]


@dataclass(frozen=True)
class PlanVerdicts:
    stack: str
    config_file: Path | None
    report: Report
    estimate_usd: float | None
    cap_usd: float
    files_per_day: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "configFile": f"policies/{self.config_file.name}" if self.config_file else None,
            "monthlyEstimateUsd": None if self.estimate_usd is None else round(self.estimate_usd, 2),
            "maxMonthlyUsd": self.cap_usd,
            "filesPerDay": self.files_per_day,
            **self.report.to_dict(),
        }

    def summary(self) -> str:
        source = f"policies/{self.config_file.name}" if self.config_file else "the policies' defaults"
        line = f"with {source} at {self.files_per_day:g} files/day"
        if self.estimate_usd is not None:
            line += f": monthly estimate {self.estimate_usd:,.2f} USD, cap {self.cap_usd:,.2f} USD"
        return line

    def lines(self) -> list[str]:
        return [self.summary(), *format_report(self.report).splitlines()]

    def text(self) -> str:
        return "\n".join(self.lines())


def stack_resources(records: Iterable[Recorded]) -> list[StackResource]:
    """Recorded resources in the form the runner takes."""
    return [
        StackResource(r.type, r.name, r.inputs, r.parent or None, r.urn, tuple(r.dependencies))
        for r in records
    ]


def config_file_for(stack: str) -> Path | None:
    path = PACK_DIR / f"{stack}.json"
    return path if path.is_file() else None


def verdicts(
    records: Iterable[Recorded], stack: str, config: Path | Mapping[str, Any] | None = None
) -> PlanVerdicts:
    """Every policy's verdict for a recorded stack, with `config` or the stack's example config."""
    source: Path | Mapping[str, Any] | None = config if config is not None else config_file_for(stack)
    items = with_urns(stack_resources(records), stack)
    report = evaluate(POLICIES, items, source, stack=stack)
    monthly = resolve_config(POLICIES, source)["monthly-cost-cap"].properties
    try:
        estimate_usd: float | None = stack_estimate(policy_resources(items), monthly).total_monthly_usd
    except CostInputError:
        estimate_usd = None
    return PlanVerdicts(
        stack=stack,
        config_file=source if isinstance(source, Path) else None,
        report=report,
        estimate_usd=estimate_usd,
        cap_usd=float(monthly["maxMonthlyUsd"]),
        files_per_day=float(monthly["filesPerDay"]),
    )
