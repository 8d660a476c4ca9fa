"""The Pulumi program under mocks: stack files, security properties, placements, outputs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.offline import OfflineResult, Registered, plain_strings, unwrap
from infra.placements import PLACEMENTS, placement_for
from workers.contract import ROLES, SEARCH_ATTRIBUTES, Env

STACKS = ("dev", "prod")

# Distinctive values: if any shows up outside a secret wrapper, a secret leaked into plain text.
SECRETS = {
    "docpipe:unstructuredApiKey": "SECRET-unstructured-7f3a91",
    "docpipe:e2bApiKey": "SECRET-e2b-c0ffee42",
}
MOCK_SECRET_OUTPUTS = ("mock-random-", "mock-temporal-api-key-token", "mock-ecr-password", "mock-gcp-token")


def _placements(result: OfflineResult) -> dict[str, Registered]:
    return {r.inputs["role"]: r for r in result.resources if r.type.startswith("docpipe:placement:")}


@pytest.mark.parametrize("stack", STACKS)
def test_stack_file_declares_one_placement_per_role(stack: str, run: Callable[..., OfflineResult]) -> None:
    result = run(stack)
    placements = _placements(result)
    assert set(placements) == set(ROLES)
    for role, component in placements.items():
        p = result.plan[role]  # type: ignore[index]
        assert component.name == f"{role}-{p.target}"
        assert component.type == placement_for(p.target).type_token
        # What a policy pack reads from the component (numbers arrive as floats).
        assert component.inputs["taskQueue"] == p.task_queue
        assert component.inputs["deploymentName"] == p.deployment_name
        assert component.inputs["sizing"] == json.loads(json.dumps(p.sizing.model_dump(by_alias=True)))
    assert result.outputs["roles"].keys() == set(ROLES)
    assert result.outputs["plan"]["stack"] == stack
    assert result.outputs["temporalAddress"].endswith(":7233")


def test_every_child_is_parented_and_named_from_its_component(prod: OfflineResult) -> None:
    for res in prod.resources:
        top = prod.top_component(res)
        if top is None or not top.type.startswith("docpipe:placement:"):
            continue
        assert res is top or res.name.startswith(f"{top.name}-"), res.key


def test_gcp_only_when_a_role_is_on_cloud_run(prod: OfflineResult, run: Callable[..., OfflineResult]) -> None:
    def gcp(result: OfflineResult) -> list[str]:
        return [r.name for r in result.resources if r.type.startswith(("gcp:", "pulumi:providers:gcp"))]

    assert prod.plan.uses_gcp and gcp(prod)
    aws_only = run("prod", ["activities.extraction.target=ec2", "activities.analysis.target=lambda"])
    assert not aws_only.plan.uses_gcp
    assert gcp(aws_only) == []
    assert not any(r.name.endswith(("-ar-tag", "-ar-push")) for r in aws_only.resources)


def test_nat_only_when_needed(prod: OfflineResult, run: Callable[..., OfflineResult]) -> None:
    def nat(result: OfflineResult) -> list[Registered]:
        return result.of_type("aws:ec2/natGateway:NatGateway")

    assert prod.plan.needs_nat and len(nat(prod)) == 1  # storage: VPC-attached Lambda + Temporal Cloud
    no_nat = run("prod", ["activities.storage.target=ec2"])
    assert not no_nat.plan.needs_nat
    assert nat(no_nat) == [] and no_nat.of_type("aws:ec2/eip:Eip") == []


EXTERNAL = ["temporal.mode=external", "temporal.address=temporal.example.com:7233"]
EXTERNAL_SECRET = {"docpipe:temporalApiKey": "SECRET-temporal-5eed"}


@pytest.mark.parametrize("external", [False, True], ids=["temporal-cloud", "temporal-external"])
def test_no_secret_value_in_plain_text(external: bool, run: Callable[..., OfflineResult]) -> None:
    secrets = {**SECRETS, **(EXTERNAL_SECRET if external else {})}
    result = run("prod", EXTERNAL if external else [], secrets=secrets)
    needles = [*secrets.values(), *MOCK_SECRET_OUTPUTS]
    for res in result.resources:
        for text in plain_strings(res.inputs):
            for needle in needles:
                assert needle not in text, f"{res.key} carries {needle!r} in plain text"
    # ...and they did reach the secret versions (as secrets), so the check above can fail.
    versions = [
        unwrap(r.inputs).get("secret_string") or unwrap(r.inputs).get("secretString")
        for r in result.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    ]
    assert SECRETS["docpipe:e2bApiKey"] in versions


def _statements(doc: Any) -> Iterator[dict[str, Any]]:
    if isinstance(doc, str):
        doc = json.loads(doc)
    stmts = doc.get("Statement", [])
    yield from [stmts] if isinstance(stmts, dict) else stmts


@pytest.mark.parametrize(
    "sets",
    [
        [],
        ["activities.extraction.target=ec2"],
        ["temporal.mode=self-hosted", "activities.extraction.target=ec2", "activities.analysis.target=ec2"],
    ],
    ids=["prod", "prod-ec2", "self-hosted"],
)
def test_no_iam_statement_has_a_wildcard_action(sets: list[str], run: Callable[..., OfflineResult]) -> None:
    result = run("prod", sets)
    checked = 0
    for res in result.resources:
        inputs = unwrap(res.inputs)
        for key in ("policy", "assumeRolePolicy", "assume_role_policy"):
            if res.type.startswith("aws:iam/") and isinstance(inputs.get(key), str):
                for stmt in _statements(inputs[key]):
                    actions = stmt.get("Action", [])
                    actions = [actions] if isinstance(actions, str) else actions
                    assert actions, f"{res.key}: statement without actions"
                    assert not any("*" in a for a in actions), f"{res.key}: wildcard action in {actions}"
                    checked += 1
    assert checked >= 15


def test_database_private_encrypted_tls_and_rds_managed_password(prod: OfflineResult) -> None:
    (db,) = prod.of_type("aws:rds/instance:Instance")
    inputs = unwrap(db.inputs)
    assert inputs["publiclyAccessible"] is False
    assert inputs["storageEncrypted"] is True
    assert inputs["manageMasterUserPassword"] is True
    assert "password" not in inputs
    (params,) = prod.of_type("aws:rds/parameterGroup:ParameterGroup")
    assert {"name": "rds.force_ssl", "value": "1", "applyMethod": "immediate"} in params.inputs[
        "parameters"
    ] or any(p["name"] == "rds.force_ssl" and p["value"] == "1" for p in params.inputs["parameters"])
    (sg,) = [r for r in prod.of_type("aws:ec2/securityGroup:SecurityGroup") if r.name == "database-sg"]
    assert all(rule["cidrBlocks"] == ["10.40.0.0/16"] for rule in sg.inputs["ingress"])


@pytest.mark.parametrize("mode", ["serverless", "node"])
def test_cache_private_encrypted_with_auth(mode: str, run: Callable[..., OfflineResult]) -> None:
    result = run("prod", ["activities.extraction.target=ec2", f"cache.mode={mode}"])
    (sg,) = [r for r in result.of_type("aws:ec2/securityGroup:SecurityGroup") if r.name == "cache-sg"]
    assert all(rule["cidrBlocks"] == ["10.40.0.0/16"] for rule in sg.inputs["ingress"])
    if mode == "serverless":
        (cache,) = result.of_type("aws:elasticache/serverlessCache:ServerlessCache")
        assert cache.inputs["engine"] == "valkey"
        assert cache.inputs["userGroupId"]  # RBAC: TLS is always on for serverless
        users = {u.inputs["userName"]: u.inputs for u in result.of_type("aws:elasticache/user:User")}
        assert users["default"]["accessString"].startswith("off")
    else:
        (group,) = result.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
        assert group.inputs["transitEncryptionEnabled"] is True
        assert group.inputs["atRestEncryptionEnabled"] is True
        assert "4dabf18193072939515e22adb298388d" in group.inputs["authToken"]  # a secret
    env = unwrap(result.named("extraction-ec2-template").inputs)
    assert env["metadataOptions"]["httpTokens"] == "required"


def test_bucket_private_encrypted_versioned_and_starts_workflows(prod: OfflineResult) -> None:
    (block,) = prod.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block.inputs[k] is True
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    assert prod.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    (versioning,) = prod.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    starter = prod.named("starter-function")
    assert starter.inputs["imageConfig"]["commands"] == ["workers.starter.handler"]
    (notification,) = prod.of_type("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["lambdaFunctions"][0]["events"] == ["s3:ObjectCreated:*"]


def test_starter_passes_the_stacks_activity_timeouts(run: Callable[..., OfflineResult]) -> None:
    """The workflow sets each activity's timeout: the one the Lambda timeout was validated against."""
    result = run("prod", ["activities.storage.activityTimeoutSeconds=45"])
    env = result.named("starter-function").inputs["environment"]["variables"]
    timeouts = json.loads(env["DOCPIPE_STAGE_TIMEOUTS"])
    assert timeouts == {"extraction": 420, "analysis": 420, "enrichment": 300, "storage": 45}


def test_lambda_placement(prod: OfflineResult) -> None:
    for p in prod.plan.on("lambda"):
        fn = unwrap(prod.named(f"{p.role}-lambda-function").inputs)
        sizing = p.sizing
        assert fn["packageType"] == "Image"
        assert fn["imageConfig"]["commands"] == ["workers.lambda_handler.handler"]
        assert fn["memorySize"] == sizing.memory_mb and fn["timeout"] == sizing.timeout_seconds
        assert fn["architectures"] == [sizing.architecture]
        assert ("vpcConfig" in fn) == p.vpc_attached
        variables = fn["environment"]["variables"]
        assert variables[Env.ROLE] == p.role and variables[Env.DEPLOYMENT_NAME] == p.deployment_name
        assert variables[Env.BUILD_ID] == prod.plan.config.image_tag
        refs = json.loads(variables[Env.SECRET_REFS])
        assert all(v.startswith("arn:aws:secretsmanager:") for v in refs.values())
        invoke = unwrap(prod.named(f"{p.role}-lambda-temporal-invoke").inputs)
        (trust,) = _statements(invoke["assumeRolePolicy"])
        assert "wci-lambda-invoke" in json.dumps(trust["Principal"])  # temporal.mode cloud
        assert trust["Condition"]["StringEquals"]["sts:ExternalId"].startswith("mock-random-")
        assert "4dabf18193072939515e22adb298388d" in json.dumps(
            prod.named(f"{p.role}-lambda-temporal-invoke").inputs
        )


def test_self_hosted_temporal_trusts_the_server_role(run: Callable[..., OfflineResult]) -> None:
    result = run(
        "prod",
        ["temporal.mode=self-hosted", "activities.extraction.target=ec2", "activities.analysis.target=ec2"],
    )
    assert result.of_type("temporalcloud:index/namespace:Namespace") == []
    template = unwrap(result.named("temporal-server").inputs)
    assert template["metadataOptions"]["httpTokens"] == "required"
    invoke = unwrap(result.named("storage-lambda-temporal-invoke").inputs)
    (trust,) = _statements(invoke["assumeRolePolicy"])
    assert trust["Principal"]["AWS"].endswith("temporal-server-role")
    import base64

    script = base64.b64decode(template["userData"]).decode()
    assert "workercontroller.enabled" in script and "postgres12" in script
    assert all(f"--name {name} --type {kind}" in script for name, kind in SEARCH_ATTRIBUTES.items())


def test_temporal_cloud_namespace_registers_the_search_attributes_runs_carry(prod: OfflineResult) -> None:
    registered = {
        unwrap(r.inputs)["name"]: unwrap(r.inputs)["type"]
        for r in prod.of_type("temporalcloud:index/namespaceSearchAttribute:NamespaceSearchAttribute")
    }
    assert registered == {name: kind.lower() for name, kind in SEARCH_ATTRIBUTES.items()}
    # Every role's workers and the starter are told to set them.
    starter = prod.named("starter-function").inputs["environment"]["variables"]
    assert starter[Env.SEARCH_ATTRIBUTES] == "true"


def test_an_external_namespace_gets_no_search_attributes(run: Callable[..., OfflineResult]) -> None:
    result = run("prod", ["temporal.mode=external", "temporal.address=temporal.example.com:7233"])
    starter = result.named("starter-function").inputs["environment"]["variables"]
    assert Env.SEARCH_ATTRIBUTES not in starter


def test_ec2_placement(run: Callable[..., OfflineResult]) -> None:
    result = run("prod", ["activities.extraction.target=ec2"])
    asg = unwrap(result.named("extraction-ec2-asg").inputs)
    sizing = result.plan["extraction"].sizing
    assert (asg["minSize"], asg["desiredCapacity"], asg["maxSize"]) == (
        sizing.min_size,
        sizing.desired_capacity,
        sizing.max_size,
    )
    sg = unwrap(result.named("extraction-ec2-sg").inputs)
    assert not sg.get("ingress")
    template = unwrap(result.named("extraction-ec2-template").inputs)
    import base64

    script = base64.b64decode(template["userData"]).decode()
    assert "docpipe worker extraction" in script
    assert "DOCPIPE_ROLE=extraction" in script


def test_cloudrun_placement(prod: OfflineResult) -> None:
    pool = unwrap(prod.named("extraction-cloudrun-pool").inputs)
    container = pool["template"]["containers"][0]
    assert container["args"] == ["worker", "extraction"]
    secret_envs = {
        e["name"]: e["valueSource"]["secretKeyRef"] for e in container["envs"] if "valueSource" in e
    }
    assert set(secret_envs) == {"UNSTRUCTURED_API_KEY", "TEMPORAL_API_KEY"}
    assert pool["scaling"]["manualInstanceCount"] == prod.plan["extraction"].sizing.min_instances
    role = unwrap(prod.named("extraction-cloudrun-aws-role").inputs)
    (trust,) = _statements(role["assumeRolePolicy"])
    assert trust["Principal"] == {"Federated": "accounts.google.com"}
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"]["StringEquals"]["accounts.google.com:sub"] == "100000000000000000001"


def test_worker_deployment_version_per_role(prod: OfflineResult) -> None:
    versions = {r.name: unwrap(r.inputs) for r in prod.of_type("pulumi-python:dynamic:Resource")}
    assert set(versions) == {f"{role}-deployment-version" for role in ROLES}
    for p in prod.plan:
        v = versions[f"{p.role}-deployment-version"]
        assert v["deploymentName"] == p.deployment_name and v["buildId"] == prod.plan.config.image_tag
        # Cloud Run pools scaled by CREMA (this AWS-hosted namespace) carry no compute config.
        cloudrun = "gcp-cloud-run" if p.runtime().get("scaler") == "temporal" else None
        expected = {"lambda": "aws-lambda", "cloudrun": cloudrun, "ec2": None}[p.target]
        assert (v.get("compute") or {}).get("provider") == expected


def test_placement_registry_lists_valid_targets() -> None:
    assert set(PLACEMENTS) == {"ec2", "cloudrun", "lambda"}
    with pytest.raises(KeyError, match="targets the program can deploy: cloudrun, ec2, lambda"):
        placement_for("ecs")


def test_main_exports_outputs(prod: OfflineResult) -> None:
    assert {"roles", "temporalAddress", "temporalNamespace", "bucket", "images", "plan", "buildId"} <= set(
        prod.outputs
    )
    assert prod.outputs["roles"]["storage"]["functionArn"].startswith("arn:aws:lambda:")


def test_lambda_versions_are_published_and_temporal_gets_the_qualified_arn(prod: OfflineResult) -> None:
    for p in prod.plan.on("lambda"):
        function = prod.named(f"{p.role}-lambda-function")
        assert unwrap(function.inputs)["publish"] is True
        compute = unwrap(prod.named(f"{p.role}-deployment-version").inputs)["compute"]
        # The published version's ARN (…:function:NAME:VERSION), never the unqualified one ($LATEST).
        assert compute["arn"].endswith(f"{p.role}-lambda-function:1")
        # A VPC function's ENI rights are checked at create time: its role policy comes first.
        policy = prod.named(f"{p.role}-lambda-policy")
        assert policy.urn in function.dependencies
