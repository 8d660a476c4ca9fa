"""What moto enforces with IAM on, pinned: if a moto upgrade changes any of it, this fails first.

The list lives in tests/aws_emulator.py's docstring; least-privilege tests rely on it, so each point
there that a test can show is shown here (against `moto_iam_server`, with a role assumed by the
admin through sts:AssumeRole, the one call whose trust policy moto evaluates).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.aws_emulator import ACCOUNT_ID, MotoEndpoint, create_role, unique


def _denied(call: Any) -> str:
    with pytest.raises(ClientError) as err:
        call()
    return str(err.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def scoped(moto_iam_server: MotoEndpoint) -> dict[str, Any]:
    """A role allowed s3:GetObject on one bucket, GetSecretValue on one secret ARN, DescribeSecret on *."""
    moto = moto_iam_server
    bucket, other = unique("facts"), unique("facts-other")
    s3 = moto.client("s3")
    for name in (bucket, other):
        s3.create_bucket(Bucket=name)
        s3.put_object(Bucket=name, Key="k", Body=b"v")
    secret = moto.client("secretsmanager").create_secret(Name=unique("facts"), SecretString="v")["ARN"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/moto-admin"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = create_role(
        moto,
        unique("facts"),
        trust,
        [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
            # A condition no request can meet: moto does not evaluate it.
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringEquals": {"s3:prefix": "never-sent"}},
            },
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret},
            {"Effect": "Allow", "Action": "secretsmanager:DescribeSecret", "Resource": "*"},
        ],
    )
    creds = moto.client("sts").assume_role(RoleArn=role.arn, RoleSessionName="facts")["Credentials"]

    def as_role(service: str, **override: str) -> Any:
        import boto3

        keys = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        } | override
        return boto3.client(service, endpoint_url=moto.url, region_name=moto.region, **keys)

    return {"bucket": bucket, "other": other, "secret": secret, "as_role": as_role, "role": role}


def test_s3_actions_and_resources_are_enforced(scoped: dict[str, Any]):
    s3 = scoped["as_role"]("s3")
    assert s3.get_object(Bucket=scoped["bucket"], Key="k")["Body"].read() == b"v"
    assert s3.head_object(Bucket=scoped["bucket"], Key="k")["ContentLength"] == 1  # HeadObject = GetObject
    assert _denied(lambda: s3.get_object(Bucket=scoped["other"], Key="k")) == "AccessDenied"
    assert _denied(lambda: s3.put_object(Bucket=scoped["bucket"], Key="k2", Body=b"x")) == "AccessDenied"


def test_identity_policy_conditions_are_not_evaluated(scoped: dict[str, Any]):
    s3 = scoped["as_role"]("s3")
    assert s3.list_objects_v2(Bucket=scoped["bucket"])["KeyCount"] == 1  # AWS would deny (s3:prefix)


def test_non_s3_resources_only_match_a_star(scoped: dict[str, Any]):
    sm = scoped["as_role"]("secretsmanager")
    assert sm.describe_secret(SecretId=scoped["secret"])["ARN"] == scoped["secret"]  # Resource "*"
    # Granted on exactly this ARN, yet denied: moto checks the call against "*".
    assert _denied(lambda: sm.get_secret_value(SecretId=scoped["secret"])) == "403"


def test_signatures_and_session_tokens_are_checked(scoped: dict[str, Any]):
    bucket = scoped["bucket"]
    wrong_secret = scoped["as_role"]("s3", aws_secret_access_key="wrong")
    assert _denied(lambda: wrong_secret.get_object(Bucket=bucket, Key="k")) == "SignatureDoesNotMatch"
    wrong_token = scoped["as_role"]("s3", aws_session_token="wrong")
    assert _denied(lambda: wrong_token.get_object(Bucket=bucket, Key="k")) == "InvalidToken"


def test_assume_role_checks_the_trust_policy(moto_iam_server: MotoEndpoint):
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/someone-else"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = create_role(moto_iam_server, unique("facts-untrusted"), trust, [])
    sts = moto_iam_server.client("sts")
    assert _denied(lambda: sts.assume_role(RoleArn=role.arn, RoleSessionName="xx")) == "AccessDenied"


def test_web_identity_fails_on_an_iam_enforcing_moto(moto_iam_server: MotoEndpoint):
    # Unsigned, as every SDK sends it: moto looks for an Authorization header and fails (500).
    body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn:aws:iam::123456789012:role/x"
    body += "&RoleSessionName=xx&WebIdentityToken=not-a-token"
    request = urllib.request.Request(moto_iam_server.url + "/", data=body.encode(), method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=60)
    assert err.value.code == 500


def test_moto_alone_checks_no_web_identity_token_or_trust_policy(moto_server: MotoEndpoint):
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    sts = boto3.client(
        "sts",
        endpoint_url=moto_server.url,
        region_name=moto_server.region,
        config=Config(signature_version=UNSIGNED),
    )
    # No such role, no trust policy, and a token that is not a JWT: moto still issues credentials.
    arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{unique('does-not-exist')}"
    out = sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="xx", WebIdentityToken="not-a-token")
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert json.dumps(out["AssumedRoleUser"], default=str).count("does-not-exist") == 1
