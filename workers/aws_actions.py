"""Every AWS call docpipe's code and platforms make, per code path: the one source of IAM grants.

Each `CodePath` lists the calls one piece of code (or one platform feature) makes — boto3 service
and operation, the IAM action AWS checks for it, and the *kind* of resource it touches. The Pulumi
program builds every role's policy from this table (`infra/iam.py`: a role gets exactly the actions of
the paths it runs, on the ARNs of their resource kinds), the policy pack refuses a role whose grants
differ from it (`iam-actions-match-code`), and tests/iam/ runs the worker paths against an AWS
emulator under the declared policies, recording every boto3 call and checking it against this
table. A new AWS call in worker code therefore needs a row here, or the tests fail naming it.

Two kinds of path:

- `worker`: docpipe's own code (module named in `where`), run by tests/iam/ with the role's
  credentials only.
- `platform`: calls a platform makes with the role's credentials on docpipe's behalf (the EC2 boot
  script's `aws ecr get-login-password` and `docker pull`, Docker's awslogs driver, the Lambda service
  writing logs and managing VPC network interfaces, Temporal's worker controller invoking a Lambda
  worker). No docpipe code makes them, so tests/iam/ checks the placement declares the feature
  that needs them (the boot script, the log configuration, the VPC config) instead of running them.

This module imports nothing from docpipe/, infra/ or pulumi (workers/ dependency rule).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

# What a call touches; infra/iam.py turns each kind into the stack's ARNs.
ResourceKind = Literal[
    "bucket-object",  # arn:aws:s3:::<bucket>/*  (documents under uploads/ and incoming/, payloads under v0/)
    "upload-object",  # arn:aws:s3:::<bucket>/<bucket.uploadPrefix>*  (what the notification starts on)
    "secret-ref",  # the Secrets Manager secrets named in the role's DOCPIPE_SECRET_REFS
    "database-secret",  # the RDS-managed master secret (DOCPIPE_DATABASE_SECRET_ARN)
    "bedrock-model",  # the inference profile and the foundation model in each region it routes to
    "log-group",  # <log group ARN>:*  (its streams)
    "ecr-repository",  # the worker image's ECR repository
    "worker-function",  # the Lambda worker and its versions (<arn>, <arn>:*)
    "any",  # "*": the action has no resource-level form (or, for ENIs, AWS's own managed policy uses "*")
]
PathKind = Literal["worker", "platform"]


@dataclass(frozen=True)
class AwsCall:
    """One API call: boto3's service and operation names, the IAM action and the resource kind."""

    service: str  # boto3 client name: "s3", "secretsmanager", "bedrock-runtime"
    operation: str  # botocore operation name: "GetObject", "ConverseStream"
    action: str  # the IAM action AWS authorizes the call with
    resource: ResourceKind
    # Why a call the tests cannot observe is in the table anyway (empty: tests/iam/ observes it).
    unobserved_reason: str = ""


@dataclass(frozen=True)
class CodePath:
    name: str
    kind: PathKind
    where: str  # the module (worker) or the platform feature that makes the calls
    calls: tuple[AwsCall, ...]

    def actions(self) -> set[str]:
        return {c.action for c in self.calls}


def _s3(operation: str, action: str, resource: ResourceKind = "bucket-object") -> AwsCall:
    return AwsCall("s3", operation, action, resource)


PATHS: Final[dict[str, CodePath]] = {
    p.name: p
    for p in (
        CodePath(
            "document.read",
            "worker",
            "workers/documents.py (read_document of an s3:// reference)",
            (_s3("GetObject", "s3:GetObject"),),
        ),
        CodePath(
            "payload.offload",
            "worker",
            "workers/payloads.py (temporalio's S3 driver: store, exists check, retrieve)",
            (
                _s3("PutObject", "s3:PutObject"),
                _s3("HeadObject", "s3:GetObject"),  # S3 authorizes HeadObject as s3:GetObject
                _s3("GetObject", "s3:GetObject"),
            ),
        ),
        CodePath(
            "secrets.refs",
            "worker",
            "workers/secrets.py (DOCPIPE_SECRET_REFS resolved at start)",
            (AwsCall("secretsmanager", "GetSecretValue", "secretsmanager:GetSecretValue", "secret-ref"),),
        ),
        CodePath(
            "storage.database-secret",
            "worker",
            "workers/storage/connection.py (the RDS-managed master secret)",
            (
                AwsCall(
                    "secretsmanager", "GetSecretValue", "secretsmanager:GetSecretValue", "database-secret"
                ),
            ),
        ),
        CodePath(
            "starter.describe",
            "worker",
            "workers/starter.py (HeadObject for the checksum, GetObject to hash when S3 has none)",
            (
                _s3("HeadObject", "s3:GetObject", "upload-object"),
                _s3("GetObject", "s3:GetObject", "upload-object"),
            ),
        ),
        CodePath(
            "analysis.bedrock",
            "worker",
            "workers/analysis/strands_agent.py (strands' BedrockModel on workers.aws.session())",
            (
                AwsCall(
                    "bedrock-runtime",
                    "ConverseStream",
                    "bedrock:InvokeModelWithResponseStream",
                    "bedrock-model",
                ),
                AwsCall(
                    "bedrock-runtime",
                    "Converse",
                    "bedrock:InvokeModel",
                    "bedrock-model",
                    unobserved_reason=(
                        "strands' BedrockModel calls Converse instead of ConverseStream when its "
                        "config says streaming=False; docpipe builds it streaming, and grants Converse "
                        "so that switching to non-streaming is not an outage (AWS's documented pair "
                        "for inference profiles)"
                    ),
                ),
            ),
        ),
        CodePath(
            "ec2.image-pull",
            "platform",
            "the EC2 boot script: `aws ecr get-login-password`, then `docker run` pulls the image",
            (
                AwsCall("ecr", "GetAuthorizationToken", "ecr:GetAuthorizationToken", "any"),
                AwsCall("ecr", "BatchGetImage", "ecr:BatchGetImage", "ecr-repository"),
                AwsCall("ecr", "GetDownloadUrlForLayer", "ecr:GetDownloadUrlForLayer", "ecr-repository"),
                AwsCall(
                    "ecr", "BatchCheckLayerAvailability", "ecr:BatchCheckLayerAvailability", "ecr-repository"
                ),
            ),
        ),
        CodePath(
            "ec2.awslogs",
            "platform",
            "Docker's awslogs log driver (--log-driver=awslogs, an existing group)",
            (
                AwsCall("logs", "CreateLogStream", "logs:CreateLogStream", "log-group"),
                AwsCall("logs", "PutLogEvents", "logs:PutLogEvents", "log-group"),
            ),
        ),
        CodePath(
            "lambda.logs",
            "platform",
            "the Lambda service writing the function's logs to its log group (logging_config)",
            (
                AwsCall("logs", "CreateLogStream", "logs:CreateLogStream", "log-group"),
                AwsCall("logs", "PutLogEvents", "logs:PutLogEvents", "log-group"),
            ),
        ),
        CodePath(
            "lambda.vpc",
            "platform",
            "the Lambda service attaching a VPC function's network interfaces (vpc_config)",
            tuple(
                AwsCall("ec2", op, f"ec2:{op}", "any")
                for op in (
                    "CreateNetworkInterface",
                    "DescribeNetworkInterfaces",
                    "DeleteNetworkInterface",
                    "AssignPrivateIpAddresses",
                    "UnassignPrivateIpAddresses",
                )
            ),
        ),
        CodePath(
            "temporal.invoke",
            "platform",
            "Temporal's worker controller: validates (GetFunction) and invokes the Lambda worker",
            (
                AwsCall("lambda", "InvokeFunction", "lambda:InvokeFunction", "worker-function"),
                AwsCall("lambda", "GetFunction", "lambda:GetFunction", "worker-function"),
            ),
        ),
    )
}

# Every worker polls Temporal with the payload converter on the bucket (encodes and decodes).
_ROLE_PATHS: Final[dict[str, tuple[str, ...]]] = {
    "workflow": ("payload.offload",),
    "extraction": ("document.read", "payload.offload"),
    "analysis": ("payload.offload",),
    "enrichment": ("payload.offload",),
    "storage": ("payload.offload", "storage.database-secret"),
    "starter": ("starter.describe",),
}
# Backends (as docpipe.plan.backend_label names them) that call AWS.
_BACKEND_PATHS: Final[dict[tuple[str, str], tuple[str, ...]]] = {
    ("analysis", "strands/bedrock"): ("analysis.bedrock",),
}
_TARGET_PATHS: Final[dict[str, tuple[str, ...]]] = {
    "ec2": ("ec2.image-pull", "ec2.awslogs"),
    "lambda": ("lambda.logs",),
    "cloudrun": (),  # logs and image pulls are Google's; only the worker paths reach AWS
}
# Roles whose entrypoint is not `docpipe worker <role>`.
ENTRYPOINT_ROLES: Final = ("starter",)


def paths_for(
    role: str,
    *,
    target: str,
    backend: str | None = None,
    secret_refs: bool = False,
    vpc_attached: bool = False,
) -> tuple[CodePath, ...]:
    """The code paths a role's workers (or the starter, target "lambda") run, in table order.

    `secret_refs`: the role has DOCPIPE_SECRET_REFS to resolve; `vpc_attached`: a Lambda in the VPC.
    """
    if role not in _ROLE_PATHS:
        raise KeyError(f"no AWS code paths for role {role!r}; known: {', '.join(_ROLE_PATHS)}")
    if target not in _TARGET_PATHS:
        raise KeyError(f"no AWS code paths for target {target!r}; known: {', '.join(_TARGET_PATHS)}")
    names: list[str] = list(_ROLE_PATHS[role])
    names += _BACKEND_PATHS.get((role, backend or ""), ())
    if secret_refs:
        names.append("secrets.refs")
    names += _TARGET_PATHS[target]
    if vpc_attached and target == "lambda":
        names.append("lambda.vpc")
    order = list(PATHS)
    return tuple(PATHS[n] for n in sorted(set(names), key=order.index))


def actions_of(paths: Iterable[CodePath]) -> set[str]:
    return {a for p in paths for a in p.actions()}


def calls_of(paths: Iterable[CodePath], service: str, operation: str) -> list[tuple[CodePath, AwsCall]]:
    """The table rows for one boto3 call among `paths` (empty: the call is not in the table)."""
    return [(p, c) for p in paths for c in p.calls if (c.service, c.operation) == (service, operation)]


# --- Bedrock: which ARNs a model id needs --------------------------------------------------------

# Destination regions of the system-defined cross-region inference profiles, by the profile id's
# geography prefix (AWS: "Supported Regions and models for inference profiles"). Routing can differ
# by model and source region; `aws bedrock get-inference-profile --inference-profile-identifier ID
# --query 'models[].modelArn'` lists a profile's real ones (docs/least-privilege.md).
PROFILE_REGIONS: Final[dict[str, tuple[str, ...]]] = {
    "us": ("us-east-1", "us-east-2", "us-west-2"),
    "eu": ("eu-central-1", "eu-north-1", "eu-west-1", "eu-west-3"),
    "apac": ("ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2"),
}


def bedrock_model_arns(model_id: str, region: str, account: str) -> list[str]:
    """ARNs a call naming `model_id` from `region` is authorized against.

    An inference profile id (`us.anthropic…`): the profile in the caller's region and the
    foundation model in every region the profile routes to. A plain foundation-model id: that model
    in the caller's region.
    """
    geo, _, base = model_id.partition(".")
    if geo in PROFILE_REGIONS and base:
        return [
            f"arn:aws:bedrock:{region}:{account}:inference-profile/{model_id}",
            *(f"arn:aws:bedrock:{r}::foundation-model/{base}" for r in PROFILE_REGIONS[geo]),
        ]
    return [f"arn:aws:bedrock:{region}::foundation-model/{model_id}"]
