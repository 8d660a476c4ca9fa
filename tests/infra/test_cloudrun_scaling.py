"""Cloud Run pools under mocks: CREMA (the stacks' AWS-hosted namespace) or Temporal's scaler, a pool
per build, image by digest, secret versions and Google APIs before the resources that need them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from infra.crema import schedule
from infra.gcp_services import needed_services
from infra.offline import OfflineResult, Registered, unwrap
from workers.contract import Env

PRINCIPAL = "serviceAccount:wci@temporal-prod.iam.gserviceaccount.com"
# Temporal-scaled: a GCP-hosted namespace, no Lambda roles (they would need an AWS-hosted one).
TEMPORAL = [
    "temporal.cloudRegion=gcp-us-central1",
    f"temporal.cloudRunPrincipal={PRINCIPAL}",
    *[f"activities.{r}.target=ec2" for r in ("workflow", "enrichment", "storage")],
]


def _inputs(result: OfflineResult, name: str) -> dict[str, Any]:
    return unwrap(result.named(name).inputs)


def _depends_on(result: OfflineResult, res: Registered, name: str) -> bool:
    target = result.named(name)
    return target.urn in res.dependencies


def _crema_config(result: OfflineResult) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(_inputs(result, "crema-config-version")["parameterData"])
    return loaded


def test_crema_config_scales_each_pool_from_its_plan(prod: OfflineResult) -> None:
    doc = _crema_config(prod)
    assert doc["apiVersion"] == "crema/v1" and doc["kind"] == "CremaConfig"
    assert "pollingInterval" not in doc["spec"]  # Cloud Scheduler invokes it
    (auth,) = doc["spec"]["triggerAuthentications"]
    (secret,) = auth["spec"]["gcpSecretManager"]["secrets"]
    assert secret == {"parameter": "apiKey", "id": "docpipe-prod-temporal-api-key", "version": "latest"}
    objects = {o["metadata"]["name"]: o["spec"] for o in doc["spec"]["scaledObjects"]}
    for p in prod.plan.on("cloudrun"):
        pool = _inputs(prod, f"{p.role}-cloudrun-pool")["name"]
        spec = objects[pool]
        runtime = p.runtime()
        assert (
            spec["scaleTargetRef"]["name"]
            == f"projects/docpipe-prod-project/locations/us-central1/workerpools/{pool}"
        )
        assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (
            runtime["minInstances"],
            runtime["maxInstances"],
        )
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "temporal" and trigger["authenticationRef"] == {
            "name": auth["metadata"]["name"]
        }
        meta = trigger["metadata"]
        assert meta["endpoint"] == prod.outputs["temporalAddress"]
        assert meta["taskQueue"] == p.task_queue and meta["queueTypes"] == "activity"
        assert meta["workerDeploymentName"] == p.deployment_name
        assert meta["workerDeploymentBuildId"] == prod.plan.config.build_id
        assert meta["targetQueueSize"] == str(runtime["targetQueueSize"])
        assert meta["activationTargetQueueSize"] == "0"
        behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
        assert behavior["scaleDown"]["stabilizationWindowSeconds"] == runtime["scaleDownSeconds"]


def test_crema_service_account_has_only_its_grants(prod: OfflineResult) -> None:
    crema_member = "serviceAccount:dp-prod-crema@mock-project.iam.gserviceaccount.com"
    grants = sorted(
        (r.type.split("/")[-1].split(":")[0], _inputs(prod, r.name)["role"], r.name)
        for r in prod.resources
        if r.type.endswith(("IamMember", "IAMMember")) and _inputs(prod, r.name).get("member") == crema_member
    )
    assert [(kind, role) for kind, role, _ in grants] == [
        ("iAMMember", "roles/iam.serviceAccountUser"),  # on analysis' runtime account
        ("iAMMember", "roles/iam.serviceAccountUser"),  # on extraction's
        ("iAMMember", "roles/parametermanager.parameterViewer"),
        ("repositoryIamMember", "roles/artifactregistry.reader"),
        ("secretIamMember", "roles/secretmanager.secretAccessor"),
        ("workerPoolIamMember", "roles/run.developer"),
        ("workerPoolIamMember", "roles/run.developer"),
    ]
    viewer = _inputs(prod, "crema-reads-config")
    assert "/parameters/docpipe-prod-crema" in viewer["condition"]["expression"]
    assert _inputs(prod, "crema-reads-temporal-key")["secretId"] == "docpipe-prod-temporal-api-key"
    pools = {_inputs(prod, f"crema-resizes-{r}")["name"] for r in ("extraction", "analysis")}
    assert pools == {_inputs(prod, f"{r}-cloudrun-pool")["name"] for r in ("extraction", "analysis")}


def test_crema_service_and_scheduler(prod: OfflineResult) -> None:
    service = _inputs(prod, "crema-service")
    (container,) = service["template"]["containers"]
    assert container["image"] == prod.plan.config.gcp.crema_image  # type: ignore[union-attr]
    assert container["baseImageUri"].endswith("/runtimes/java25")
    envs = {e["name"]: e["value"] for e in container["envs"]}
    # The version's full name (the mock's parameter id stands in for projects/P/locations/global/…).
    version = _inputs(prod, "crema-config-version")
    assert envs["CREMA_CONFIG"] == f"{version['parameter']}/versions/{version['parameterVersionId']}"
    assert version["parameterVersionId"].startswith("v-")
    assert container["resources"]["cpuIdle"] is True  # request-based billing
    assert service["template"]["scaling"]["maxInstanceCount"] == 1  # one CREMA per pool
    job = _inputs(prod, "crema-schedule")
    assert job["schedule"] == "* * * * *"
    assert job["httpTarget"]["httpMethod"] == "POST"
    assert job["httpTarget"]["oidcToken"]["audience"] == job["httpTarget"]["uri"]
    invoker = _inputs(prod, "crema-invoker-can-invoke")
    assert invoker["role"] == "roles/run.invoker" and "crema-cron" in invoker["member"]
    assert schedule(300) == "*/5 * * * *"


def test_polling_interval_reaches_scheduler_and_cost(run: Callable[..., OfflineResult]) -> None:
    result = run("prod", ["gcp.cremaPollingSeconds=120"])
    assert _inputs(result, "crema-schedule")["schedule"] == "*/2 * * * *"
    assert result.plan["extraction"].runtime()["pollingSeconds"] == 120


def test_crema_pools_carry_no_compute_config(prod: OfflineResult) -> None:
    for role in ("extraction", "analysis"):
        assert not _inputs(prod, f"{role}-deployment-version").get("compute")
        assert not any(r.name.startswith(f"{role}-cloudrun-scaler") for r in prod.resources)


def test_temporal_scaler_grants_and_compute_config(run: Callable[..., OfflineResult]) -> None:
    result = run("prod", TEMPORAL)
    assert not any(r.name.startswith("crema") for r in result.resources)
    for p in result.plan.on("cloudrun"):
        role = p.role
        scaler_email = f"dp-prod-{role}-sc@mock-project.iam.gserviceaccount.com"
        token = _inputs(result, f"{role}-cloudrun-temporal-impersonates-scaler")
        assert token["role"] == "roles/iam.serviceAccountTokenCreator" and token["member"] == PRINCIPAL
        user = _inputs(result, f"{role}-cloudrun-scaler-acts-as-worker")
        assert (
            user["role"] == "roles/iam.serviceAccountUser"
            and user["member"] == f"serviceAccount:{scaler_email}"
        )
        compute = _inputs(result, f"{role}-deployment-version")["compute"]
        runtime = p.runtime()
        assert compute["provider"] == "gcp-cloud-run" and compute["serviceAccount"] == scaler_email
        for key in (
            "minInstances",
            "maxInstances",
            "initialInstances",
            "utilisationTarget",
            "scaleDownSeconds",
        ):
            assert compute[key] == runtime[key], key
    assert "iamcredentials.googleapis.com" in needed_services(result.plan)
    assert "parametermanager.googleapis.com" not in needed_services(result.plan)


def test_pool_per_build_by_digest_after_its_secret_versions(
    prod: OfflineResult, run: Callable[..., OfflineResult]
) -> None:
    pool = prod.named("extraction-cloudrun-pool")
    inputs = unwrap(pool.inputs)
    build = prod.plan.config.build_id
    assert inputs["name"].startswith("docpipe-prod-extraction-")
    image = inputs["template"]["containers"][0]["image"]
    assert "@sha256:" in image and ":" + build not in image.rsplit("/", 1)[1]
    for secret in ("temporal-api-key", "unstructured-api-key"):
        assert _depends_on(prod, pool, f"secrets-gcp-{secret}-value")
    assert _depends_on(prod, pool, "gcp-services-run")
    other = run("prod", ["imageTag=v2.0.1"])
    assert _inputs(other, "extraction-cloudrun-pool")["name"] != inputs["name"]
    # The Artifact Registry copy is re-tagged whenever the build's digest changes.
    tag = prod.named("worker-image-x86_64-ar-tag")
    assert unwrap(tag.inputs)["tagTriggers"]


def test_worker_sends_the_audience_the_trust_policy_checks(prod: OfflineResult) -> None:
    envs = _inputs(prod, "extraction-cloudrun-pool")["template"]["containers"][0]["envs"]
    plain = {e["name"]: e.get("value") for e in envs}
    trust = prod.named("extraction-cloudrun-aws-role")
    assert plain[Env.AWS_WEB_IDENTITY_AUDIENCE] == "100000000000000000001"  # the account's unique id
    assert "100000000000000000001" in str(unwrap(trust.inputs)["assumeRolePolicy"])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_google_apis_enabled_before_the_resources_that_need_them(
    stack: str, run: Callable[..., OfflineResult]
) -> None:
    result = run(stack)
    apis = {_inputs(result, r.name)["service"] for r in result.of_type("gcp:projects/service:Service")}
    assert apis == set(needed_services(result.plan))
    assert {"run.googleapis.com", "parametermanager.googleapis.com", "cloudscheduler.googleapis.com"} <= apis
    assert all(
        _inputs(result, r.name)["disableOnDestroy"] is False
        for r in result.of_type("gcp:projects/service:Service")
    )
    assert _depends_on(result, result.named("registry-artifact-registry"), "gcp-services-artifactregistry")
    assert _depends_on(result, result.named("crema-schedule"), "gcp-services-cloudscheduler")
    assert _depends_on(result, result.named("crema-config"), "gcp-services-parametermanager")


def test_flipping_cloud_run_roles_away_removes_crema(run: Callable[..., OfflineResult]) -> None:
    result = run("prod", ["activities.extraction.target=ec2", "activities.analysis.target=ec2"])
    assert not any(r.name.startswith(("crema", "gcp-services")) for r in result.resources)
