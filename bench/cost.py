"""Cost-model benchmarks: prints figures, asserts nothing.

    .venv/bin/python bench/cost.py

1. `recommend` over every placement (3⁵ combinations, storage on Cloud Run excluded) — goal < 1 s.
2. 30 simulated days at 500 files/day through the prod stack's placement — goal < 10 s.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from docpipe.cost.placements import default_config
from docpipe.cost.recommend import recommend
from docpipe.cost.simulate import simulate
from docpipe.stackfile import load_stack
from workers.contract import ROLES

T = TypeVar("T")


def timed(fn: Callable[[], T], repeat: int = 1) -> tuple[float, T]:
    best = float("inf")
    result: T | None = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def main() -> None:
    recommend(default_config(10))  # warm: price book parsed once per process
    for files in (10, 300, 2000):
        seconds, rec = timed(lambda f=files: recommend(default_config(f)), repeat=5)
        placement = ", ".join(f"{r}={rec.best.placement[r]}" for r in ROLES)
        print(
            f"recommend {files:>5} files/day: {rec.searched} placements in {seconds * 1000:6.1f} ms "
            f"(goal < 1000 ms) → {rec.best.total_monthly_usd:8.2f} USD/month: {placement}"
        )
    config, _ = load_stack(
        "prod",
        root=Path(__file__).resolve().parents[1],
        overrides=["traffic.filesPerDay=500"],
        placeholder_secrets=True,
    )
    for profile in ("steady", "diurnal", "bursty"):
        seconds, result = timed(lambda p=profile: simulate(config, days=30, profile=p, seed=1))
        print(
            f"simulate 30 days × 500 files/day ({profile:7}): {result.files:,} files in {seconds:5.2f} s "
            f"(goal < 10 s) → {result.total_monthly_usd:8.2f} USD/month (closed form "
            f"{result.estimate.total_monthly_usd:8.2f}); latency p50/p95/p99 "
            f"{result.latency_p50:,.0f}/{result.latency_p95:,.0f}/{result.latency_p99:,.0f} s"
        )


if __name__ == "__main__":
    main()
