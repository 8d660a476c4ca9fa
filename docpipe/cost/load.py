"""The work each role does in a month, from `docpipe:traffic`.

Activity roles get one task per file (enrichment: per enriched file) lasting the role's
`minutesPerFile`. The workflow role gets one workflow task when the workflow starts and one after
each activity completes, each lasting `assume.workflowTaskSeconds`.
"""

from __future__ import annotations

from dataclasses import dataclass

from docpipe.config import Traffic
from docpipe.cost.model import num
from docpipe.cost.pricebook import PriceBook
from workers.contract import ACTIVITY_ROLES, Role


@dataclass(frozen=True)
class RoleLoad:
    """A role's monthly work: `tasks` tasks of `task_seconds` each over `month_seconds`."""

    role: Role
    tasks: float
    task_seconds: float
    month_seconds: float
    tasks_working: str

    @property
    def rate(self) -> float:
        """Task arrivals per second (the month's average)."""
        return self.tasks / self.month_seconds

    @property
    def busy_seconds(self) -> float:
        return self.tasks * self.task_seconds

    @property
    def utilisation(self) -> float:
        """Average concurrent tasks (ρ = λ·d)."""
        return self.busy_seconds / self.month_seconds


def hours_per_month(prices: PriceBook) -> float:
    """AWS's month (730 h): always-on lines are priced for it and traffic arrives over it."""
    return prices.get("assume.hoursPerMonth")


def days_per_month(prices: PriceBook) -> float:
    return hours_per_month(prices) / 24


def activities_per_file(traffic: Traffic) -> float:
    """Extraction, analysis and storage for every file; enrichment for the enriched share."""
    return 3 + traffic.enrichment_rate


def role_load(role: Role, traffic: Traffic, prices: PriceBook) -> RoleLoad:
    days = days_per_month(prices)
    month_seconds = days * 86400
    files = traffic.files_per_day * days
    files_working = f"{num(traffic.files_per_day)} files/day × {num(days)} d"
    if role == "workflow":
        per_file = 1 + activities_per_file(traffic)
        return RoleLoad(
            role=role,
            tasks=files * per_file,
            task_seconds=prices.get("assume.workflowTaskSeconds"),
            month_seconds=month_seconds,
            tasks_working=f"{files_working} × {num(per_file)} workflow tasks/file",
        )
    assert role in ACTIVITY_ROLES
    tasks = files
    working = files_working
    if role == "enrichment":
        tasks = files * traffic.enrichment_rate
        working = f"{files_working} × {num(traffic.enrichment_rate)} enriched"
    return RoleLoad(
        role=role,
        tasks=tasks,
        task_seconds=traffic.minutes(role) * 60,
        month_seconds=month_seconds,
        tasks_working=working,
    )
