"""The hand check, kept: lines of both stacks and of one flip computed here from the price book's
figures written out by hand and each stack file's settings — formulas in the test, not the
estimator's — and compared with `docpipe cost` within 1%.

A month is 730 h; traffic per day arrives over 730 ÷ 24 = 30.42 days.
"""

from __future__ import annotations

import inspect
import math
from datetime import timedelta

import pytest

from docpipe.cost import estimate
from docpipe.cost.simulate import simulate

H = 730
T = H * 3600
D = H / 24
PROD_FILES = 100 * D  # 3,041.7 documents a month
DEV_FILES = 10 * D


def close(value: float, expected: float) -> None:
    assert value == pytest.approx(expected, rel=0.01)


def prod_heartbeats_per_file() -> float:
    # extraction 2.5 min, analysis 3.5, enrichment 3.0 for 30%: heartbeats every 5 s with a 30 s
    # timeout, recorded at most every 0.8 × 30 = 24 s, the first at once.
    return (1 + 150 // 24) + (1 + 210 // 24) + 0.3 * (1 + 180 // 24)  # 7 + 9 + 2.4 = 18.4


def test_the_sdk_throttles_heartbeats_as_the_hand_check_assumes() -> None:
    from temporalio.worker import Worker

    params = inspect.signature(Worker.__init__).parameters
    assert params["max_heartbeat_throttle_interval"].default == timedelta(seconds=60)
    assert "heartbeat timeout * 0.8" in " ".join((Worker.__init__.__doc__ or "").split())


def test_prod_lines_by_hand(stack) -> None:
    est = estimate(stack("prod"))
    # RDS db.t4g.micro single-AZ, 20 GB gp3.
    close(est.component("database (RDS PostgreSQL)").usd, 730 * 0.016 + 20 * 0.115)  # 13.98
    # NAT gateway for the VPC-attached storage Lambda (enrichment's joins): hours, its Elastic IP, and
    # 5 MB a task of both roles.
    nat = 730 * 0.045 + 730 * 0.005 + (PROD_FILES + 0.3 * PROD_FILES) * 5 / 1024 * 0.045
    close(est.component("NAT gateway").usd, nat)  # 37.37
    # E2B: enrichment's 180 s activity, but the sandbox lives at most 120 s + 30 s.
    close(est.component("E2B sandboxes").usd, 0.3 * PROD_FILES * 150 * (2 * 0.000014 + 0.5 * 0.0000045))
    # Unstructured, 5 pages at 0.03; Haiku 4.5 on Bedrock's us.* profile (+10%).
    close(est.component("Unstructured API").usd, PROD_FILES * 5 * 0.03)  # 456.25
    close(est.component("model tokens (bedrock)").usd, PROD_FILES * (8000 * 1 + 1000 * 5) / 1e6 * 1.1)
    # Secrets Manager: Unstructured, E2B and Temporal API keys, Valkey auth, the RDS master secret.
    close(est.component("secrets (Secrets Manager)").usd, 5 * 0.40)
    # CREMA: one 2 s, 1 vCPU / 1 GiB request a minute, plus its Cloud Scheduler job.
    calls = T / 60
    close(est.component("CREMA scaler (Cloud Run service + Cloud Scheduler)").usd,
          calls * 2 * (0.000024 + 0.0000025) + calls * 0.4 / 1e6 + 0.10)  # fmt: skip
    # Extraction on Cloud Run (CREMA: one task per instance): busy time plus the idle tail of the
    # M/G/∞ pool, d = 150 s, tail = 300 s + half the 60 s poll.
    lam, d, tail = PROD_FILES / T, 150, 330
    inst_s = PROD_FILES * d + T * (math.exp(-lam * d) - math.exp(-lam * (d + tail)))
    close(est.component("extraction (cloudrun)").usd, inst_s * (0.000018 + 2 * 0.000002))  # 25.47
    # Temporal Cloud: (1 start + 3.3 activities + 18.4 heartbeats) × files, far below the 1 M
    # included actions: the Essentials minimum, plus storage.
    actions = PROD_FILES * (1 + 3.3 + prod_heartbeats_per_file())
    assert actions == pytest.approx(69_046, abs=1)
    close(est.component("temporal (Cloud, Essentials)").usd, 100.03)


def test_prod_at_2000_files_a_day_pays_for_heartbeats(stack) -> None:
    est = estimate(stack("prod", "traffic.filesPerDay=2000"))
    files = 2000 * D
    actions = files * (1 + 3.3 + prod_heartbeats_per_file())  # 1,380,917: beyond the included million
    usage = (actions - 1e6) * 50 / 1e6  # 19.05 of actions
    usage += files * 50e-6 * ((2.5 + 3.5 + 0.6 + 0.3 * 3.0) / 60) * 0.042  # history of open workflows
    usage += files * 50e-6 * 7 * 24 * 0.00105  # retained 7 days
    close(est.component("temporal (Cloud, Essentials)").usd, usage + max(100, 0.05 * usage))


def test_dev_lines_by_hand(stack) -> None:
    est = estimate(stack("dev"))
    close(est.component("cache (Valkey serverless)").usd, 0.1 * 730 * 0.084 + DEV_FILES * 50 * 0.0023 / 1e6)
    nat = 730 * (0.045 + 0.005) + 1.3 * DEV_FILES * 5 / 1024 * 0.045
    close(est.component("NAT gateway").usd, nat)  # 36.59
    # The E2B key (enrichment in the cloud is E2B), the Temporal Cloud key, Valkey auth, the RDS secret.
    close(est.component("secrets (Secrets Manager)").usd, 4 * 0.40)
    # The starter: one 512 MB arm64 invocation an upload, 1 s plus 1.5 s INIT.
    close(est.component("starter (Lambda)").usd, DEV_FILES * (2.5 * 0.5 * 0.0000133334 + 0.2e-6))
    # ECR: arm64 (Lambda, starter) and x86_64 (Cloud Run) images of 0.4 GB; Artifact Registry's copy
    # fits its free 0.5 GB.
    close(est.component("image registries (ECR, Artifact Registry)").usd, 2 * 0.4 * 0.10)


def test_one_flip_by_hand(stack) -> None:
    flip = "activities.extraction.target=ec2"
    before, after = estimate(stack("prod")), estimate(stack("prod", flip))
    # t4g.medium always on, its 20 GB gp3 volume and its public IPv4 address.
    ec2 = 730 * 0.0336 + 20 * 0.08 + 730 * 0.005  # 29.78
    close(after.component("extraction (ec2)").usd, ec2)
    # Nothing else moves but the logs extraction now writes to CloudWatch (2 KB a task).
    logs = PROD_FILES * 2e-6 * (0.50 + 0.03 * 30 / D)
    delta = ec2 - before.component("extraction (cloudrun)").usd + logs
    close(after.total_monthly_usd - before.total_monthly_usd, delta)


def test_simulated_prod_at_2000_files_a_day_bills_no_more_than_3_instances(stack) -> None:
    result = simulate(stack("prod", "traffic.filesPerDay=2000"), days=30, profile="diurnal", seed=1)
    for role, per_second in (("extraction", 0.000018 + 2 * 0.000002), ("analysis", 0.000018 + 0.000002)):
        cap = 3 * T * per_second  # 3 instances all month
        r = result.role(role)
        assert r.cost_usd <= cap * (1 + 1e-9)
        assert r.detail["instanceSeconds"] <= r.detail["capacitySeconds"] == pytest.approx(3 * T)
    assert result.backlog > 10_000 and result.backlog_oldest_seconds > 5 * 86400
    # Pages and tokens are billed for the documents extracted and analysed, not for those queued.
    closed = result.estimate
    closed_fixed = closed.total_monthly_usd - closed.by_category("compute")
    extracted = result.role("extraction").tasks - result.role("extraction").queued_at_end
    assert extracted < 0.9 * result.files
    assert result.fixed_monthly_usd < closed_fixed - 0.1 * closed.component("Unstructured API").usd
    assert result.cannot_keep_up and "cannot keep up with 2,000 files/day" in result.cannot_keep_up[0]
