"""A fourth target, registered from test code alone, accepted by validation, plan, cost and simulation.

`fake_target.py` beside this file defines it; nothing in docpipe/ names it. (`docpipe dev` with the
same plug-in: tests/dev/test_plugin_target_dev.py.)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from docpipe.config import ConfigError
from docpipe.cost import estimate
from docpipe.cost.recommend import recommend
from docpipe.cost.simulate import simulate
from docpipe.plan import build_plan
from docpipe.stackfile import load_stack
from docpipe.targets import all_targets, unregister

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FLIP = ["activities.extraction.target=fargate", "activities.extraction.fargate.tasks=2"]


@pytest.fixture
def fargate(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(HERE))
    module = importlib.import_module("fake_target")
    yield module
    unregister("fargate")
    sys.modules.pop("fake_target", None)


def test_unregistered_target_is_unknown() -> None:
    assert "fargate" not in all_targets()
    with pytest.raises(ConfigError, match=r"activities\.extraction\.target: 'fargate' is not valid"):
        load_stack("dev", ROOT, ["activities.extraction.target=fargate"], placeholder_secrets=True)


def test_validation_and_plan_accept_the_plugin(fargate: ModuleType) -> None:
    assert list(all_targets()) == ["ec2", "cloudrun", "lambda", "fargate"]
    config, _ = load_stack("dev", ROOT, FLIP, placeholder_secrets=True)
    placement = build_plan(config)["extraction"]
    assert placement.target == "fargate"
    assert placement.sizing == fargate.FargateSizing(vcpu=1, tasks=2)  # its defaults, then the stack's
    assert placement.sizing_summary() == "1 vCPU 1 GB ×2"
    assert placement.vpc_attached and placement.uses_cache  # in the VPC: the base Target's default


def test_the_plugins_sizing_and_rules_give_config_errors(fargate: ModuleType) -> None:
    with pytest.raises(ConfigError) as err:
        load_stack("dev", ROOT, ["activities.extraction.fargate.tasks=0"], placeholder_secrets=True)
    assert "docpipe:activities.extraction.fargate.tasks: Input should be greater than or equal to 1" in str(
        err.value
    )
    with pytest.raises(ConfigError, match="did you mean 'fargate'"):
        load_stack("dev", ROOT, ["activities.extraction.target=fargat"], placeholder_secrets=True)
    with pytest.raises(ConfigError, match="storage runs one task on fargate, got 3"):
        load_stack(
            "dev",
            ROOT,
            ["activities.storage.target=fargate", "activities.storage.fargate.tasks=3"],
            placeholder_secrets=True,
        )


def test_cost_estimate_simulation_and_recommender_price_the_plugin(fargate: ModuleType) -> None:
    config, _ = load_stack("dev", ROOT, FLIP, placeholder_secrets=True)
    est = estimate(config)
    line = est.component("extraction (fargate)")
    assert line.usd == pytest.approx(730 * 2 * (1 * fargate.VCPU_HOUR_USD + 1 * fargate.GB_HOUR_USD))
    assert est.placement["extraction"] == "fargate"
    sim = simulate(config, days=1)
    assert sim.role("extraction").target == "fargate" and sim.role("extraction").tasks > 0
    rec = recommend(config)
    assert any(key.endswith("=fargate") for key in rec.excluded) or rec.searched > 3**5
