"""(c) Policy config: schema defaults, file overrides, enforcement levels, mistakes named."""

from __future__ import annotations

import pytest
from policy_helpers import ROOT_DIR, edit, report, resources
from pulumi_policy import EnforcementLevel

from policies.common import defaults
from policies.pack import POLICIES, policy
from policies.runner import resolve_config


def test_every_property_has_a_default_and_a_description() -> None:
    for p in POLICIES:
        assert p.config_schema is not None, p.name
        for name, spec in p.config_schema.properties.items():
            assert "default" in spec and spec.get("description") and spec.get("type"), (p.name, name)


def test_defaults_apply_without_a_file() -> None:
    resolved = resolve_config(POLICIES)
    assert all(s.enforcement == EnforcementLevel.MANDATORY for s in resolved.values())
    assert resolved["monthly-cost-cap"].properties == defaults(policy("monthly-cost-cap").config_schema)
    assert resolved["monthly-cost-cap"].properties["maxMonthlyUsd"] == 250
    assert resolved["burst-cost-cap"].properties["maxHourlyUsdPerRole"] == 10


def test_file_overrides_one_property_and_keeps_the_other_defaults() -> None:
    resolved = resolve_config(POLICIES, {"monthly-cost-cap": {"maxMonthlyUsd": 123}})
    props = resolved["monthly-cost-cap"].properties
    assert props["maxMonthlyUsd"] == 123 and props["filesPerDay"] == 10 and props["prices"] == {}


def test_enforcement_levels_from_file() -> None:
    resolved = resolve_config(
        POLICIES,
        {
            "all": "advisory",
            "no-open-ingress": "mandatory",
            "burst-cost-cap": {"enforcementLevel": "disabled"},
        },
    )
    assert resolved["monthly-cost-cap"].enforcement == EnforcementLevel.ADVISORY
    assert resolved["no-open-ingress"].enforcement == EnforcementLevel.MANDATORY
    assert resolved["burst-cost-cap"].enforcement == EnforcementLevel.DISABLED


def test_advisory_violation_does_not_block_and_disabled_policy_does_not_run() -> None:
    items = edit(
        resources("dev"),
        lambda r: r.type == "aws:rds/instance:Instance",
        lambda p: p.update(publiclyAccessible=True),
    )
    advisory = report(items, {"database-private-encrypted": "advisory"})
    assert advisory.passed and [v.enforcement for v in advisory.verdicts] == ["advisory"]
    disabled = report(items, {"database-private-encrypted": {"enforcementLevel": "disabled"}})
    assert (
        disabled.verdicts == []
        and disabled.outcome("database-private-encrypted").not_applicable == "disabled by config"
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"monthly-cost-cap2": {}}, "policy config names unknown policies: monthly-cost-cap2"),
        (
            {"no-open-ingress": {"allowedPort": [22]}},
            "policy no-open-ingress: unknown config properties allowedPort",
        ),
    ],
)
def test_mistakes_are_named(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_config(POLICIES, config)


def test_example_files_resolve() -> None:
    for stack in ("dev", "prod"):
        resolved = resolve_config(POLICIES, ROOT_DIR / "policies" / f"{stack}.json")
        assert resolved["monthly-cost-cap"].properties["maxMonthlyUsd"] == {"dev": 200, "prod": 800}[stack]
