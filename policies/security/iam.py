"""IAM: no statement allows a wildcard action, and no broad AWS-managed policy is attached."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs
from pydantic import Field

from policies.common import PolicyConfig, resource_policy
from policies.props import elements, get, policy_document
from policies.resource_types import IAM_ATTACHMENTS, IAM_INLINE, IAM_POLICY, IAM_ROLE

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
