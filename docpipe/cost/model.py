"""What an estimate is: line items that each show their working, and the totals built from them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from docpipe.cost.pricebook import Price

Category = Literal["compute", "baseline", "external"]


def usd(value: float) -> str:
    """A money figure as the tables print it."""
    return f"{value:,.2f}"


def num(value: float) -> str:
    """A number as the working prints it: integers plainly, small rates in full."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    if abs(value) >= 1:
        return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.2f}"
    if value == 0:
        return "0"
    # Positional, six significant digits: rates read as in the price book (0.0000133334).
    digits = -math.floor(math.log10(abs(value))) + 5
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Charge:
    """One priced quantity of a line of the bill, as Infracost lists a resource's cost components:
    `quantity` `unit`s a month at `price` USD per unit (`720 h × 0.016 USD/h`)."""

    label: str
    quantity: float
    unit: str
    price: float

    @property
    def usd(self) -> float:
        return self.quantity * self.price

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "quantity": round(self.quantity, 6),
            "unit": self.unit,
            "unitPriceUsd": self.price,
            "usd": round(self.usd, 4),
        }


@dataclass(frozen=True)
class Component:
    """One line of the bill: a monthly amount and the formula with its numbers filled in."""

    name: str
    usd: float
    working: str
    category: Category
    role: str | None = None
    target: str | None = None
    notes: tuple[str, ...] = ()
    price_keys: tuple[str, ...] = ()
    unconfirmed: tuple[str, ...] = ()
    # The quantities behind `usd` where an estimator states them (empty: only the working says).
    charges: tuple[Charge, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "target": self.target,
            "category": self.category,
            "usd": round(self.usd, 4),
            "working": self.working,
            "notes": list(self.notes),
            "priceKeys": list(self.price_keys),
            "unconfirmedPrices": list(self.unconfirmed),
            "charges": [c.to_dict() for c in self.charges],
        }


@dataclass(frozen=True)
class Burst:
    """A role's worst-case hourly cost: every instance / all concurrency running for an hour."""

    role: str
    target: str
    usd_per_hour: float
    working: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "target": self.target,
            "usdPerHour": round(self.usd_per_hour, 4),
            "working": self.working,
        }


@dataclass(frozen=True)
class Estimate:
    """The monthly cost of one placement of one stack, with its assumptions and unconfirmed prices."""

    stack: str
    placement: dict[str, str]
    files_per_day: float
    components: tuple[Component, ...]
    bursts: tuple[Burst, ...] = ()
    prices_used: tuple[Price, ...] = ()
    warnings: tuple[str, ...] = ()
    # What the estimate leaves out, each (item, why).
    not_priced: tuple[tuple[str, str], ...] = ()
    free_tier: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def total_monthly_usd(self) -> float:
        return sum(c.usd for c in self.components)

    def by_category(self, category: Category) -> float:
        return sum(c.usd for c in self.components if c.category == category)

    def role_usd(self, role: str) -> float:
        """Everything attributed to a role: its compute and the hosted services it calls."""
        return sum(c.usd for c in self.components if c.role == role)

    def role_compute_usd(self, role: str) -> float:
        """A role's worker compute only (what its placement decides)."""
        return sum(c.usd for c in self.components if c.role == role and c.category == "compute")

    def component(self, name: str) -> Component:
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(f"no component {name!r}; components: {', '.join(c.name for c in self.components)}")

    def top_drivers(self, n: int = 3) -> list[Component]:
        """The `n` most expensive line items, largest first."""
        return sorted(self.components, key=lambda c: c.usd, reverse=True)[:n]

    @property
    def unconfirmed(self) -> list[Price]:
        return [p for p in self.prices_used if not p.confirmed]

    @property
    def assumptions(self) -> list[Price]:
        return [p for p in self.prices_used if p.assumption]

    def burst(self, role: str) -> Burst:
        for b in self.bursts:
            if b.role == role:
                return b
        raise KeyError(role)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "placement": self.placement,
            "filesPerDay": self.files_per_day,
            "freeTier": self.free_tier,
            "totalMonthlyUsd": round(self.total_monthly_usd, 4),
            "components": [c.to_dict() for c in self.components],
            "burstHourly": [b.to_dict() for b in self.bursts],
            "warnings": list(self.warnings),
            "notPriced": [{"item": item, "why": why} for item, why in self.not_priced],
            "assumptions": [p.to_dict() for p in self.assumptions],
            "unconfirmedPrices": [p.to_dict() for p in self.unconfirmed],
            "pricesUsed": [p.to_dict() for p in self.prices_used if not p.assumption],
        }


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

    @classmethod
    def compute(
        cls,
        role: str,
        target: str,
        *,
        usd: float,
        working: str,
        burst: Burst,
        notes: tuple[str, ...] | list[str] = (),
        warnings: tuple[str, ...] | list[str] = (),
        charges: tuple[Charge, ...] | list[Charge] = (),
        **figures: Any,
    ) -> RoleCost:
        """A target's compute line for `role` (named "<role> (<target>)"), as every estimator builds it."""
        component = Component(
            name=f"{role} ({target})",
            usd=usd,
            working=working,
            category="compute",
            role=role,
            target=target,
            notes=tuple(notes),
            charges=tuple(charges),
        )
        return cls(component=component, burst=burst, warnings=tuple(warnings), **figures)
