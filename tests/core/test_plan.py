"""PlacementPlan derivation: targets, queues, needs, VPC attachment, NAT."""

from __future__ import annotations

from pathlib import Path

import pytest

from docpipe.plan import build_plan
from docpipe.stackfile import load_stack
from workers.contract import ROLES, task_queue

ROOT = Path(__file__).resolve().parents[2]


def plan(*overrides: str, stack: str = "dev"):  # type: ignore[no-untyped-def]
    config, _ = load_stack(stack, ROOT, overrides, placeholder_secrets=True)
    return build_plan(config)


def test_dev_plan_follows_low_tier() -> None:
    p = plan()
    assert {r.role: r.target for r in p} == {
        "workflow": "lambda",
        "extraction": "cloudrun",
        "analysis": "cloudrun",
        "enrichment": "lambda",
        "storage": "lambda",
    }
    assert p["extraction"].sizing.max_instances == 1
    assert p.uses_gcp


def test_queues_never_depend_on_target() -> None:
    for target in ("ec2", "cloudrun", "lambda"):
        p = plan(f"activities.extraction.target={target}")
        assert p["extraction"].task_queue == task_queue("extraction")
        assert p["extraction"].deployment_name == "docpipe-dev-extraction"


def test_storage_on_lambda_is_vpc_attached_and_needs_nat_with_temporal_cloud() -> None:
    p = plan()
    storage = p["storage"]
    assert storage.vpc_attached and "database" in storage.needs
    assert storage.needs_nat and p.needs_nat
    # With the NAT gateway there anyway, enrichment's Lambda joins the VPC for the cache (and its
    # sandbox cap); the workflow's Lambda, which caches nothing, stays out.
    assert p["enrichment"].vpc_attached and p["enrichment"].joined_vpc_for_cache
    assert p["enrichment"].uses_cache and "cache" in p["enrichment"].needs
    assert not p["workflow"].vpc_attached


def test_without_a_nat_gateway_a_lambda_stays_out_and_the_plan_says_why() -> None:
    p = plan("activities.storage.target=ec2")
    assert not p.needs_nat
    enrichment = p["enrichment"]
    assert not enrichment.vpc_attached and not enrichment.uses_cache
    assert "no cache" in enrichment.cache_note and "NAT gateway" in enrichment.cache_note
    # What caps its sandboxes instead: the per-worker limit times the Lambda's worker bound.
    assert "maxConcurrentSandboxes" in enrichment.cache_note
    assert "activities.enrichment.lambda.reservedConcurrency" in enrichment.cache_note


def test_every_role_says_whether_it_reaches_the_cache() -> None:
    p = plan()
    notes = {r.role: r.to_dict()["cacheNote"] for r in p}
    assert notes["enrichment"].startswith("reaches Valkey")
    assert "a Valkey semaphore" in notes["enrichment"]
    # Cloud Run: no private path to the VPC; capped by its instances instead.
    assert "no private path to the AWS VPC" in notes["analysis"]
    assert "activities.analysis.cloudrun.maxInstances" in notes["analysis"]
    assert "maxConcurrentCalls" in notes["analysis"]
    assert notes["workflow"].startswith("no cached work") and notes["storage"].startswith("no cached work")
    on_ec2 = plan("activities.extraction.target=ec2")["extraction"]
    assert on_ec2.uses_cache and not on_ec2.joined_vpc_for_cache
    assert on_ec2.cache_note == "reaches Valkey in the VPC: results cached by content hash"


def test_no_nat_when_storage_runs_on_ec2() -> None:
    p = plan("activities.storage.target=ec2")
    assert not p.needs_nat
    assert p["storage"].vpc_attached


def test_no_gcp_when_nothing_on_cloudrun() -> None:
    p = plan("tier=high")
    assert not p.uses_gcp
    assert p.targets == {"ec2", "lambda"}


def test_cache_only_where_reachable_inside_the_vpc() -> None:
    p = plan("activities.extraction.target=ec2")
    assert p["extraction"].uses_cache and "cache" in p["extraction"].needs
    assert not p["analysis"].uses_cache  # Cloud Run is outside the VPC
    assert "cache" not in p["analysis"].needs


@pytest.mark.parametrize("role", ROLES)
def test_secrets_follow_backends(role: str) -> None:
    p = plan(stack="prod")
    expected = {"extraction": ("unstructuredApiKey",), "enrichment": ("e2bApiKey",)}.get(role, ())
    assert p[role].secrets == expected  # type: ignore[index]


def test_plan_to_dict_is_complete() -> None:
    d = plan().to_dict()
    assert set(d["roles"]) == set(ROLES)
    assert d["roles"]["storage"]["needsNat"] is True
    assert d["roles"]["extraction"]["sizing"]["maxInstances"] == 1
