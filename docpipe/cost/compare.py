"""Placement models side by side, across traffic: where each one wins and where they cross.

Every model is priced at each traffic level with its capacity sized to that traffic
(`placements.right_size`), so a fixed model is compared at a size that can carry the load.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from docpipe.config import StackConfig
from docpipe.cost.estimate import estimate, price_book_for
from docpipe.cost.placements import models, right_size, with_targets, with_traffic
from docpipe.cost.pricebook import PriceBook
from docpipe.cost.recommend import Search, recommend
from docpipe.rules import placement_problems
from workers.contract import ROLES

RECOMMENDED = "recommended"


@dataclass(frozen=True)
class ModelCost:
    name: str
    usd: float
    placement: dict[str, str]
    allowed: bool
    note: str = ""
    unconfirmed: tuple[str, ...] = ()


def models_at(config: StackConfig, files_per_day: float, prices: PriceBook | None = None) -> list[ModelCost]:
    """Every fixed model and the recommended placement at `files_per_day`."""
    book = prices.fresh() if prices is not None else price_book_for(config)
    cfg = right_size(with_traffic(config, files_per_day=files_per_day), book)
    search = Search(cfg, book)
    out: list[ModelCost] = []
    for name, targets in models().items():
        moved = with_targets(cfg, targets)
        problems = [p.removeprefix("docpipe:") for r in ROLES for p in placement_problems(moved, r)]
        note = "; ".join(problems)
        allowed = not problems
        placement: dict[str, str] = {str(r): str(t) for r, t in targets.items()}
        est = estimate(search.plan_for(dict(targets)), book)
        unconfirmed = tuple(p.key for p in est.unconfirmed)
        out.append(ModelCost(name, est.total_monthly_usd, placement, allowed, note, unconfirmed))
    rec = recommend(cfg, prices=book, size_to_load=False)
    rec_unconfirmed = tuple(p.key for p in rec.best.unconfirmed)
    out.append(
        ModelCost(RECOMMENDED, rec.best.total_monthly_usd, rec.best.placement, True, "", rec_unconfirmed)
    )
    return out


@dataclass(frozen=True)
class Sweep:
    files_per_day: list[float]
    usd: dict[str, list[float]]
    recommended_placements: list[dict[str, str]]
    crossovers: list[tuple[str, str, float, float]]  # model a, model b, files/day, USD

    def to_dict(self) -> dict[str, Any]:
        return {
            "filesPerDay": self.files_per_day,
            "monthlyUsd": {k: [round(x, 4) for x in v] for k, v in self.usd.items()},
            "recommendedPlacements": self.recommended_placements,
            "crossovers": [
                {"a": a, "b": b, "filesPerDay": round(x, 2), "monthlyUsd": round(y, 2)}
                for a, b, x, y in self.crossovers
            ],
        }


def log_grid(lo: float = 1, hi: float = 2000, points: int = 40) -> list[float]:
    step = (math.log10(hi) - math.log10(lo)) / (points - 1)
    return [10 ** (math.log10(lo) + i * step) for i in range(points)]


def _model_usd(config: StackConfig, name: str, x: float, book: PriceBook) -> float:
    cfg = right_size(with_traffic(config, files_per_day=x), book)
    return Search(cfg, book).total(dict(models()[name]))


def sweep(config: StackConfig, grid: list[float] | None = None, prices: PriceBook | None = None) -> Sweep:
    """Monthly cost of every model over `grid` (files/day), with the crossover points of the fixed models."""
    book = prices.fresh() if prices is not None else price_book_for(config)
    xs = grid or log_grid()
    usd: dict[str, list[float]] = {name: [] for name in [*models(), RECOMMENDED]}
    placements: list[dict[str, str]] = []
    for x in xs:
        for m in models_at(config, x, book):
            usd[m.name].append(m.usd)
            if m.name == RECOMMENDED:
                placements.append(m.placement)
    crossings: list[tuple[str, str, float, float]] = []
    names = list(models())
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for k in range(len(xs) - 1):
                d0 = usd[a][k] - usd[b][k]
                d1 = usd[a][k + 1] - usd[b][k + 1]
                if d0 == 0 or d0 * d1 >= 0:
                    continue
                lo, hi = xs[k], xs[k + 1]
                for _ in range(30):  # bisection on log scale
                    mid = math.sqrt(lo * hi)
                    dm = _model_usd(config, a, mid, book) - _model_usd(config, b, mid, book)
                    if dm * d0 > 0:
                        lo = mid
                    else:
                        hi = mid
                    if hi / lo < 1.001:
                        break
                x = math.sqrt(lo * hi)
                crossings.append((a, b, x, _model_usd(config, a, x, book)))
    crossings.sort(key=lambda c: c[2])
    return Sweep(xs, usd, placements, crossings)
