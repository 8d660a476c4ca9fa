"""Cloud Run's scaler: chosen by the namespace, every infeasible pair refused before any resource."""

from __future__ import annotations

import re

import pytest

from docpipe.config import ConfigError
from docpipe.cost import estimate
from docpipe.plan import build_plan
from docpipe.stackfile import config_from_flat, load_stack
from docpipe.targets.cloudrun import POOL_NAME_MAX, build_suffix, pool_name, scaler_choice
from tests.infra.conftest import stack_flat

GCP_NAMESPACE = ["temporal.cloudRegion=gcp-us-central1"]
PRINCIPAL = ["temporal.cloudRunPrincipal=serviceAccount:wci@temporal-prod.iam.gserviceaccount.com"]
# The GCP-hosted namespace cannot drive the stacks' Lambda roles: put them on EC2.
NO_LAMBDA = [f"activities.{r}.target=ec2" for r in ("workflow", "enrichment")] + [
    "activities.storage.target=ec2"
]


def _config(stack: str, sets: list[str], temporal: dict | None = None, gcp: dict | None = None):
    """The stack with `--set`s and structured values (lists, nulls) merged into temporal / gcp."""
    overlay = {k: v for k, v in (("docpipe:temporal", temporal), ("docpipe:gcp", gcp)) if v is not None}
    return config_from_flat(stack, stack_flat(stack, sets, overlay=overlay or None), check_secrets=False)


def _problems(
    stack: str, sets: list[str], temporal: dict | None = None, gcp: dict | None = None
) -> list[str]:
    with pytest.raises(ConfigError) as err:
        _config(stack, sets, temporal, gcp)
    return err.value.problems


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_presets_are_feasible_and_cloud_run_is_scaled_by_crema_on_an_aws_namespace(stack: str) -> None:
    config, _ = load_stack(stack, placeholder_secrets=True)
    plan = build_plan(config)
    on_cloudrun = plan.on("cloudrun")
    assert [p.role for p in on_cloudrun] == ["extraction", "analysis"]  # the seed's low/medium tiers
    for p in on_cloudrun:
        assert p.runtime()["scaler"] == "crema"
        assert "AWS-hosted" in (p.sizing.scaler_reason or "")  # type: ignore[attr-defined]


def test_the_namespace_region_flips_the_default_scaler() -> None:
    """The hidden coupling: nothing under activities changes, yet the scaler does."""
    aws, _ = load_stack("prod", overrides=NO_LAMBDA, placeholder_secrets=True)
    gcp, _ = load_stack("prod", overrides=[*NO_LAMBDA, *GCP_NAMESPACE, *PRINCIPAL], placeholder_secrets=True)
    assert aws.activities.extraction == gcp.activities.extraction
    assert scaler_choice(aws, "extraction")[0] == "crema"
    assert scaler_choice(gcp, "extraction")[0] == "temporal"
    gcp_plan = build_plan(gcp)
    assert gcp_plan["extraction"].runtime()["initialInstances"] == 0
    assert "pollingSeconds" not in gcp_plan["extraction"].runtime()
    # …and the cost follows: no CREMA line, Temporal's utilisation target, no poll in the tail.
    names = {c.name for c in estimate(gcp).components}
    assert not any("CREMA" in n for n in names)
    assert any("CREMA" in c.name for c in estimate(aws).components)


def test_external_server_with_gcp_cloud_run_defaults_to_temporal() -> None:
    sets = ["temporal.mode=external", "temporal.address=temporal.example.com:7233", *PRINCIPAL]
    config = _config("prod", sets, temporal={"workerControllerProviders": ["aws-lambda", "gcp-cloud-run"]})
    scaler, why = scaler_choice(config, "analysis")
    assert scaler == "temporal" and "temporal.workerControllerProviders [aws-lambda, gcp-cloud-run]" in why


def test_scaler_temporal_on_an_aws_namespace_is_refused_naming_keys_rule_and_fix() -> None:
    (problem,) = [
        p for p in _problems("prod", ["activities.extraction.cloudrun.scaler=temporal", *PRINCIPAL])
    ]
    assert problem.startswith("docpipe:activities.extraction.cloudrun.scaler: temporal")
    assert "temporal.cloudRegion aws-us-east-1" in problem
    assert "must match the serverless compute provider" in problem
    assert "set activities.extraction.cloudrun.scaler to crema" in problem


def test_a_lambda_role_on_a_gcp_namespace_is_refused() -> None:
    problems = _problems("prod", [*GCP_NAMESPACE, *PRINCIPAL])
    lambdas = [p for p in problems if "needs Temporal's worker controller to drive aws-lambda" in p]
    assert {re.search(r"activities\.(\w+)\.target", p).group(1) for p in lambdas} == {  # type: ignore[union-attr]
        "workflow",
        "enrichment",
        "storage",
    }
    assert all("gcp-us-central1 is a GCP-hosted" in p and "place" in p for p in lambdas)


def test_scaler_temporal_needs_temporals_principal() -> None:
    problems = _problems("prod", [*NO_LAMBDA, *GCP_NAMESPACE])
    assert [p.split(" because ")[0] for p in problems] == [
        "docpipe:temporal.cloudRunPrincipal: is required"
    ] * 2
    assert all("roles/iam.serviceAccountTokenCreator" in p for p in problems)


def test_crema_needs_its_image_said_once_with_how_to_build_it() -> None:
    problems = _problems("dev", [], gcp={"cremaImage": None})
    (problem,) = [p for p in problems if "cremaImage" in p]
    assert "cloud-run-oss-images/crema-v1/autoscaler" in problem and "gcloud builds submit" in problem


SELF_HOSTED = [
    "temporal.mode=self-hosted",
    *[f"activities.{r}.target=ec2" for r in ("extraction", "analysis")],
]


@pytest.mark.parametrize(
    ("sets", "temporal", "expected"),
    [
        ([], {"workerControllerProviders": ["gcp-cloud-run"]}, "cannot be set when temporal.mode is cloud"),
        (
            SELF_HOSTED,
            {"workerControllerProviders": ["aws-lambda", "gcp-cloud-run"]},
            "gcp-cloud-run is not supported with temporal.mode self-hosted",
        ),
        (
            SELF_HOSTED,
            {"workerControllerProviders": []},
            "activities.storage.target: lambda needs Temporal's",
        ),
        (["temporal.cloudRegion=azure-eastus"], None, "temporal.cloudRegion"),
        (["gcp.cremaPollingSeconds=90"], None, "whole number of minutes"),
        (["gcp.cremaPollingSeconds=30"], None, "gcp.cremaPollingSeconds"),
        (["activities.analysis.cloudrun.scaler=keda"], None, "choose one of temporal, crema"),
    ],
    ids=[
        "providers-on-cloud",
        "self-hosted-cloud-run",
        "self-hosted-no-lambda",
        "unknown-cloud",
        "poll-90",
        "poll-30",
        "bad-scaler",
    ],
)
def test_unsupported_pairs_and_values_are_refused(
    sets: list[str], temporal: dict | None, expected: str
) -> None:
    found = _problems("prod", sets, temporal)
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    ("build", "suffix"),
    [("latest", "latest"), ("v1.2.3", "v1-2-3-"), ("Build_42", "build-42-"), ("a" * 40, "aaaaaaaa-")],
)
def test_pool_names_carry_a_short_valid_build_suffix(build: str, suffix: str) -> None:
    got = build_suffix(build)
    assert got.startswith(suffix) and len(got) <= 15
    name = pool_name("a-very-long-stack-name-for-testing", "extraction", build)
    assert len(name) <= POOL_NAME_MAX and re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", name), name
    assert build_suffix(build) != build_suffix(build + "x")  # another build, another pool
