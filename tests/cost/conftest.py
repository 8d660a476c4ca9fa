"""Shared helpers for the cost tests: stacks loaded offline, configs at chosen traffic."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from docpipe.config import StackConfig
from docpipe.stackfile import load_stack

# The seed's high scenario: 500 files/day, 10 minutes each (3.5 + 4.5 + 0.3 × 4.0 + 0.8).
HIGH_SETS = [
    "tier=high",
    "traffic.filesPerDay=500",
    "traffic.minutesPerFile.extraction=3.5",
    "traffic.minutesPerFile.analysis=4.5",
    "traffic.minutesPerFile.enrichment=4.0",
    "traffic.minutesPerFile.storage=0.8",
]


@pytest.fixture
def stack() -> Callable[..., StackConfig]:
    def load(name: str, *sets: str) -> StackConfig:
        config, _ = load_stack(name, overrides=list(sets), placeholder_secrets=True)
        return config

    return load
