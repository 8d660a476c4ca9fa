"""The seed analysis's three scenarios, recomputed.

The seed priced 10, 100 and 500 files/day at 5, 7.5 and 10 minutes per file. Its tables do not
follow from its own formulas, and its formulas bill serverless workers by run time, which a Temporal
Serverless Worker is not. Each figure below is written with its arithmetic.
"""

from __future__ import annotations

import pytest

from docpipe.cost import estimate, load_price_book
from docpipe.cost.estimate import price_book_for
from docpipe.cost.placements import models, right_size, with_targets
from tests.cost.conftest import HIGH_SETS

SCENARIOS = {  # files/day, minutes per file, the seed's Lambda and Cloud Run figures
    "low": (10, 5.0, 8, 12),
    "medium": (100, 7.5, 75, 108),
    "high": (500, 10.0, 250, 360),
}


@pytest.mark.parametrize(
    ("scenario", "lambda_usd", "cloudrun_usd"),
    [
        # 10 × 30 × 300 s = 90,000 GB-s (1 GB) × 0.0000166667 = 1.50;  × 0.000024 /vCPU-s = 2.16
        ("low", 1.50, 2.16),
        # 100 × 30 × 450 s = 1,350,000 GB-s × 0.0000166667 = 22.50;  × 0.000024 = 32.40
        ("medium", 22.50, 32.40),
        # 500 × 30 × 600 s = 9,000,000 GB-s × 0.0000166667 = 150.00;  × 0.000024 = 216.00
        ("high", 150.00, 216.00),
    ],
)
def test_the_seeds_own_formulas_done_right(scenario: str, lambda_usd: float, cloudrun_usd: float) -> None:
    book = load_price_book()
    files, minutes, seed_lambda, seed_cloudrun = SCENARIOS[scenario]
    seconds = files * 30 * minutes * 60
    assert seconds * 1.0 * book.get("lambda.gbSecond.x86_64") == pytest.approx(lambda_usd, abs=0.01)
    assert seconds * book.get("cloudrun.request.vcpuSecond") == pytest.approx(cloudrun_usd, abs=0.01)
    # ...which is not what the seed's tables say.
    assert abs(seed_lambda - lambda_usd) > 0.5 and abs(seed_cloudrun - cloudrun_usd) > 0.5


def test_the_seeds_reserved_vms_and_e2b() -> None:
    book = load_price_book()
    # 3 × t3.medium always on: 3 × 720 h × 0.0416 = 89.86 (the seed's 90 holds)
    assert 3 * 720 * book.get("ec2.hour.t3.medium") == pytest.approx(89.856)
    # E2B: the seed's 0.30 USD/minute is 165× the price: 60 s × (2 vCPU × 0.000014 + 0.5 GiB × 0.0000045)
    per_minute = 60 * (2 * book.get("e2b.vcpuSecond") + 0.5 * book.get("e2b.gibSecond"))
    assert per_minute == pytest.approx(0.001815)
    assert 0.30 / per_minute > 150


def _models(config):
    book = price_book_for(config)
    return {name: estimate(right_size(with_targets(config, t), book)) for name, t in models().items()}


def test_low_scenario_as_docpipe_prices_it(stack) -> None:
    models = _models(stack("dev"))
    # all-EC2 compute: t4g.micro 11.382 (workflow) + t4g.medium 29.778 + t4g.small 17.514 + t4g.micro
    # 11.382 + t4g.nano 8.316 (each = 730 h × (price + 0.005 public IPv4) + 20 GB × 0.08) = 78.372
    assert models["all-ec2"].by_category("compute") == pytest.approx(78.372)
    # The seed's hybrid: Lambda storage needs the database (VPC) and Temporal Cloud (internet) → a NAT
    # gateway, which enrichment's Lambda then joins for the cache: 730 × (0.045 + 0.005 Elastic IP) +
    # (304.17 + 91.25 tasks) × 5 MB = 1.93 GB × 0.045 = 36.59, more than all of its compute.
    hybrid = models["original-hybrid"]
    assert hybrid.component("NAT gateway").usd == pytest.approx(36.587, abs=0.001)
    # Its compute: Cloud Run extraction + analysis, each burst idling 300 s (scaleDownSeconds) — a
    # few dollars — and the Lambda roles' cents; all well under the NAT gateway.
    assert hybrid.by_category("compute") < 7
    # Lambda compute is bounded by one full-timeout invocation (and its INIT) per task (321.5 s × 0.5 GB
    # for each of enrichment's 91.25 tasks, etc.): ≤ 91.25 × 321.5 × 0.5 × 0.0000133334 + 91.25 × 0.2/1M
    tasks = 10 * 730 / 24 * 0.3
    assert hybrid.component("enrichment (lambda)").usd <= tasks * (321.5 * 0.5 * 0.0000133334 + 0.2e-6)
    # Temporal Cloud's Essentials minimum (100) dwarfs the seed's "Temporal Server: $25 (Cloud)".
    assert hybrid.component("temporal (Cloud, Essentials)").usd == pytest.approx(100, abs=0.01)


def test_medium_scenario_as_docpipe_prices_it(stack) -> None:
    config = stack("prod")
    est = estimate(config)
    # The stack's total: compute 55.80 (Cloud Run roles scaled by CREMA) + baseline 162.31 (Valkey
    # serverless 6.13, the NAT gateway with its Elastic IP 37.37, the CREMA service + scheduler 2.44,
    # secrets, logs, images and the starter included) + external 503.89 — the Unstructured API
    # (3,041.7 files × 5 pages × 0.03 = 456.25) is the largest line, not the workers (seed: "$50").
    assert est.top_drivers(1)[0].name == "Unstructured API"
    assert est.total_monthly_usd == pytest.approx(721.99, abs=0.05)
    models = _models(config)
    assert models["all-ec2"].by_category("compute") == pytest.approx(78.372)  # same fleet carries 100/day


def test_high_scenario_as_docpipe_prices_it(stack) -> None:
    models = _models(stack("prod", *HIGH_SETS))
    # 500/day: extraction load ρ = 500 × 210 s / 86,400 = 1.22 tasks, × 1.8 diurnal peak ÷ (2 slots × 0.8)
    # → 2 × t4g.medium; analysis ρ = 1.56 → 2 × t4g.small. All-EC2 compute:
    # 11.382 + 2 × 29.778 + 2 × 17.514 + 11.382 + 8.316 = 125.664 (public IPv4 and 730 h included)
    assert models["all-ec2"].by_category("compute") == pytest.approx(125.664)
    # Serverless is 1.5–3× that at 500/day (the seed's conclusion holds, for a different reason: every
    # Lambda invocation is billed for its whole poll window — half the timeout, since the worker must
    # be able to finish the activity it holds — and every Cloud Run burst for its scale-down window).
    assert models["all-lambda"].by_category("compute") > 1.5 * 125.664
    assert models["all-cloudrun"].by_category("compute") > 2 * 125.664
