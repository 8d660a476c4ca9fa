"""Every warning rule the cost model has, asked of one placement at once.

A shipped stack, a tier preset and a recommendation must pass all of them: the estimate's warnings
(capacity below the mean load), and the simulator's, under each traffic profile — tasks cut at a
deadline and retried, and documents left waiting longer than a day (the placement cannot keep up).
"""

from __future__ import annotations

from collections.abc import Sequence

from docpipe.config import StackConfig
from docpipe.cost.estimate import estimate
from docpipe.cost.simulate import simulate

PROFILES = ("steady", "diurnal", "bursty")


def warnings_of(
    config: StackConfig, *, days: int = 7, profiles: Sequence[str] = PROFILES, seed: int = 1
) -> list[str]:
    """What `docpipe cost` and `docpipe simulate --profile P` would warn of for `config` (empty: none)."""
    found = list(estimate(config).warnings)
    for profile in profiles:
        result = simulate(config, days=days, profile=profile, seed=seed)
        found += [
            f"simulate --profile {profile}: {r.role} on {r.target}: {r.retries:,} tasks cut and retried"
            for r in result.roles
            if r.retries
        ]
        found += [f"simulate --profile {profile}: {line}" for line in result.cannot_keep_up]
    return found
