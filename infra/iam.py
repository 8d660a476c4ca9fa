"""Each role's IAM statements, built from the code-path table (workers/aws_actions.py) and the plan.

A role gets the actions of exactly the code paths it runs (`workers.aws_actions.paths_for`: its
entrypoint, its backend, its secret refs, its target's platform features), each on the ARNs of the
resource kind the table names — one statement per kind. The placements and the starter call these
builders instead of listing actions, so a grant cannot drift from the code: a new AWS call goes into
the table, and tests/iam/ runs every role's worker paths under the policy built here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pulumi

from docpipe.plan import RolePlacement
from infra.common import statement
from workers.aws_actions import CodePath, ResourceKind, bedrock_model_arns, paths_for

if TYPE_CHECKING:
    from infra.baseline import Baseline

Resources = Mapping[ResourceKind, Sequence[pulumi.Input[str]]]


class MissingResource(ValueError):
    """A code path needs a resource kind the caller gave no ARN for."""


def statements_for(paths: Sequence[CodePath], resources: Resources) -> list[dict[str, Any]]:
    """One Allow statement per resource kind the paths touch: its actions, on that kind's ARNs."""
    by_kind: dict[ResourceKind, set[str]] = {}
    for path in paths:
        for call in path.calls:
            by_kind.setdefault(call.resource, set()).add(call.action)
    out = []
    for kind, actions in by_kind.items():
        arns = list(resources.get(kind, ()))
        if not arns:
            names = ", ".join(p.name for p in paths if any(c.resource == kind for c in p.calls))
            raise MissingResource(f"code path(s) {names} need a {kind!r} resource, and none was given")
        out.append(statement(sorted(actions), arns))
    return out


def secret_ref_arns(p: RolePlacement, baseline: Baseline) -> list[pulumi.Output[str]]:
    """The Secrets Manager ARNs in the role's DOCPIPE_SECRET_REFS (infra.env.worker_env's refs)."""
    from infra.env import secret_names

    arns = list(baseline.secret_refs(secret_names(p, baseline)).values())
    if p.uses_cache and baseline.cache is not None:
        arns.append(baseline.cache.auth_secret_arn)
    return arns


def bedrock_arns(baseline: Baseline) -> list[pulumi.Output[str]]:
    """The inference profile / foundation-model ARNs the analysis model id needs (this account)."""
    import pulumi_aws as aws

    from workers.analysis.strands_agent import DEFAULT_MODELS

    config = baseline.config
    model_id = config.backends.analysis.model_id or DEFAULT_MODELS["bedrock"]
    region = config.aws_region
    count = len(bedrock_model_arns(model_id, region, "0"))
    account = aws.get_caller_identity_output().account_id

    def nth(i: int) -> pulumi.Output[str]:
        return account.apply(lambda a: bedrock_model_arns(model_id, region, a)[i])

    return [nth(i) for i in range(count)]


def role_paths(p: RolePlacement, baseline: Baseline) -> tuple[CodePath, ...]:
    """The code paths one role's workers run on its target (workers.aws_actions.paths_for)."""
    return paths_for(
        p.role,
        target=p.target,
        backend=p.backend,
        secret_refs=bool(secret_ref_arns(p, baseline)),
        vpc_attached=p.vpc_attached,
    )


def role_statements(
    p: RolePlacement, baseline: Baseline, *, log_group_arn: pulumi.Input[str] | None = None
) -> list[dict[str, Any]]:
    """The statements of one role's worker identity (instance profile, Lambda role, federated role)."""
    paths = role_paths(p, baseline)
    resources: dict[ResourceKind, list[pulumi.Input[str]]] = {
        "bucket-object": [pulumi.Output.concat(baseline.bucket.arn, "/*")],
        "secret-ref": list(secret_ref_arns(p, baseline)),
        "ecr-repository": [baseline.registries.ecr_arn],
        "any": ["*"],
    }
    if "database" in p.needs:
        resources["database-secret"] = [baseline.database.secret_arn]
    if log_group_arn is not None:
        resources["log-group"] = [pulumi.Output.concat(log_group_arn, ":*")]
    if any(path.name == "analysis.bedrock" for path in paths):
        resources["bedrock-model"] = list(bedrock_arns(baseline))
    return statements_for(paths, resources)


def starter_statements(
    *,
    bucket_arn: pulumi.Input[str],
    upload_prefix: str,
    log_group_arn: pulumi.Input[str],
    secret_arns: Sequence[pulumi.Input[str]],
    vpc: bool,
) -> list[dict[str, Any]]:
    """The bucket starter's statements: read new uploads, resolve its secret refs, write its logs."""
    paths = paths_for("starter", target="lambda", secret_refs=bool(secret_arns), vpc_attached=vpc)
    return statements_for(
        paths,
        {
            # Exactly the prefix the bucket notification starts on (bucket.uploadPrefix).
            "upload-object": [pulumi.Output.concat(bucket_arn, "/", upload_prefix, "*")],
            "secret-ref": list(secret_arns),
            "log-group": [pulumi.Output.concat(log_group_arn, ":*")],
            "any": ["*"],
        },
    )


def invoke_statements(function_arn: pulumi.Input[str]) -> list[dict[str, Any]]:
    """The role Temporal assumes to validate and invoke a Lambda worker (and its versions)."""
    from workers.aws_actions import PATHS

    return statements_for(
        [PATHS["temporal.invoke"]],
        {"worker-function": [function_arn, pulumi.Output.concat(function_arn, ":*")]},
    )
