"""A hand-computed case for every estimator: the arithmetic is written out next to each expectation.

A month is 730 h = 2,628,000 s = 30.42 days (assume.hoursPerMonth): always-on lines are priced for
730 h and traffic per day arrives over 730 ÷ 24 days (10 files/day → 304.17 files a month).
"""

from __future__ import annotations

import math

import pytest

from docpipe.cost import estimate, load_price_book
from docpipe.cost.baseline import temporal_actions_usd
from docpipe.cost.placements import default_config, with_targets
from docpipe.targets.lambda_ import lambda_usage
from workers.contract import ROLES

H = 730  # hours in the month
T = H * 3600  # seconds in the month
D = H / 24  # days in the month
IP = 0.005  # USD per public IPv4 address-hour
INIT = 1.5  # assume.lambdaInitSeconds: billed INIT per invocation


def test_ec2_is_instance_hours_times_desired_plus_gp3() -> None:
    est = estimate(with_targets(default_config(10), dict.fromkeys(ROLES, "ec2")))
    # extraction: t4g.medium × 1 desired: 1 × 730 h × (0.0336 + 0.005 public IPv4) + 1 × 20 GB × 0.08
    assert est.component("extraction (ec2)").usd == pytest.approx(730 * (0.0336 + IP) + 20 * 0.08)  # 29.778
    # storage: t4g.nano: 730 × (0.0042 + 0.005) + 20 × 0.08 = 6.716 + 1.6
    assert est.component("storage (ec2)").usd == pytest.approx(8.316)


def test_ec2_desired_capacity_multiplies(stack) -> None:
    est = estimate(stack("prod", "tier=high"))
    # high tier: analysis on t4g.small × 2: 2 × 730 × (0.0168 + 0.005) + 2 × 20 × 0.08 = 31.828 + 3.2
    assert est.component("analysis (ec2)").usd == pytest.approx(35.028)
    assert "2 × 730 h × 0.0168 USD/h (t4g.small)" in est.component("analysis (ec2)").working
    assert "2 × 730 h × 0.005 USD/h public IPv4" in est.component("analysis (ec2)").working


def test_cloudrun_is_busy_time_at_the_utilisation_target_plus_the_scale_down_tail() -> None:
    est = estimate(default_config(10))  # medium preset: extraction on a 1 vCPU / 2 GiB worker pool
    # On Temporal Cloud's default aws-us-east-1 namespace CREMA scales the pool, with what the deployed
    # CremaConfig says: targetQueueSize floor(1 vCPU × 0.75) → 1 task per instance (utilisation 1), and
    # the last instance stops on the first 60 s poll after the 300 s stabilisation window (+30 s on
    # average): 304.17 tasks × 90 s = 27,375 busy s; idle while scaling down:
    # T × (e^(−λ·90) − e^(−λ·(90+330))) with λ = 304.17 / T → 97,462 s
    lam = 10 * D / T
    idle = T * (math.exp(-lam * 90) - math.exp(-lam * 420))
    assert idle == pytest.approx(97_462, abs=1)
    expected = (27_375 / 1 + idle) * (1 * 0.000018 + 2 * 0.000002)  # 124,837 inst-s × 0.000022
    assert est.component("extraction (cloudrun)").usd == pytest.approx(expected)
    assert expected == pytest.approx(2.7464, abs=1e-4)
    working = est.component("extraction (cloudrun)").working
    assert "targetQueueSize 1 ÷ 1 vCPU" in working
    assert "≤330 s = 300 scaleDownSeconds + ½ × 60 s pollingSeconds" in working


def test_cloudrun_scaler_settings_are_config_keys_and_priced() -> None:
    base = default_config(10)
    activity = base.activities.extraction
    quick = activity.with_sizing(
        "cloudrun", activity.sizing_for("cloudrun").model_copy(update={"scale_down_seconds": 90})
    )
    faster = base.model_copy(update={"activities": base.activities.model_copy(update={"extraction": quick})})
    assert (
        estimate(faster).component("extraction (cloudrun)").usd
        < estimate(base).component("extraction (cloudrun)").usd
    )


def test_cloudrun_min_instances_are_always_on(stack) -> None:
    est = estimate(stack("dev", "activities.analysis.cloudrun.minInstances=1"))
    # max(1 × T, busy ÷ 1 (CREMA: targetQueueSize 1 per vCPU) + time with nothing running):
    # 304.17 × 150 s = 45,625 + T × e^(−304.17/T × 150) = 2,582,768 → 2,628,393 inst-s, a hair over
    # what dev's maxInstances 1 can run in the month (T): billed T × (1 vCPU × 0.000018 + 1 GiB ×
    # 0.000002) = 52.56, one always-on instance.
    idle = T * math.exp(-10 * D / T * 150)
    assert 10 * D * 150 + idle > T
    assert est.component("analysis (cloudrun)").usd == pytest.approx(T * 0.00002)
    assert "capped at 1 maxInstances" in est.component("analysis (cloudrun)").working
    roomier = estimate(
        stack(
            "dev",
            "activities.analysis.cloudrun.minInstances=1",
            "activities.analysis.cloudrun.maxInstances=2",
        )
    )
    assert roomier.component("analysis (cloudrun)").usd == pytest.approx((10 * D * 150 + idle) * 0.00002)
    never_below = estimate(
        stack(
            "dev",
            "activities.analysis.cloudrun.minInstances=3",
            "activities.analysis.cloudrun.maxInstances=3",
        )
    )
    assert never_below.component("analysis (cloudrun)").usd == pytest.approx(3 * T * 0.00002)


def test_lambda_bills_every_invocation_for_its_poll_window(stack) -> None:
    config = stack("dev")
    est = estimate(config)
    extra = est.meta["extra"]["workflow"]
    inv, billed = extra["invocations"], extra["billedSecondsPerInvocation"]
    # workflow: 304.17 files × 4.3 tasks = 1,308 tasks; λ = 1,308 / T. Temporal's timing rule for a
    # 10 s workflow task: graceful stop 12 s, deadline buffer 14 s, so a 30 s function polls for
    # P = 16 s and then returns (a 0.2 s task still running at P adds its remainder).
    assert 16 <= billed <= 16.1
    # At λP ≈ 0.008 almost every task opens its own invocation: tasks × (1 − λP) ≤ inv ≤ tasks.
    tasks = 10 * D * 4.3
    assert tasks * (1 - tasks / T * 16) <= inv <= tasks
    # inv × (billed + 1.5 s INIT) × 0.5 GB × 0.0000133334 (arm64) + inv × 0.20 / 1M
    assert est.component("workflow (lambda)").usd == pytest.approx(
        inv * ((billed + INIT) * 0.5 * 0.0000133334 + 0.2e-6)
    )


def test_lambda_cost_follows_the_poll_window_not_the_run_time(stack) -> None:
    base = estimate(stack("dev")).component("enrichment (lambda)").usd
    longer_run = estimate(stack("dev", "traffic.minutesPerFile.enrichment=4.0")).component(
        "enrichment (lambda)"
    )
    longer_timeout = estimate(stack("dev", "activities.enrichment.lambda.timeoutSeconds=900")).component(
        "enrichment (lambda)"
    )
    # Doubling the run time (120 → 240 s, still inside the 301 s poll window) barely moves the bill;
    # the longest timeout (605 → 900 s: poll window 301 → 596 s) nearly doubles it. Run-time billing
    # (the seed's) would be the reverse.
    assert longer_run.usd / base < 1.05
    assert 1.9 < longer_timeout.usd / base < 2.05


def test_lambda_capacity_limits() -> None:
    # Light load: one invocation per task.  λ = 10 / T, P = 301: invocations within λP of the tasks.
    light = lambda_usage(10, 60, T, 301)
    assert 10 * (1 - 10 / T * 301) <= light.invocations <= 10
    assert light.billed_seconds == pytest.approx(301, abs=0.1)  # nothing left running at P
    # Heavy load: back-to-back invocations, each busy most of its window: busy/P ≤ inv ≤ 2 × busy/P,
    # and most end while a task drains (billed beyond P, never beyond P + d).
    tasks, d = 100_000, 60
    heavy = lambda_usage(tasks, d, T, 301)
    assert tasks * d / 301 <= heavy.invocations <= 2 * tasks * d / 301
    assert 301 < heavy.billed_seconds <= 301 + d


def test_free_tier_is_off_by_default_and_covers_small_stacks(stack) -> None:
    config = stack("dev")
    plain, free = estimate(config), estimate(config, free_tier=True)
    assert not any(c.name == "Lambda free tier" for c in plain.components)
    lambdas = sum(c.usd for c in plain.components if c.target == "lambda")
    # dev's Lambda use is far below 400,000 GB-s and 1 M requests: the credit cancels it.
    assert free.component("Lambda free tier").usd == pytest.approx(-lambdas)
    assert free.total_monthly_usd == pytest.approx(plain.total_monthly_usd - lambdas)


def test_rds_single_and_multi_az(stack) -> None:
    single = estimate(stack("dev")).component("database (RDS PostgreSQL)").usd
    multi = estimate(stack("dev", "database.multiAz=true")).component("database (RDS PostgreSQL)").usd
    assert single == pytest.approx(730 * 0.016 + 20 * 0.115)  # 11.68 + 2.30 = 13.98
    assert multi == pytest.approx(2 * 13.98)


def test_valkey_serverless_minimum_and_node() -> None:
    config = with_targets(default_config(10), {"extraction": "ec2"})  # a role in the VPC uses the cache
    serverless = estimate(config).component("cache (Valkey serverless)").usd
    # 0.1 GB minimum × 730 h × 0.084 + 304.17 files × 50 ECPU × 0.0023 / 1M
    assert serverless == pytest.approx(0.1 * 730 * 0.084 + 10 * D * 50 * 0.0023 / 1e6)  # 6.132
    node_cfg = config.model_copy(update={"cache": config.cache.model_copy(update={"mode": "node"})})
    assert estimate(node_cfg).component("cache (Valkey node)").usd == pytest.approx(730 * 0.0128)  # 9.344
    # Valkey is in every stack, so it is priced even when no role in the VPC reaches it.
    alone = estimate(default_config(10)).component("cache (Valkey serverless)")
    assert alone.usd == pytest.approx(serverless)


def test_temporal_cloud_actions_storage_and_plan_minimum() -> None:
    est = estimate(default_config(10_000))
    # The default minutes (extraction 1.5, analysis 2.5, enrichment 2 at 30%, storage 0.4) heartbeat
    # (extraction, analysis, enrichment: every 5 s, 30 s timeout → one recorded per 0.8 × 30 = 24 s):
    # 1 + ⌊90/24⌋ = 4, 1 + ⌊150/24⌋ = 7, 0.3 × (1 + ⌊120/24⌋) = 1.8 → 12.8 heartbeats per file.
    files = 10_000 * D  # 304,166.7
    actions = files * (1 + 3.3 + 12.8)  # 5,201,250
    # 1,000,000 included → 4,201,250 × 50 / 1M = 210.06; active storage files × 50 KB × 5 min/60 h
    # × 0.042; retained files × 50 KB × 7 d × 24 h × 0.00105; plan max(100, 5% of usage) = 100.
    usage = (actions - 1e6) * 50 / 1e6 + files * 50e-6 * (5 / 60) * 0.042 + files * 50e-6 * 168 * 0.00105
    assert est.component("temporal (Cloud, Essentials)").usd == pytest.approx(usage + max(100, 0.05 * usage))


def test_temporal_action_bands() -> None:
    book = load_price_book()
    usd, _ = temporal_actions_usd(12e6, book)
    assert usd == pytest.approx(5 * 50 + 5 * 45 + 2 * 40)  # 555


def test_temporal_self_hosted_is_its_server(stack) -> None:
    est = estimate(
        stack(
            "dev",
            "temporal.mode=self-hosted",
            "backends.enrichment.kind=local-sandbox",  # a backend that needs no internet
            *[f"activities.{r}.target=lambda" for r in ("extraction", "analysis")],
        )
    )
    # t4g.small server (in a private subnet: no public IPv4): 730 × 0.0168 + 20 GB × 0.08 = 12.264 + 1.6
    assert est.component("temporal (self-hosted server)").usd == pytest.approx(13.864)
    # Every Lambda is now in the VPC, but with local backends nothing needs the internet: no NAT.
    assert not any(c.name == "NAT gateway" for c in est.components)


def test_nat_when_a_vpc_lambda_needs_the_internet(stack) -> None:
    est = estimate(stack("dev"))
    # storage is a VPC-attached Lambda (it needs the database) polling Temporal Cloud on the internet;
    # enrichment's Lambda then joins the VPC for the cache and its traffic takes the gateway too:
    # 730 h × (0.045 + 0.005 for its Elastic IP) + (304.17 storage + 91.25 enrichment tasks) × 5 MB
    # / 1024 = 1.9307 GB × 0.045
    nat = est.component("NAT gateway")
    assert nat.usd == pytest.approx(730 * (0.045 + IP) + 13 * D * 5 / 1024 * 0.045)  # 36.587
    assert any("also carries enrichment" in n for n in nat.notes)
    on_ec2 = estimate(stack("dev", "activities.storage.target=ec2"))
    assert not any(c.name == "NAT gateway" for c in on_ec2.components)  # EC2 workers use public IPs


def test_bucket(stack) -> None:
    est = estimate(stack("dev"))
    # 304.17 × 2 MB = 0.594 GB × 0.023 + 912.5 PUT × 0.005/1k + 1,825 GET × 0.0004/1k
    files = 10 * D
    expected = files * 2 / 1024 * 0.023 + files * 3e-3 * 0.005 + files * 6e-3 * 0.0004
    assert est.component("document bucket (S3)").usd == pytest.approx(expected)


def test_external_services_on_prod(stack) -> None:
    est = estimate(stack("prod"))
    files = 100 * D  # 3,041.7
    # E2B: 912.5 enrichments; the 180 s activity's sandbox lives at most its 150 s lifetime (120 s
    # backends.enrichment.timeoutSeconds + 30 s): × 150 s × (2 vCPU × 0.000014 + 0.5 GiB × 0.0000045)
    e2b = files * 0.3 * 150 * (2 * 0.000014 + 0.5 * 0.0000045)  # 4.1405
    assert est.component("E2B sandboxes").usd == pytest.approx(e2b)
    # Unstructured: 3,041.7 files × 5 pages × 0.03 = 456.25
    assert est.component("Unstructured API").usd == pytest.approx(456.25)
    # Bedrock Haiku 4.5 via the us.* profile (+10%): 3,041.7 × (8,000 × 1 + 1,000 × 5) / 1M × 1.1 = 43.49
    assert est.component("model tokens (bedrock)").usd == pytest.approx(files * 13e-3 * 1.1)
    # Offline backends cost nothing outside: dev has none of these lines but E2B (its cloud enrichment).
    names = {c.name for c in estimate(stack("dev")).components}
    assert names & {"E2B sandboxes", "Unstructured API", "model tokens (bedrock)"} == {"E2B sandboxes"}


def test_token_assumption_is_overridable(stack) -> None:
    est = estimate(stack("prod"), prices={"assume.analysisInputTokensPerFile": 16_000})
    # 3,041.7 × (16,000 × 1 + 1,000 × 5) / 1M × 1.1 = 70.26
    assert est.component("model tokens (bedrock)").usd == pytest.approx(100 * D * 21e-3 * 1.1)


def test_worst_case_burst_per_role(stack) -> None:
    est = estimate(stack("prod"))
    # extraction on Cloud Run: 3 max instances × 3,600 s × (1 vCPU × 0.000018 + 2 GiB × 0.000002)
    assert est.burst("extraction").usd_per_hour == pytest.approx(3 * 3600 * 0.000022)
    # enrichment on Lambda, reserved concurrency 4: 4 × 3,600 × 0.5 GB × 0.0000133334 + 4 × 3,600/billed
    # invocations an hour × 0.2/1M (billed ≈ the 301 s poll window)
    billed = est.meta["extra"]["enrichment"]["billedSecondsPerInvocation"]
    assert est.burst("enrichment").usd_per_hour == pytest.approx(
        4 * 3600 * 0.5 * 0.0000133334 + 4 * 3600 / billed * 0.2e-6
    )
    high = estimate(stack("prod", "tier=high"))
    # maxSize 4 × (t4g.medium + its public IPv4)
    assert high.burst("extraction").usd_per_hour == pytest.approx(4 * (0.0336 + IP))
