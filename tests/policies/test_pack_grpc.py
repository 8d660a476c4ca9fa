"""(d) The real pack, started as the CLI starts it and driven over gRPC, gives the in-process verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format
from pack_client import analyze, configure, running_pack
from policy_helpers import WARM, edit, resources

from policies.pack import POLICIES
from policies.runner import StackResource, evaluate, with_urns

CONFIG_DIR = Path(__file__).resolve().parents[2] / "policies"


def _verdicts_in_process(
    items: list[StackResource], config: dict[str, object], stack: str
) -> set[tuple[str, str, str, str]]:
    report = evaluate(POLICIES, items, config, stack=stack)
    return {(v.policy, v.enforcement, v.message, v.urn or "") for v in report.verdicts}


@pytest.fixture(scope="module")
def pack():  # type: ignore[no-untyped-def]
    with running_pack() as stub:
        yield stub


def test_pack_describes_every_policy_with_schema_defaults(pack) -> None:  # type: ignore[no-untyped-def]
    info = configure(pack, {})
    assert info.name == "docpipe"
    assert [p.name for p in info.policies] == [p.name for p in POLICIES]
    for p in info.policies:
        assert p.description and p.remediation_steps, p.name
        schema = json_format.MessageToDict(p.configSchema.properties)
        assert schema and all("default" in spec for spec in schema.values()), p.name


def test_prod_stack_verdicts_match_in_process(pack) -> None:  # type: ignore[no-untyped-def]
    config = json.loads((CONFIG_DIR / "prod.json").read_text())
    items = with_urns(resources("prod"), "prod")
    info = configure(pack, config)
    over_grpc = {(d.policy, d.enforcement, d.message, d.urn) for d in analyze(pack, info, items)}
    assert over_grpc == _verdicts_in_process(items, config, "prod")
    assert over_grpc == set()  # the prod stack complies


def test_non_compliant_prod_variant_matches_in_process(pack) -> None:  # type: ignore[no-untyped-def]
    config = json.loads((CONFIG_DIR / "prod.json").read_text())
    items = resources("prod", *WARM)
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
    items = with_urns(items, "prod")
    info = configure(pack, config)
    over_grpc = {(d.policy, d.enforcement, d.message, d.urn) for d in analyze(pack, info, items)}
    expected = _verdicts_in_process(items, config, "prod")
    assert over_grpc == expected
    assert {p for p, *_ in over_grpc} == {
        "serverless-scales-to-zero",
        "database-private-encrypted",
        "lambda-timeout-fits-activity",
        "no-plaintext-secrets",
    }
