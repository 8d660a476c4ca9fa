"""The price book: provenance on every entry, overrides, and errors that name the key."""

from __future__ import annotations

import pytest

from docpipe.config import ConfigError
from docpipe.cost import PriceBookError, estimate, load_price_book
from docpipe.cost.pricebook import _book_entries


def test_every_price_has_value_unit_region_source_date_and_confirmed_flag() -> None:
    entries = _book_entries()
    prices = [p for p in entries.values() if not p.assumption]
    assert len(prices) > 40
    for p in prices:
        assert p.unit and p.region and p.source and p.read, p.key
        assert isinstance(p.confirmed, bool)
    # The facts PRICING-SOURCES marks secondary are flagged, the first-hand ones are not.
    assert not entries["lambda.gbSecond.arm64"].confirmed
    assert entries["lambda.gbSecond.x86_64"].confirmed
    assert not entries["ec2.hour.t3.medium"].confirmed
    assert not entries["cloudrun.workerPool.vcpuSecond"].confirmed
    assert entries["nat.hour"].value == 0.045 and entries["nat.hour"].read == "2026-09-20"


def test_override_replaces_the_value_and_marks_it(stack) -> None:
    book = load_price_book({"lambda.gbSecond.arm64": 0.00002})
    assert book.get("lambda.gbSecond.arm64") == 0.00002
    assert book.entries["lambda.gbSecond.arm64"].overridden
    # The stack states the price: it is no longer listed as unconfirmed.
    assert book.entries["lambda.gbSecond.arm64"].confirmed


def test_stack_prices_change_the_estimate(stack) -> None:
    base = stack("dev")
    cheaper = stack("dev", 'prices={"nat.hour": 0.0}')
    delta = estimate(base).total_monthly_usd - estimate(cheaper).total_monthly_usd
    assert delta == pytest.approx(730 * 0.045)  # the NAT gateway's hours


def test_unknown_override_key_names_it_with_did_you_mean() -> None:
    with pytest.raises(PriceBookError) as err:
        load_price_book({"lambda.gbSecond.arm46": 0.1})
    assert "docpipe:prices.lambda.gbSecond.arm46" in str(err.value)
    assert "did you mean 'lambda.gbSecond.arm64'" in str(err.value)


def test_an_instance_type_missing_from_the_book_names_the_key_to_set(stack) -> None:
    # Config validation refuses a type it cannot price (before any resource or estimate)...
    with pytest.raises(ConfigError) as err:
        stack("dev", "activities.storage.target=ec2", "activities.storage.ec2.instanceType=m7g.large")
    assert "activities.storage.ec2.instanceType: 'm7g.large' cannot be priced" in str(err.value)
    assert "docpipe:prices.ec2.hour.m7g.large" in str(err.value)
    # ...and a per-type override in the stack prices it.
    config = stack(
        "dev",
        "activities.storage.target=ec2",
        "activities.storage.ec2.instanceType=m7g.large",
        "prices.ec2.hour.m7g.large=0.0816",
    )
    est = estimate(config)
    assert est.component("storage (ec2)").usd == pytest.approx(730 * (0.0816 + 0.005) + 20 * 0.08)
    # The estimator still names the key when a caller's config bypassed validation.
    with pytest.raises(PriceBookError) as missing:
        estimate(config.model_copy(update={"prices": {}}))
    assert "'ec2.hour.m7g.large'" in str(missing.value)
    assert "activities.storage.ec2.instanceType m7g.large" in str(missing.value)


def test_estimate_lists_exactly_the_unconfirmed_prices_it_used(stack) -> None:
    est = estimate(stack("dev"))
    keys = {p.key for p in est.unconfirmed}
    assert "lambda.gbSecond.arm64" in keys
    assert "unstructured.page" not in keys  # dev uses the local extraction backend
    for c in est.components:
        assert set(c.unconfirmed) <= keys
    assert est.component("storage (lambda)").unconfirmed == ("lambda.gbSecond.arm64",)
    assert est.component("NAT gateway").unconfirmed == ()
