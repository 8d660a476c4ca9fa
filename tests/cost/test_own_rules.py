"""No shipped stack, tier preset or recommendation trips the cost model's own warning rules."""

from __future__ import annotations

import pytest

from docpipe.cost.checks import warnings_of
from docpipe.cost.estimate import price_book_for
from docpipe.cost.placements import default_config, right_size, with_targets
from docpipe.cost.recommend import recommend

# Each tier's preset at the traffic it is made for (the seed's scenarios).
TIER_TRAFFIC = {"low": 10, "medium": 100, "high": 500}


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_shipped_stacks_trip_no_warning(stack, name) -> None:
    assert warnings_of(stack(name)) == []


@pytest.mark.parametrize(("tier", "files_per_day"), sorted(TIER_TRAFFIC.items()))
def test_tier_presets_trip_no_warning_at_their_traffic(tier, files_per_day) -> None:
    assert warnings_of(default_config(files_per_day, tier=tier)) == []


@pytest.mark.parametrize("files_per_day", [1, 10, 100, 300, 500, 1000, 2000])
def test_recommendations_trip_no_warning(files_per_day) -> None:
    rec = recommend(default_config(files_per_day))
    chosen = with_targets(rec.config, rec.best.placement)  # type: ignore[arg-type]
    assert warnings_of(chosen) == []


def test_the_rules_do_fire_when_a_placement_cannot_keep_up(stack) -> None:
    found = warnings_of(stack("prod", "traffic.filesPerDay=2000"), profiles=("diurnal",))
    assert any("maxInstances is 3" in w for w in found)  # the estimate's capacity warning
    assert any("cannot keep up with 2,000 files/day" in w for w in found)  # the simulator's
    # Right-sized to the traffic, the same stack passes.
    config = stack("prod", "traffic.filesPerDay=2000")
    assert warnings_of(right_size(config, price_book_for(config)), profiles=("diurnal",)) == []
