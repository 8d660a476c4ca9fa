"""The recommender equals an independent brute force and never loses to a fixed model."""

from __future__ import annotations

import itertools

import pytest
import yaml

from docpipe.config import validate_stack_config
from docpipe.cost import estimate
from docpipe.cost.estimate import price_book_for
from docpipe.cost.placements import CREMA_IMAGE, default_config, models, right_size, with_targets
from docpipe.cost.recommend import recommend
from docpipe.presets import deep_merge, preset_activities
from docpipe.targets import target_keys
from workers.contract import ROLES


def brute_force(config, free_tier: bool = False):
    """Every placement priced by the full estimate; storage on Cloud Run excluded (private database)."""
    book = price_book_for(config)
    sized = right_size(config, book)
    best = None
    for combo in itertools.product(target_keys(), repeat=len(ROLES)):
        targets = dict(zip(ROLES, combo, strict=True))
        if targets["storage"] == "cloudrun":
            continue
        total = estimate(with_targets(sized, targets), free_tier=free_tier).total_monthly_usd
        if best is None or total < best[0] - 1e-9:
            best = (total, targets)
    assert best is not None
    return best


@pytest.mark.parametrize("files_per_day", [3, 60, 400, 1500])
def test_recommendation_equals_brute_force(files_per_day: float) -> None:
    config = default_config(files_per_day)
    rec = recommend(config)
    total, targets = brute_force(config)
    assert rec.best.total_monthly_usd == pytest.approx(total, rel=1e-9)
    assert rec.best.placement == targets
    assert rec.searched == 3**4 * 2  # storage has two allowed targets
    assert rec.runner_up is not None
    assert rec.runner_up.total_monthly_usd >= rec.best.total_monthly_usd


def test_recommendation_with_free_tier_equals_brute_force() -> None:
    config = default_config(30)
    rec = recommend(config, free_tier=True)
    total, _ = brute_force(config, free_tier=True)
    assert rec.best.total_monthly_usd == pytest.approx(total, rel=1e-9)


@pytest.mark.parametrize("files_per_day", [1, 5, 20, 80, 250, 700, 2000])
def test_never_above_any_fixed_model(files_per_day: float) -> None:
    config = default_config(files_per_day)
    rec = recommend(config)
    sized = right_size(config, price_book_for(config))
    for name, targets in models().items():
        if targets["storage"] == "cloudrun":
            continue  # not allowed with a private database
        fixed = estimate(with_targets(sized, targets)).total_monthly_usd
        assert rec.best.total_monthly_usd <= fixed + 1e-9, name


def test_constraints_exclude_with_reasons() -> None:
    rec = recommend(default_config(50, {"extraction": 20}), max_wait=10)
    assert "extraction=lambda" in rec.excluded and "900 s limit" in rec.excluded["extraction=lambda"]
    assert "storage=cloudrun" in rec.excluded and "database" in rec.excluded["storage=cloudrun"]
    assert all(f"{r}=cloudrun" in rec.excluded for r in ROLES)  # 30 s scale-up > 10 s
    assert rec.best.placement["extraction"] == "ec2"
    assert not any(t == "cloudrun" for t in rec.best.placement.values())


def test_public_tls_database_allows_cloudrun_storage() -> None:
    config = default_config(10)
    config = config.model_copy(
        update={
            "database": config.database.model_copy(
                update={"reachability": "public-tls", "allowed_cidrs": ("203.0.113.0/24",)}
            )
        }
    )
    assert "storage=cloudrun" not in recommend(config).excluded


def test_stack_yaml_round_trips_to_the_recommended_placement() -> None:
    config = default_config(900)
    rec = recommend(config)
    doc = yaml.safe_load(rec.yaml)
    activities = doc["config"]["docpipe:activities"]
    raw = {
        "tier": "medium",
        "activities": deep_merge(preset_activities("medium"), activities),
        "traffic": {"filesPerDay": 900},
        "gcp": {"project": "docpipe-example", "cremaImage": CREMA_IMAGE},
    }
    pasted = validate_stack_config("pasted", raw, check_secrets=False)
    assert {r: pasted.activities[r].target for r in ROLES} == rec.best.placement
    # Right-sized capacity travels with the YAML: the pasted stack costs what was recommended.
    assert estimate(pasted).total_monthly_usd == pytest.approx(rec.best.total_monthly_usd, rel=1e-6)


def test_reasons_name_every_role_and_the_nat_coupling() -> None:
    rec = recommend(default_config(10))
    assert [r.split(":")[0] for r in rec.reasons] == list(ROLES)
    storage = next(r for r in rec.reasons if r.startswith("storage"))
    # Storage on Lambda would need the NAT gateway (VPC for the database, internet for Temporal Cloud).
    assert rec.best.placement["storage"] == "ec2" and "NAT" in storage
