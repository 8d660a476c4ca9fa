"""(d) The real pack, started as the CLI starts it and driven over gRPC as the engine drives it, gives
the same verdicts as the policies called directly (a/b)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import json_format
from pack_client import Diagnostic, analyze, configure, engine_run, running_pack
from policy_helpers import ROOT_DIR, WARM, edit

from policies.pack import POLICIES
from policies.runner import StackResource, evaluate

CONFIG_DIR = ROOT_DIR / "policies"

Verdicts = set[tuple[str, str, str, str]]


def _in_process(items: list[StackResource], config: dict[str, Any], stack: str) -> Verdicts:
    report = evaluate(POLICIES, items, config, stack=stack)
    return {(v.policy, v.enforcement, v.message, v.urn or "") for v in report.verdicts}


def _over_grpc(diagnostics: list[Diagnostic]) -> Verdicts:
    return {(d.policy, d.enforcement, d.message, d.urn) for d in diagnostics}


@pytest.fixture(scope="module")
def pack():  # type: ignore[no-untyped-def]
    with running_pack() as stub:
        yield stub


@pytest.fixture(scope="module")
def prod_run() -> tuple[list[StackResource], dict[str, dict[str, Any]]]:
    return engine_run("prod")


def test_pack_describes_every_policy_with_schema_defaults(pack) -> None:  # type: ignore[no-untyped-def]
    info = configure(pack, {})
    assert info.name == "docpipe"
    assert [p.name for p in info.policies] == [p.name for p in POLICIES]
    for p in info.policies:
        assert p.description and p.remediation_steps, p.name
        schema = json_format.MessageToDict(p.configSchema.properties)
        assert schema and all("default" in spec for spec in schema.values()), p.name


def test_prod_stack_verdicts_match_in_process(pack, prod_run) -> None:  # type: ignore[no-untyped-def]
    items, outputs = prod_run
    config = json.loads((CONFIG_DIR / "prod.json").read_text())
    info = configure(pack, config)
    found = _over_grpc(analyze(pack, info, items, outputs))
    assert found == _in_process(items, config, "prod") == set()


def test_placement_components_register_their_placement(prod_run) -> None:  # type: ignore[no-untyped-def]
    # AnalyzeStack sees a component's registered outputs; the cost and timeout policies need these.
    items, outputs = prod_run
    components = [r for r in items if r.type.startswith("docpipe:placement:")]
    assert len(components) == 5
    for c in components:
        assert {"role", "target", "sizing"} <= set(outputs[c.urn]), c.name


def test_non_compliant_prod_variant_matches_in_process(pack, prod_run) -> None:  # type: ignore[no-untyped-def]
    items, outputs = prod_run
    items = edit(
        items, lambda r: r.type == "aws:rds/instance:Instance", lambda p: p.update(publiclyAccessible=True)
    )
    items = edit(
        items,
        lambda r: r.name == "enrichment-lambda-function",
        lambda p: (
            p.update(timeout=100.0) or p["environment"]["variables"].update(E2B_API_KEY="e2b_" + "a1" * 16)
        ),
    )
    config = {
        **json.loads((CONFIG_DIR / "prod.json").read_text()),
        "monthly-cost-cap": {"maxMonthlyUsd": 100},
    }
    info = configure(pack, config)
    # The edited resources' outputs follow their inputs, as a provider's would.
    edited = {r.urn: dict(r.inputs) for r in items if r.type != "docpipe:placement:Lambda"}
    found = _over_grpc(analyze(pack, info, items, {**outputs, **edited}))
    assert found == _in_process(items, config, "prod")
    assert {p for p, *_ in found} == {
        "monthly-cost-cap",
        "database-private-encrypted",
        "lambda-timeout-fits-activity",
        "no-plaintext-secrets",
    }


def test_warm_variant_over_grpc(pack) -> None:  # type: ignore[no-untyped-def]
    items, outputs = engine_run("prod", *WARM)
    config = json.loads((CONFIG_DIR / "prod.json").read_text())
    info = configure(pack, config)
    found = _over_grpc(analyze(pack, info, items, outputs))
    assert found == _in_process(items, config, "prod")
    assert {p for p, *_ in found} == {"serverless-scales-to-zero"}
