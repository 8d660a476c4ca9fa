"""What moto does not check, checked here: each recorded call's action *and resource ARN* against the
declared statements.

moto 5.2.5 (tests/aws_emulator.py) evaluates an identity policy's actions for every service but
matches the resource only for S3 (and SQS / IAM / AssumeRole); every other call is matched against
"*". So an ARN-scoped grant would be denied by moto (the test hands moto a copy widened to "*") and
a grant on the *wrong* ARN would pass it. This evaluator is the other half:

- `IAM_ACTIONS`: the IAM action AWS authorizes each boto3 operation docpipe calls with, written
  here independently of workers/aws_actions.py (a test compares the two), from AWS's service
  authorization reference: S3 HeadObject is s3:GetObject, Bedrock Converse / ConverseStream are
  bedrock:InvokeModel / bedrock:InvokeModelWithResponseStream.
- `resources_of`: the ARN(s) a call is authorized against, from its parameters — S3 bucket/key,
  the SecretId, and for a Bedrock inference profile the profile *and* the foundation model in every
  region the profile routes to (AWS checks both).
- `allows`: IAM evaluation of Allow / explicit Deny (Deny wins) over Action / NotAction and
  Resource / NotResource with `*` and `?` wildcards (actions case-insensitive, ARNs case-sensitive).
  A statement with a Condition is not evaluated — it never allows here (fail closed; docpipe's
  identity policies declare none).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workers.aws_actions import bedrock_model_arns

IAM_ACTIONS: dict[tuple[str, str], str] = {
    ("s3", "GetObject"): "s3:GetObject",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "PutObject"): "s3:PutObject",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "CreateMultipartUpload"): "s3:PutObject",
    ("s3", "UploadPart"): "s3:PutObject",
    ("s3", "CompleteMultipartUpload"): "s3:PutObject",
    ("s3", "DeleteObject"): "s3:DeleteObject",
    ("secretsmanager", "GetSecretValue"): "secretsmanager:GetSecretValue",
    ("secretsmanager", "DescribeSecret"): "secretsmanager:DescribeSecret",
    ("bedrock-runtime", "Converse"): "bedrock:InvokeModel",
    ("bedrock-runtime", "ConverseStream"): "bedrock:InvokeModelWithResponseStream",
    ("bedrock-runtime", "InvokeModel"): "bedrock:InvokeModel",
    ("bedrock-runtime", "InvokeModelWithResponseStream"): "bedrock:InvokeModelWithResponseStream",
    ("sts", "GetCallerIdentity"): "sts:GetCallerIdentity",
}


def iam_action(service: str, operation: str) -> str:
    found = IAM_ACTIONS.get((service, operation))
    if found is None:
        raise KeyError(f"no IAM action known for {service}.{operation}: add it to IAM_ACTIONS")
    return found


def resources_of(service: str, params: Mapping[str, Any], region: str, account: str) -> list[str]:
    """The ARN(s) one call is authorized against (all must be allowed)."""
    if service == "s3":
        bucket, key = params.get("Bucket", ""), params.get("Key")
        return [f"arn:aws:s3:::{bucket}/{key}" if key is not None else f"arn:aws:s3:::{bucket}"]
    if service == "secretsmanager":
        secret = str(params.get("SecretId", ""))
        if secret.startswith("arn:"):
            return [secret]
        return [f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}"]
    if service == "bedrock-runtime":
        model = str(params.get("modelId", ""))
        return [model] if model.startswith("arn:") else bedrock_model_arns(model, region, account)
    if service == "sts":
        return ["*"]
    raise KeyError(f"no resource form known for {service} calls")


def _glob(pattern: str, value: str, *, case: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statement_matches(st: Mapping[str, Any], action: str, resource: str) -> bool:
    if "Action" in st:
        if not any(_glob(a, action, case=False) for a in _list(st["Action"])):
            return False
    elif "NotAction" in st:
        if any(_glob(a, action, case=False) for a in _list(st["NotAction"])):
            return False
    else:
        return False
    if "Resource" in st:
        return any(_glob(r, resource, case=True) for r in _list(st["Resource"]))
    if "NotResource" in st:
        return not any(_glob(r, resource, case=True) for r in _list(st["NotResource"]))
    return False


def allows(statements: Sequence[Mapping[str, Any]], action: str, resource: str) -> bool:
    """Whether identity statements allow `action` on `resource` (explicit Deny wins)."""
    allowed = False
    for st in statements:
        if st.get("Condition"):
            continue  # not evaluated: never allows (fail closed)
        if not _statement_matches(st, action, resource):
            continue
        if st.get("Effect") == "Deny":
            return False
        allowed = allowed or st.get("Effect") == "Allow"
    return allowed


@dataclass(frozen=True)
class Verdict:
    action: str
    resource: str
    allowed: bool


def check_call(
    statements: Sequence[Mapping[str, Any]],
    service: str,
    operation: str,
    params: Mapping[str, Any],
    region: str,
    account: str,
) -> list[Verdict]:
    action = iam_action(service, operation)
    return [
        Verdict(action, r, allows(statements, action, r))
        for r in resources_of(service, params, region, account)
    ]
