"""Every role × target flip of the prod stack changes only that role's resources.

Besides the role's own placement subtree, only the baseline parts whose need the plan says has
changed may appear or disappear — and each of those must then actually change:
the NAT gateway (`plan.needs_nat`), the GCP side (`plan.uses_gcp`), the GCP copies of secrets
(which secrets Cloud Run roles read) and the worker image builds (which CPU architectures the plan
needs). Valkey is in every stack, so no flip touches it. The one coupling between roles: when a flip
brings or removes the NAT gateway, the Lambda roles that join the VPC for the cache only where a NAT
gateway exists anyway (`docpipe.plan.settle`) change their inputs (VPC config, cache settings) —
and only those whose plan says they joined or left.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from docpipe.targets.cloudrun import uses_crema
from infra.baseline import gcp_secret_names, required_architectures
from infra.offline import OfflineResult, Registered
from workers.contract import ROLES

TARGETS = ("ec2", "cloudrun", "lambda")
NAT = {"network-nat-eip", "network-nat", "network-private-default"}
AR_PUSH = {"worker-image-x86_64-ar-tag", "worker-image-x86_64-ar-push"}
# Storage on Cloud Run needs PostgreSQL reachable from outside AWS (a config rule), so the storage
# flips compare against prod with that database setting.
PUBLIC_DB = {"docpipe:database": {"reachability": "public-tls", "allowedCidrs": ["203.0.113.0/24"]}}


def _top(result: OfflineResult, res: Registered) -> str:
    top = result.top_component(res)
    return top.name if top is not None else ""


def _classify(role: str, result: OfflineResult, res: Registered) -> str:
    top = _top(result, res)
    if top in {f"{role}-{t}" for t in TARGETS}:
        return "role"
    for other in ROLES:
        if other != role and top in {f"{other}-{t}" for t in TARGETS}:
            return f"vpc-join {other}"
    if top == "crema":  # the stack's CREMA (infra/crema.py): one grant pair per pool it scales
        return "crema"
    if res.name in NAT or res.type == "docpipe:baseline:Network":  # its props record needsNat
        return "nat"
    if res.type == "docpipe:baseline:Registries":  # its props record whether GCP is used
        return "gcp"
    if res.type.startswith("gcp:secretmanager/") and top == "secrets":
        return "gcp-secrets"
    if res.type.startswith("gcp:") or res.type == "pulumi:providers:gcp" or res.name in AR_PUSH:
        return "gcp"
    if top == "cache":
        return "cache"
    if top.startswith("worker-image-"):
        return "image"
    return f"other ({top or 'stack'})"


def _expected_baseline_changes(base: OfflineResult, flipped: OfflineResult) -> set[str]:
    expected = set()
    if base.plan.needs_nat != flipped.plan.needs_nat:
        expected.add("nat")
    if base.plan.uses_gcp != flipped.plan.uses_gcp:
        expected.add("gcp")
    elif gcp_secret_names(base.plan) != gcp_secret_names(flipped.plan):
        expected.add("gcp-secrets")
    for other in ROLES:
        if base.plan[other].target == flipped.plan[other].target and (  # type: ignore[index]
            base.plan[other].joined_vpc_for_cache != flipped.plan[other].joined_vpc_for_cache  # type: ignore[index]
        ):
            expected.add(f"vpc-join {other}")
    if [p.role for p in uses_crema(base.plan)] != [p.role for p in uses_crema(flipped.plan)]:
        expected.add("crema")
    if required_architectures(base.plan) != required_architectures(flipped.plan):
        expected.add("image")
    return expected


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("role", ROLES)
def test_flip_changes_only_that_role(role: str, target: str, run: Callable[..., OfflineResult]) -> None:
    overlay = PUBLIC_DB if role == "storage" else None
    prod = run("prod", overlay=overlay)
    flipped = run("prod", [f"activities.{role}.target={target}"], overlay=overlay)
    assert flipped.plan[role].target == target  # type: ignore[index]
    before = {r.key: r for r in prod.resources}
    after = {r.key: r for r in flipped.resources}
    added = [after[k] for k in set(after) - set(before)]
    removed = [before[k] for k in set(before) - set(after)]

    if prod.plan[role].target == target:  # type: ignore[index]
        assert (added, removed) == ([], [])
        return

    kinds = {_classify(role, flipped, r) for r in added} | {_classify(role, prod, r) for r in removed}
    expected = _expected_baseline_changes(prod, flipped)
    assert kinds - {"role"} <= expected and "role" in kinds
    # Every baseline part expected to come or go does (a role joining the VPC changes inputs only).
    assert {k for k in expected if not k.startswith("vpc-join")} <= kinds
    # The old placement went as a whole and the new one came as a whole.
    assert any(r.type.startswith("docpipe:placement:") and r.name == f"{role}-{target}" for r in added)
    old = f"{role}-{prod.plan[role].target}"  # type: ignore[index]
    assert any(r.type.startswith("docpipe:placement:") and r.name == old for r in removed)

    # Resources kept in both runs change inputs only if they are the role's own Worker Deployment
    # version (its compute config follows the target) or a baseline part named above.
    changed = {
        k
        for k in set(before) & set(after)
        if {n: v for n, v in before[k].inputs.items() if n != "__provider"}
        != {n: v for n, v in after[k].inputs.items() if n != "__provider"}
    }
    for key in changed:
        res = after[key]
        if res.name == f"{role}-deployment-version":
            continue
        assert _classify(role, flipped, res) in expected, f"{key} changed inputs"
    # A role whose plan says it joined or left the VPC did change.
    moved = {_classify(role, flipped, after[k]) for k in changed}
    assert {k for k in expected if k.startswith("vpc-join")} <= moved


def test_tier_high_moves_every_unpinned_role(run: Callable[..., OfflineResult]) -> None:
    high = run("prod", ["tier=high", "activities.analysis.target=cloudrun"])
    targets = {p.role: p.target for p in high.plan}
    assert targets == {
        "workflow": "lambda",
        "extraction": "ec2",
        "analysis": "cloudrun",  # pinned by the stack
        "enrichment": "lambda",
        "storage": "lambda",
    }
    names = {r.name for r in high.resources if r.type.startswith("docpipe:placement:")}
    assert names == {
        "workflow-lambda",
        "extraction-ec2",
        "analysis-cloudrun",
        "enrichment-lambda",
        "storage-lambda",
    }
