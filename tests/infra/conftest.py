"""Offline runs of the Pulumi program (infra.offline) shared by the infra tests.

Runs are cached per (stack, overrides, secrets) for the session: the program is deterministic and
a run takes about a second once the provider SDKs are imported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from docpipe.stackfile import FlatConfig, config_from_flat, flat_from_stack_file
from infra.offline import OfflineResult, run_offline

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "prod")

_cache: dict[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...], str], OfflineResult] = {}


def stack_flat(
    stack: str,
    sets: Iterable[str] = (),
    secrets: Mapping[str, str] | None = None,
    overlay: Mapping[str, Any] | None = None,
) -> FlatConfig:
    """Engine-style config of a stack file; placeholder secrets replaced by `secrets` values;
    `overlay` merges structured values into keys (for what `--set` cannot express, e.g. lists)."""
    flat = flat_from_stack_file(ROOT, stack, list(sets), placeholder_secrets=not overlay)
    values = dict(flat.values)
    keys = set(flat.secret_keys)
    for key, extra in (overlay or {}).items():
        current = json.loads(values[key]) if key in values else {}
        values[key] = json.dumps({**current, **extra})
    if overlay:  # placeholders for the secrets the overlaid config needs (as load_stack does)
        config = config_from_flat(stack, FlatConfig(values, frozenset(keys)), check_secrets=False)
        for name in config.required_secrets():
            if f"docpipe:{name}" not in keys:
                values[f"docpipe:{name}"] = "[placeholder]"
                keys.add(f"docpipe:{name}")
    for key, value in (secrets or {}).items():
        values[key] = value
        keys.add(key)
    return FlatConfig(values, frozenset(keys))


def run_stack(
    stack: str,
    sets: Iterable[str] = (),
    secrets: Mapping[str, str] | None = None,
    overlay: Mapping[str, Any] | None = None,
) -> OfflineResult:
    key = (stack, tuple(sets), tuple(sorted((secrets or {}).items())), json.dumps(overlay, sort_keys=True))
    if key not in _cache:
        _cache[key] = run_offline(stack_flat(stack, sets, secrets, overlay), stack)
    return _cache[key]


@pytest.fixture(scope="session")
def run() -> Callable[..., OfflineResult]:
    return run_stack


@pytest.fixture(scope="session")
def prod() -> OfflineResult:
    return run_stack("prod")


@pytest.fixture(scope="session")
def dev() -> OfflineResult:
    return run_stack("dev")
