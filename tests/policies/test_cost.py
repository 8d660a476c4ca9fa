"""Cost policies: priced by the project's cost model from the deployed resources + policy config."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policy_helpers import EC2, LAMBDA, ROOT_DIR, edit, messages, resources

from docpipe.cost import estimate
from docpipe.plan import build_plan
from docpipe.stackfile import load_stack
from policies.cost import cost_input, stack_estimate
from policies.runner import StackResource, policy_resources, with_urns
from workers.contract import ROLES

CONFIG_DIR = ROOT_DIR / "policies"


def _config(stack: str) -> dict[str, Any]:
    return json.loads((CONFIG_DIR / f"{stack}.json").read_text())


def _views(items: list[StackResource], stack: str):  # type: ignore[no-untyped-def]
    return policy_resources(with_urns(items, stack))


def _traffic(stack: str) -> dict[str, Any]:
    config, _ = load_stack(stack, ROOT_DIR, placeholder_secrets=True)
    return config.traffic.model_dump(by_alias=True)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_reconstructed_input_prices_like_the_stack_config(stack: str) -> None:
    """The estimate from the deployed resources equals the cost model's estimate of the stack file."""
    config, _ = load_stack(stack, ROOT_DIR, placeholder_secrets=True)
    expected = estimate(config)
    rebuilt = cost_input(_views(resources(stack), stack), _traffic(stack))
    got = estimate(rebuilt)
    planned = build_plan(config)  # sizing as deployed: the plan's choices (Cloud Run's scaler) made
    for role in ROLES:
        mine, theirs = rebuilt.activities[role], config.activities[role]
        assert (mine.target, mine.activity_timeout_seconds, mine.sizing().model_dump()) == (
            theirs.target,
            theirs.activity_timeout_seconds,
            planned[role].sizing.model_dump(),
        )
    assert rebuilt.backends.extraction.kind == config.backends.extraction.kind
    for section in ("extraction", "analysis", "enrichment"):
        assert getattr(rebuilt.backends, section).kind == getattr(config.backends, section).kind
    assert rebuilt.backends.analysis.model_id == config.backends.analysis.model_id
    assert got.total_monthly_usd == pytest.approx(expected.total_monthly_usd)
    assert [b.usd_per_hour for b in got.bursts] == pytest.approx([b.usd_per_hour for b in expected.bursts])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_policy_config_traffic_matches_the_stack_file(stack: str) -> None:
    monthly = _config(stack)["monthly-cost-cap"]
    traffic = _traffic(stack)
    for key in ("filesPerDay", "enrichmentRate", "pagesPerFile", "profile", "minutesPerFile"):
        assert monthly[key] == traffic[key], key


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_is_within_its_monthly_cap(stack: str) -> None:
    assert (
        messages("monthly-cost-cap", resources(stack), _config(stack)["monthly-cost-cap"], stack=stack) == []
    )


def test_over_the_cap_names_estimate_cap_and_three_drivers() -> None:
    config = {**_config("prod")["monthly-cost-cap"], "maxMonthlyUsd": 500}
    found = messages("monthly-cost-cap", resources("prod"), config, stack="prod")
    est = stack_estimate(_views(resources("prod"), "prod"), config)
    top = est.top_drivers(3)
    assert found == [
        f"estimated monthly cost {est.total_monthly_usd:,.2f} USD is over the cap of 500.00 USD "
        f"(maxMonthlyUsd) at 100 files/day; biggest cost drivers: 1. {top[0].name} {top[0].usd:,.2f} USD; "
        f"2. {top[1].name} {top[1].usd:,.2f} USD; 3. {top[2].name} {top[2].usd:,.2f} USD"
    ]
    assert top[0].name == "Unstructured API"


def test_defaults_price_ten_files_a_day_under_250_usd() -> None:
    # Without config the schema defaults apply: the dev traffic profile and a 250 USD cap.
    assert messages("monthly-cost-cap", resources("prod")) == []
    assert messages("monthly-cost-cap", resources("prod"), {"filesPerDay": 100}) != []


def test_traffic_and_price_overrides_move_the_estimate() -> None:
    base = _config("prod")["monthly-cost-cap"]
    busier = messages("monthly-cost-cap", resources("prod"), {**base, "filesPerDay": 150}, stack="prod")
    assert len(busier) == 1 and "at 150 files/day" in busier[0]
    cheap_pages = {**base, "filesPerDay": 150, "prices": {"unstructured.page": 0.001}}
    assert messages("monthly-cost-cap", resources("prod"), cheap_pages, stack="prod") == []


def test_unknown_price_key_is_reported() -> None:
    found = messages("monthly-cost-cap", resources("dev"), {"prices": {"lambda.gbSecnd.arm64": 1.0}})
    assert (
        len(found) == 1
        and found[0].startswith("cannot price the stack:")
        and "lambda.gbSecnd.arm64" in found[0]
    )


def test_placement_without_props_cannot_be_priced() -> None:
    items = edit(resources("dev"), lambda r: r.name == "storage-lambda", lambda p: p.clear())
    assert messages("monthly-cost-cap", items) == [
        "cannot price the stack: placement components without role/target/sizing: 'storage-lambda'; roles "
        "without a placement: storage"
    ]


def test_placement_props_may_be_nested_under_placement() -> None:
    def nest(p: dict[str, Any]) -> None:
        inner = dict(p)
        p.clear()
        p["placement"] = inner
        p["functionName"] = "storage-fn"

    items = edit(resources("dev"), lambda r: r.name == "storage-lambda", nest)
    assert messages("monthly-cost-cap", items) == []


def test_cost_policies_do_not_apply_without_placements() -> None:
    from policy_helpers import report

    items = [r for r in resources("dev") if not r.type.startswith("docpipe:placement:")]
    outcome = report(items).outcome("monthly-cost-cap")
    assert outcome.passed and outcome.not_applicable == "no docpipe placement components in this stack"


# --- burst ------------------------------------------------------------------------------------


def test_cloud_run_burst_over_cap_suggests_max_instances() -> None:
    found = messages(
        "burst-cost-cap", resources("prod"), {"maxHourlyUsdPerRole": 100, "roleCaps": {"extraction": 0.1}}
    )
    assert len(found) == 1
    assert found[0].startswith("role extraction (cloudrun) can spend 0.24 USD an hour at full scale (3 ")
    assert found[0].endswith(
        "over the cap of 0.10 USD an hour; lower docpipe:activities.extraction.cloudrun.maxInstances to "
        "at most 1"
    )


def test_ec2_burst_over_cap_suggests_max_size() -> None:
    items = resources("prod", *EC2)
    found = messages("burst-cost-cap", items, {"maxHourlyUsdPerRole": 100, "roleCaps": {"extraction": 0.1}})
    assert len(found) == 1 and "role extraction (ec2)" in found[0] and "6 (maxSize)" in found[0]
    assert found[0].endswith("lower docpipe:activities.extraction.ec2.maxSize to at most 2")


def test_unreserved_lambda_is_priced_at_account_concurrency() -> None:
    # Flipped to Lambda, extraction has no reserved concurrency: the whole account's may burst.
    found = [m for m in messages("burst-cost-cap", resources("dev", *LAMBDA)) if "extraction" in m]
    assert len(found) == 1
    assert found[0].startswith(
        "role extraction (lambda) can spend 96.00 USD an hour at full scale (1000 concurrent"
    )
    assert found[0].endswith(
        "set docpipe:activities.extraction.lambda.reservedConcurrency (none is set, so the account's "
        "concurrency applies); at most 104 fits the cap"
    )


def test_reserved_concurrency_bounds_the_lambda_burst() -> None:
    items = resources("dev", *LAMBDA)
    found = [m for m in messages("burst-cost-cap", items, {"maxHourlyUsdPerRole": 0.5}) if "enrichment" in m]
    assert len(found) == 1 and "50 concurrent" in found[0]
    assert found[0].endswith("lower docpipe:activities.enrichment.lambda.reservedConcurrency to at most 20")


def test_burst_caps_default_and_per_role() -> None:
    items = resources("prod")
    assert messages("burst-cost-cap", items) == []  # default cap 10 USD an hour
    assert len(messages("burst-cost-cap", items, {"maxHourlyUsdPerRole": 0.05})) == 5
    relaxed = {
        "maxHourlyUsdPerRole": 0.05,
        "roleCaps": dict.fromkeys(("workflow", "extraction", "analysis", "enrichment", "storage"), 1),
    }
    assert messages("burst-cost-cap", items, relaxed) == []
