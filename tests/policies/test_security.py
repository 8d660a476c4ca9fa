"""Security policies: each non-compliant variant fails with its message; config overrides work."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from policy_helpers import EC2, add, edit, messages, of_type, resources

from policies.runner import StackResource

RDS = "aws:rds/instance:Instance"
SERVERLESS = "aws:elasticache/serverlessCache:ServerlessCache"
RG = "aws:elasticache/replicationGroup:ReplicationGroup"
LAMBDA = "aws:lambda/function:Function"
POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
SG = "aws:ec2/securityGroup:SecurityGroup"


@pytest.fixture(scope="module")
def prod() -> list[StackResource]:
    return resources("prod")


@pytest.fixture(scope="module")
def ec2_stack() -> list[StackResource]:
    """prod with extraction on EC2: a launch template, and the cache (extraction runs in the VPC)."""
    return resources("prod", *EC2)


# --- database ---------------------------------------------------------------------------------


def test_public_database_fails(prod: list[StackResource]) -> None:
    variant = edit(prod, of_type(RDS), lambda p: p.update(publiclyAccessible=True))
    assert messages("database-private-encrypted", variant) == [
        "database 'database-postgres' has publiclyAccessible=true; keep it false so only the VPC reaches it "
        "(docpipe:database.reachability vpc-only)"
    ]


def test_public_database_allowed_by_config(prod: list[StackResource]) -> None:
    variant = edit(prod, of_type(RDS), lambda p: p.update(publiclyAccessible=True))
    assert messages("database-private-encrypted", variant, {"allowPubliclyAccessible": True}) == []


def test_unencrypted_database_fails(prod: list[StackResource]) -> None:
    variant = edit(prod, of_type(RDS), lambda p: p.pop("storageEncrypted"))
    assert messages("database-private-encrypted", variant) == [
        "database 'database-postgres' has storageEncrypted=None; set storageEncrypted=true"
    ]


def test_database_password_in_inputs_fails_without_echoing_it(prod: list[StackResource]) -> None:
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "hunter2-pw"}
    variant = edit(prod, of_type(RDS), lambda p: p.update(password=secret, manageMasterUserPassword=False))
    found = messages("database-private-encrypted", variant)
    assert len(found) == 1 and "manageMasterUserPassword=true" in found[0]
    assert "hunter2" not in found[0]
    assert messages("database-private-encrypted", variant, {"requireManagedPassword": False}) == []


# --- cache ------------------------------------------------------------------------------------


def test_serverless_cache_without_auth_fails(ec2_stack: list[StackResource]) -> None:
    variant = edit(ec2_stack, of_type(SERVERLESS), lambda p: p.pop("userGroupId"))
    found = messages("cache-private-encrypted", variant)
    assert found == [
        "cache 'cache-valkey' has no userGroupId, so any client in the VPC connects without credentials; "
        "attach an ElastiCache user group (RBAC) with a non-default user"
    ]
    assert messages("cache-private-encrypted", variant, {"requireAuth": False}) == []


def _group(**inputs: Any) -> StackResource:
    return StackResource(RG, "cache-nodes", {"engine": "valkey", "description": "docpipe cache", **inputs})


def test_replication_group_with_tls_and_token_passes(prod: list[StackResource]) -> None:
    good = _group(transitEncryptionEnabled=True, authToken="from-a-secret")
    assert messages("cache-private-encrypted", add(prod, good)) == []


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"authToken": "t"}, "cache 'cache-nodes' has transitEncryptionEnabled=None; set it to true"),
        (
            {"transitEncryptionEnabled": True, "transitEncryptionMode": "preferred", "authToken": "t"},
            "cache 'cache-nodes' has transitEncryptionMode='preferred', which still accepts plaintext "
            "connections; set it to 'required'",
        ),
        (
            {"transitEncryptionEnabled": True},
            "cache 'cache-nodes' accepts clients without credentials; set authToken (from a secret) or "
            "userGroupIds",
        ),
        (
            {"transitEncryptionEnabled": True, "authToken": "t", "atRestEncryptionEnabled": False},
            "cache 'cache-nodes' is not encrypted at rest; set atRestEncryptionEnabled=true",
        ),
    ],
)
def test_replication_group_variants_fail(
    prod: list[StackResource], inputs: dict[str, Any], expected: str
) -> None:
    assert messages("cache-private-encrypted", add(prod, _group(**inputs))) == [expected]


# --- bucket -----------------------------------------------------------------------------------

PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"


def _without(items: list[StackResource], token: str) -> list[StackResource]:
    return [r for r in items if r.type != token]


def test_bucket_without_public_access_block_fails(prod: list[StackResource]) -> None:
    assert messages("bucket-private-encrypted", _without(prod, PAB)) == [
        "bucket 'documents-bucket' has no public access block; add an aws.s3.BucketPublicAccessBlock with "
        "all four flags true"
    ]


def test_bucket_with_partial_public_access_block_fails(prod: list[StackResource]) -> None:
    variant = edit(
        prod, of_type(PAB), lambda p: p.update(blockPublicPolicy=False, restrictPublicBuckets=False)
    )
    assert messages("bucket-private-encrypted", variant) == [
        "bucket 'documents-bucket''s public access block leaves blockPublicPolicy, restrictPublicBuckets "
        "off; set them to true"
    ]


def test_unencrypted_bucket_fails(prod: list[StackResource]) -> None:
    assert messages("bucket-private-encrypted", _without(prod, SSE)) == [
        "bucket 'documents-bucket' has no default encryption; add an "
        "aws.s3.BucketServerSideEncryptionConfiguration (aws:kms or AES256)"
    ]


def test_inline_bucket_encryption_counts(prod: list[StackResource]) -> None:
    inline = {"rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}}
    variant = edit(
        _without(prod, SSE),
        of_type("aws:s3/bucket:Bucket"),
        lambda p: p.update(serverSideEncryptionConfiguration=inline),
    )
    assert messages("bucket-private-encrypted", variant) == []


def test_bucket_encryption_algorithm_from_config(prod: list[StackResource]) -> None:
    variant = edit(
        prod,
        of_type(SSE),
        lambda p: p.update(rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]),
    )
    assert messages("bucket-private-encrypted", variant) == []
    assert messages("bucket-private-encrypted", variant, {"allowedSseAlgorithms": ["aws:kms"]}) == [
        "bucket 'documents-bucket' encrypts with AES256, not one of aws:kms"
    ]


def test_public_bucket_acl_fails(prod: list[StackResource]) -> None:
    acl = StackResource(
        "aws:s3/bucketAclV2:BucketAclV2",
        "documents-acl",
        {"bucket": "documents-bucket-id", "acl": "public-read"},
    )
    assert messages("bucket-private-encrypted", add(prod, acl)) == [
        "bucket 'documents-bucket' has a public ACL (public-read); use 'private'"
    ]


def test_second_bucket_is_matched_by_dependency_not_guess(prod: list[StackResource]) -> None:
    logs = StackResource("aws:s3/bucket:Bucket", "logs", {"bucket": "docpipe-logs"})
    logs_pab = StackResource(
        PAB,
        "logs-public-access",
        {
            k: True
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        },
        property_dependencies={"bucket": ("logs",)},
    )
    found = messages("bucket-private-encrypted", add(prod, logs, logs_pab))
    # The documents bucket's blocks point at an id neither bucket shows, so with two buckets they are
    # not guessed onto one: only the dependency-linked block counts, and logs has no encryption.
    assert (
        "bucket 'logs' has no default encryption; add an aws.s3.BucketServerSideEncryptionConfiguration "
        "(aws:kms or AES256)" in found
    )
    assert not any("'logs' has no public access block" in m for m in found)


# --- IAM --------------------------------------------------------------------------------------


def _statement_policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_wildcard_action_in_role_inline_policy_fails(prod: list[StackResource]) -> None:
    doc = _statement_policy({"Effect": "Allow", "Action": ["s3:*", "logs:CreateLogStream"], "Resource": "*"})
    variant = edit(
        prod,
        lambda r: r.name == "storage-lambda-role",
        lambda p: p.update(inlinePolicies=[{"name": "worker", "policy": doc}]),
    )
    assert messages("iam-no-wildcard-actions", variant) == [
        "'storage-lambda-role' inline policy worker allows wildcard action(s) s3:*; list the specific "
        "actions instead"
    ]
    assert messages("iam-no-wildcard-actions", variant, {"allowedWildcardActions": ["s3:*"]}) == []


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": "*"}, "*"),
        ({"Action": "ec2:*", "Resource": "*"}, "ec2:*"),
        (
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            "NotAction (allows every action not listed)",
        ),
    ],
)
def test_wildcard_in_managed_and_role_policies_fails(
    prod: list[StackResource], statement: dict[str, Any], expected: str
) -> None:
    for token in ("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy"):
        extra = StackResource(token, "extra", {"policy": _statement_policy(statement)})
        assert messages("iam-no-wildcard-actions", add(prod, extra)) == [
            f"'extra' policy allows wildcard action(s) {expected}; list the specific actions instead"
        ]


def test_deny_wildcard_and_partial_wildcards_pass(prod: list[StackResource]) -> None:
    doc = _statement_policy(
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:PutObject"], "Resource": "*"},
    )
    extra = StackResource("aws:iam/policy:Policy", "extra", {"policy": doc})
    assert messages("iam-no-wildcard-actions", add(prod, extra)) == []


def test_admin_managed_policy_attachment_fails(prod: list[StackResource]) -> None:
    attach = StackResource(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "admin",
        {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
    )
    ok = StackResource(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "basic",
        {"role": "r", "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"},
    )
    assert messages("iam-no-wildcard-actions", add(prod, attach, ok)) == [
        "'admin' attaches AdministratorAccess, which grants wildcard actions; attach a policy listing the "
        "actions the role needs"
    ]


# --- plaintext secrets ------------------------------------------------------------------------

SECRET_VALUE = "e2b_0123456789abcdef0123456789abcdef"


def _add_lambda_env(name: str, value: Any) -> Any:
    return lambda p: p["environment"]["variables"].update({name: value})


def test_plaintext_api_key_in_lambda_env_fails_and_is_not_echoed(prod: list[StackResource]) -> None:
    variant = edit(
        prod, lambda r: r.name == "enrichment-lambda-function", _add_lambda_env("E2B_API_KEY", SECRET_VALUE)
    )
    found = messages("no-plaintext-secrets", variant)
    assert found == [
        "'enrichment-lambda-function' environment variable E2B_API_KEY carries a secret in plaintext (its "
        "value looks like a credential); pass a Secrets Manager ARN (DOCPIPE_SECRET_REFS) or a Secret "
        "Manager reference (valueSource.secretKeyRef) and let the worker fetch the value"
    ]
    assert SECRET_VALUE not in found[0]


def test_secret_output_in_lambda_env_is_still_plaintext(prod: list[StackResource]) -> None:
    wrapped = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "abc123"}
    variant = edit(
        prod, lambda r: r.name == "storage-lambda-function", _add_lambda_env("DB_PASSWORD", wrapped)
    )
    found = messages("no-plaintext-secrets", variant)
    assert len(found) == 1 and "DB_PASSWORD" in found[0] and "its name says it holds a secret" in found[0]
    assert "abc123" not in found[0]


def test_credential_shaped_value_under_any_name_fails(prod: list[StackResource]) -> None:
    variant = edit(
        prod,
        lambda r: r.name == "storage-lambda-function",
        _add_lambda_env("SETTINGS", "AKIAABCDEFGHIJKLMNOP"),
    )
    assert len(messages("no-plaintext-secrets", variant)) == 1


def test_references_and_allowed_names_pass(prod: list[StackResource]) -> None:
    variant = edit(
        prod,
        lambda r: r.name == "storage-lambda-function",
        lambda p: p["environment"]["variables"].update(
            DOCPIPE_DATABASE_SECRET_ARN="arn:aws:secretsmanager:us-east-1:1:secret:db",
            UNSTRUCTURED_API_KEY="arn:aws:secretsmanager:us-east-1:1:secret:unstructured",
            SIGNING_KEY_ID="k-1",
            PUBLIC_KEY="ssh-ed25519 AAAA",
        ),
    )
    assert [m.split(" carries")[0] for m in messages("no-plaintext-secrets", variant)] == [
        "'storage-lambda-function' environment variable PUBLIC_KEY"
    ]
    assert messages("no-plaintext-secrets", variant, {"allowedNames": ["PUBLIC_KEY"]}) == []


def test_name_markers_from_config(prod: list[StackResource]) -> None:
    variant = edit(prod, lambda r: r.name == "storage-lambda-function", _add_lambda_env("DB_PASSPHRASE", "x"))
    assert messages("no-plaintext-secrets", variant) == []
    assert len(messages("no-plaintext-secrets", variant, {"nameMarkers": ["PASSPHRASE"]})) == 1


def test_plain_cloud_run_env_token_fails_but_secret_ref_passes(prod: list[StackResource]) -> None:
    def change(p: dict[str, Any]) -> None:
        p["template"]["containers"][0]["envs"].append({"name": "UNSTRUCTURED_API_KEY", "value": "plain-key"})

    variant = edit(prod, lambda r: r.name == "extraction-cloudrun-pool", change)
    found = messages("no-plaintext-secrets", variant)
    assert [m.split(" carries")[0] for m in found] == [
        "'extraction-cloudrun-pool' environment variable UNSTRUCTURED_API_KEY"
    ]


def test_secret_in_launch_template_user_data_fails(ec2_stack: list[StackResource]) -> None:
    script = (
        "#!/bin/bash\nexport DOCPIPE_ROLE=extraction\nexport UNSTRUCTURED_API_KEY='abc'\ndocker run img\n"
    )
    encoded = base64.b64encode(script.encode()).decode()
    variant = edit(
        ec2_stack, of_type("aws:ec2/launchTemplate:LaunchTemplate"), lambda p: p.update(userData=encoded)
    )
    found = messages("no-plaintext-secrets", variant)
    assert [m.split(" carries")[0] for m in found] == [
        "'extraction-ec2-template' user data variable UNSTRUCTURED_API_KEY"
    ]


def test_unknown_env_value_in_preview_does_not_hide_the_others(prod: list[StackResource]) -> None:
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    variant = edit(
        prod,
        lambda r: r.name == "storage-lambda-function",
        lambda p: p["environment"]["variables"].update(DOCPIPE_BUCKET=unknown, API_TOKEN="x"),
    )
    found = messages("no-plaintext-secrets", variant)
    assert [m.split(" carries")[0] for m in found] == [
        "'storage-lambda-function' environment variable API_TOKEN"
    ]


# --- ingress ----------------------------------------------------------------------------------


def test_open_ssh_ingress_fails(prod: list[StackResource]) -> None:
    variant = edit(
        prod,
        of_type(SG, "database"),
        lambda p: p["ingress"].append(
            {"protocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrBlocks": ["0.0.0.0/0"]}
        ),
    )
    assert messages("no-open-ingress", variant) == [
        "'database-sg' allows ingress from 0.0.0.0/0 on port 22; restrict the source to the VPC or a "
        "security group"
    ]
    assert messages("no-open-ingress", variant, {"allowedPorts": [22]}) == []


def test_ingress_from_two_halves_of_the_internet_fails(prod: list[StackResource]) -> None:
    """0.0.0.0/1 + 128.0.0.0/1 is 0.0.0.0/0 by another name (the config refuses it too)."""
    variant = edit(
        prod,
        of_type(SG, "database"),
        lambda p: p["ingress"].append(
            {
                "protocol": "tcp",
                "fromPort": 5432.0,
                "toPort": 5432.0,
                "cidrBlocks": ["0.0.0.0/1", "128.0.0.0/1"],
            }
        ),
    )
    assert messages("no-open-ingress", variant) == [
        "'database-sg' allows ingress from 0.0.0.0/1, 10.40.0.0/16, 128.0.0.0/1, which together cover "
        "0.0.0.0/0; "
        "restrict the source to the VPC or a security group"
    ]
    halves = edit(
        prod,
        of_type(SG, "database"),
        lambda p: p["ingress"].append(
            {"protocol": "tcp", "fromPort": 5432.0, "toPort": 5432.0, "cidrBlocks": ["0.0.0.0/1"]}
        ),
    )
    assert messages("no-open-ingress", halves) == []


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (
            StackResource(
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                "pg-in",
                {
                    "securityGroupId": "sg",
                    "ipProtocol": "tcp",
                    "fromPort": 5432.0,
                    "toPort": 5432.0,
                    "cidrIpv6": "::/0",
                },
            ),
            "'pg-in' allows ingress from ::/0 on port 5432",
        ),
        (
            StackResource(
                "aws:ec2/securityGroupRule:SecurityGroupRule",
                "all-in",
                {
                    "type": "ingress",
                    "protocol": "-1",
                    "fromPort": 0.0,
                    "toPort": 0.0,
                    "cidrBlocks": ["0.0.0.0/0"],
                },
            ),
            "'all-in' allows ingress from 0.0.0.0/0 on all ports",
        ),
    ],
)
def test_open_ingress_rules_fail(prod: list[StackResource], resource: StackResource, expected: str) -> None:
    found = messages("no-open-ingress", add(prod, resource))
    assert len(found) == 1 and found[0].startswith(expected)


def test_open_egress_is_fine(ec2_stack: list[StackResource]) -> None:
    egress_rule = StackResource(
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "out",
        {"type": "egress", "protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "cidrBlocks": ["0.0.0.0/0"]},
    )
    assert messages("no-open-ingress", add(ec2_stack, egress_rule)) == []


# --- IMDSv2 -----------------------------------------------------------------------------------

LT = "aws:ec2/launchTemplate:LaunchTemplate"


def test_imdsv1_launch_template_fails(ec2_stack: list[StackResource]) -> None:
    variant = edit(ec2_stack, of_type(LT), lambda p: p["metadataOptions"].update(httpTokens="optional"))
    assert messages("ec2-imdsv2-required", variant) == [
        "'extraction-ec2-template' allows IMDSv1 (metadataOptions.httpTokens='optional'); set "
        "metadataOptions.httpTokens='required'"
    ]


def test_missing_metadata_options_fails(ec2_stack: list[StackResource]) -> None:
    variant = edit(ec2_stack, of_type(LT), lambda p: p.pop("metadataOptions"))
    assert messages("ec2-imdsv2-required", variant) == [
        "'extraction-ec2-template' allows IMDSv1 (metadataOptions.httpTokens=None); set "
        "metadataOptions.httpTokens='required'"
    ]


def test_hop_limit_and_disabled_endpoint(ec2_stack: list[StackResource]) -> None:
    variant = edit(ec2_stack, of_type(LT), lambda p: p["metadataOptions"].update(httpPutResponseHopLimit=3.0))
    assert len(messages("ec2-imdsv2-required", variant)) == 1
    assert messages("ec2-imdsv2-required", variant, {"maxPutResponseHopLimit": 3}) == []
    off = edit(ec2_stack, of_type(LT), lambda p: p.update(metadataOptions={"httpEndpoint": "disabled"}))
    assert messages("ec2-imdsv2-required", off) == []


def test_plain_instance_is_checked_too(prod: list[StackResource]) -> None:
    instance = StackResource("aws:ec2/instance:Instance", "bastion", {"instanceType": "t4g.nano"})
    assert len(messages("ec2-imdsv2-required", add(prod, instance))) == 1


def test_bucket_blocks_are_matched_by_resource_dependencies(prod: list[StackResource]) -> None:
    # The program's blocks point at the bucket's id, which the mocks make up; their recorded
    # dependencies say which bucket they serve, so a second bucket does not borrow them.
    logs = StackResource("aws:s3/bucket:Bucket", "logs", {})
    found = messages("bucket-private-encrypted", add(prod, logs))
    assert [m.split(";")[0] for m in found] == [
        "bucket 'logs' has no public access block",
        "bucket 'logs' has no default encryption",
    ]


@pytest.mark.parametrize(
    ("name", "value", "flagged"),
    [
        ("OPENAI_API_KEY", "k", True),
        ("APIKEY", "k", True),
        ("DBPASSWORD", "k", True),
        ("CLIENT_SECRET", "k", True),
        ("MONKEY", "banana", False),
        ("TURKEY_COUNT", "k", False),
        ("USE_API_KEY", "true", False),
        ("MAX_TOKENS", "4096", False),
        ("TOKEN_URL", "https://auth.example/token", False),
        ("GREETING", "postgres://app:hunter2@db:5432/x", True),
        ("SECRET", "$(aws secretsmanager get-secret-value --secret-id x)", False),
        ("DB_PASSWORD", "${DB_PASSWORD_FROM_SSM}", False),
    ],
)
def test_secret_names_and_values(name: str, value: str, flagged: bool) -> None:
    from policies.pack import policy
    from policies.security.secrets import secret_problem

    config = {k: v["default"] for k, v in policy("no-plaintext-secrets").config_schema.properties.items()}
    assert (secret_problem(name, value, config) is not None) is flagged
