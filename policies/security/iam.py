"""IAM: no wildcard action, no broad AWS-managed policy, and each role grants exactly what its code calls."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs
from pydantic import Field

from policies.common import PolicyConfig, resource_policy, stack_policy
from policies.placement import placement_of
from policies.props import elements, get, policy_document, worker_env
from policies.resource_types import (
    IAM_ATTACHMENTS,
    IAM_INLINE,
    IAM_POLICY,
    IAM_ROLE,
    LAMBDA_FUNCTION,
)
from workers.aws_actions import PATHS, actions_of, paths_for
from workers.contract import Env

# AWS-managed policies that grant every action of a service (or of all services).
BROAD_MANAGED_POLICY = re.compile(r":policy/(AdministratorAccess|PowerUserAccess|[A-Za-z0-9]*FullAccess)$")


def wildcard_actions(document: Mapping[str, Any]) -> list[str]:
    """The wildcard actions an IAM document allows: `*`, `service:*`, or any `NotAction` allow."""
    statements = document.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    found: list[str] = []
    for statement in statements if isinstance(statements, list) else []:
        if not isinstance(statement, Mapping) or statement.get("Effect", "Allow") != "Allow":
            continue
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions or []:
            if isinstance(action, str) and (action.strip() == "*" or action.strip().endswith(":*")):
                found.append(action.strip())
        if "NotAction" in statement:
            found.append("NotAction (allows every action not listed)")
    return found


def _documents(args: ResourceValidationArgs) -> Iterator[tuple[str, Any]]:
    props = args.props
    if args.resource_type == IAM_ROLE:
        for inline in elements(get(props, "inlinePolicies")):
            yield f"inline policy {get(inline, 'name') or '(unnamed)'!s}", get(inline, "policy")
    else:
        yield "policy", get(props, "policy")


class IamConfig(PolicyConfig):
    """Config of `iam-no-wildcard-actions`."""

    allowed_wildcard_actions: list[str] = Field(
        default=[], description="Wildcard actions (or managed policy ARNs) accepted anyway, e.g. 'logs:*'."
    )


def check_iam(args: ResourceValidationArgs, config: IamConfig, report: ReportViolation) -> None:
    """No statement allows a wildcard action; no broad AWS-managed policy is attached."""
    allowed = set(config.allowed_wildcard_actions)
    if args.resource_type in IAM_ATTACHMENTS:
        arn = get(args.props, "policyArn")
        if isinstance(arn, str) and BROAD_MANAGED_POLICY.search(arn) and arn not in allowed:
            report(
                f"{args.name!r} attaches {arn.rsplit('/', 1)[-1]}, which grants wildcard actions; "
                "attach a policy listing the actions the role needs",
                None,
            )
        return
    for where, raw in _documents(args):
        document = policy_document(raw)
        if document is None:
            continue
        bad = [a for a in wildcard_actions(document) if a not in allowed]
        if bad:
            report(
                f"{args.name!r} {where} allows wildcard action(s) {', '.join(sorted(set(bad)))}; list "
                "the specific actions instead",
                None,
            )


iam_no_wildcard_actions = resource_policy(
    name="iam-no-wildcard-actions",
    description="No IAM statement allows a wildcard action ('*' or 'service:*').",
    remediation=(
        "Replace each wildcard with the actions the role uses (e.g. s3:GetObject, s3:PutObject on the "
        "document bucket; secretsmanager:GetSecretValue on the stack's secrets) and attach no "
        "AdministratorAccess, PowerUserAccess or *FullAccess managed policy."
    ),
    types=(IAM_POLICY, IAM_ROLE, *IAM_INLINE, *IAM_ATTACHMENTS),
    config=IamConfig,
    check=check_iam,
)


# --- iam-actions-match-code --------------------------------------------------------------------

STARTER_TYPE = "docpipe:baseline:Starter"


def _owner(resource: PolicyResource, owners: Mapping[str, PolicyResource]) -> PolicyResource | None:
    node = resource.parent
    for _ in range(50):
        if node is None:
            return None
        if node.urn in owners:
            return owners[node.urn]
        node = node.parent
    return None


def _owned_env(
    resources: list[PolicyResource], owner: PolicyResource, owners: Mapping[str, PolicyResource]
) -> dict[str, str]:
    """The plain environment of an owner's code (Lambda variables, Cloud Run envs, EC2 env file)."""
    return worker_env(resources, lambda r: _owner(r, owners) is owner)


def _vpc_attached(
    resources: list[PolicyResource], owner: PolicyResource, owners: Mapping[str, PolicyResource]
) -> bool:
    return any(
        r.resource_type == LAMBDA_FUNCTION and bool(list(elements(get(r.props, "vpcConfig.subnetIds"))))
        for r in resources
        if _owner(r, owners) is owner
    )


def _backend(role: str, env: Mapping[str, str]) -> str | None:
    if role == "analysis":
        kind = env.get(Env.ANALYSIS_BACKEND, "heuristic")
        return kind if kind == "heuristic" else f"strands/{env.get(Env.MODEL_PROVIDER)}"
    if role == "extraction":
        return env.get(Env.EXTRACTION_BACKEND)
    return None


def _has_secret_refs(env: Mapping[str, str]) -> bool:
    import json

    try:
        refs = json.loads(env.get(Env.SECRET_REFS) or "{}")
    except json.JSONDecodeError:
        return False
    return isinstance(refs, dict) and any(str(v).startswith("arn:aws:secretsmanager:") for v in refs.values())


def expected_actions(role: str, target: str, env: Mapping[str, str], vpc_attached: bool) -> set[str]:
    """The actions workers/aws_actions.py says this role's code paths call (invoke role included)."""
    paths = list(
        paths_for(
            role,
            target=target,
            backend=_backend(role, env),
            secret_refs=_has_secret_refs(env),
            vpc_attached=vpc_attached,
        )
    )
    if target == "lambda" and role != "starter":
        paths.append(PATHS["temporal.invoke"])
    return actions_of(paths)


class ActionsMatchCodeConfig(PolicyConfig):
    """Config of `iam-actions-match-code`."""

    extra_allowed_actions: dict[str, list[str]] = Field(
        default={},
        description=(
            "Actions a role (workflow, extraction, analysis, enrichment, storage, starter) may grant beyond "
            "what workers/aws_actions.py lists, e.g. {'analysis': ['bedrock:ApplyGuardrail']}; say why in "
            "the config file."
        ),
    )


def check_actions_match_code(
    args: StackValidationArgs, config: ActionsMatchCodeConfig, report: ReportViolation
) -> None:
    """Each role's granted actions (all its inline policies) equal the table's for its code paths."""
    owners: dict[str, PolicyResource] = {}
    who: dict[str, tuple[str, str]] = {}
    for r in args.resources:
        placement = placement_of(r)
        if placement is not None:
            owners[r.urn], who[r.urn] = r, (placement.role, placement.target)
        elif r.resource_type == STARTER_TYPE:
            owners[r.urn], who[r.urn] = r, ("starter", "lambda")
    granted: dict[str, set[str]] = {urn: set() for urn in owners}
    for r in args.resources:
        if r.resource_type not in IAM_INLINE:
            continue
        owner = _owner(r, owners)
        document = policy_document(get(r.props, "policy"))
        if owner is None or document is None:
            continue
        statements = document.get("Statement", [])
        for st in [statements] if isinstance(statements, Mapping) else statements:
            if isinstance(st, Mapping) and st.get("Effect", "Allow") == "Allow":
                actions = st.get("Action", [])
                granted[owner.urn].update([actions] if isinstance(actions, str) else actions)
    for urn, owner in owners.items():
        role, target = who[urn]
        env = _owned_env(args.resources, owner, owners)
        want = expected_actions(role, target, env, _vpc_attached(args.resources, owner, owners))
        allowed = set(config.extra_allowed_actions.get(role, []))
        extra, missing = granted[urn] - want - allowed, want - granted[urn]
        if extra or missing:
            parts = []
            if extra:
                parts.append(f"grants {', '.join(sorted(extra))}, which no code path of the role calls")
            if missing:
                parts.append(f"lacks {', '.join(sorted(missing))}, which its code paths call")
            report(f"role {role} ({target}, {owner.name!r}) {'; '.join(parts)}", owner.urn)


iam_actions_match_code = stack_policy(
    name="iam-actions-match-code",
    description=(
        "Each role's IAM grants are exactly the actions its code paths call (workers/aws_actions.py), "
        "for its target, backend, secrets and VPC attachment."
    ),
    remediation=(
        "Do not edit a role's policy by hand: the program builds it from workers/aws_actions.py "
        "(infra/iam.py). If code calls a new AWS API, add the call to the code path's row there (boto3 "
        "service and operation, IAM action, resource kind) and tests/iam/ will run it under the new "
        "policy; if a grant is no longer called, remove it from the table. A policy declared outside "
        "infra/iam.py (a hand-written statement, an extra inline policy) is what this refuses."
    ),
    config=ActionsMatchCodeConfig,
    check=check_actions_match_code,
)
