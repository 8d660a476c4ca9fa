"""Every declared policy document, linted by parliament (duo-labs, AWS's IAM definitions bundled).

Unknown actions, resource ARNs of the wrong type for an action, unknown condition keys and the rest
of parliament's findings fail the suite, except the allow-listed ones below, each with its reason.

The mocks name resources `arn:aws:<pulumi module>:…:<resource name>` (infra.offline), which for log
groups and ECR repositories is not the form AWS gives them; the linter sees those ARNs rewritten to
AWS's form (`…:logs:…:log-group:<name>`, `…:ecr:…:repository/<name>`) — what the deployed policy holds.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from parliament import analyze_policy_string, is_arn_match

from tests.iam.declared import identities, variants

# (finding, the actions it is about) → why it is accepted.
ALLOWED: dict[tuple[str, frozenset[str]], str] = {
    (
        "RESOURCE_STAR",
        frozenset(
            {
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            }
        ),
    ): (
        "the Lambda service manages a VPC function's ENIs in subnets and security groups it picks; "
        "AWS's own AWSLambdaVPCAccessExecutionRole grants these on '*'"
    ),
    (
        "RESOURCE_MISMATCH",
        frozenset({"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}),
    ): (
        "parliament 1.6.4 reports every Bedrock ARN as a mismatch for these actions, even ones matching "
        "its own inference-profile / foundation-model formats; test_bedrock_arns_have_the_documented_form "
        "checks them with parliament's matcher instead"
    ),
}

_MOCK_LOGS = re.compile(r"arn:aws:cloudwatch:([^:]+):(\d+):([^:]+)")
_MOCK_ECR = re.compile(r"arn:aws:ecr:([^:]+):(\d+):([^:/]+)$")


def _as_deployed(value: Any) -> Any:
    if isinstance(value, str):
        value = _MOCK_LOGS.sub(r"arn:aws:logs:\1:\2:log-group:\3", value)
        return _MOCK_ECR.sub(r"arn:aws:ecr:\1:\2:repository/\3", value)
    if isinstance(value, list):
        return [_as_deployed(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_deployed(v) for k, v in value.items()}
    return value


def findings(policy: dict[str, Any]) -> list[tuple[str, frozenset[str], str]]:
    analyzed = analyze_policy_string(json.dumps(policy), ignore_private_auditors=True)
    out = []
    for f in analyzed.findings:
        detail = f.detail
        if isinstance(detail, list):
            actions = frozenset(d["action"] if isinstance(d, dict) else str(d) for d in detail)
        else:
            actions = frozenset()
        out.append((f.issue, actions, json.dumps(detail, default=str)[:300]))
    return out


def _unexplained(policy: dict[str, Any]) -> list[str]:
    return [
        f"{issue}: {detail}"
        for issue, actions, detail in findings(policy)
        if not any(issue == a_issue and actions <= a_actions for a_issue, a_actions in ALLOWED)
    ]


@pytest.mark.parametrize("variant", [v.id for v in variants()])
def test_declared_policies_lint_clean(variant: str) -> None:
    problems = []
    for identity in identities(variant).values():
        for line in _unexplained(_as_deployed(identity.policy)):
            problems.append(f"{variant}/{identity.key} ({identity.resource_name}): {line}")
    assert not problems, "\n".join(problems)


def test_bedrock_arns_have_the_documented_form() -> None:
    (statement,) = [
        s for s in identities("prod")["analysis"].statements if "bedrock:InvokeModel" in s["Action"]
    ]
    kinds = {
        "inference-profile": "arn:*:bedrock:*:*:inference-profile/*",
        "foundation-model": "arn:*:bedrock:*::foundation-model/*",
    }
    for arn in statement["Resource"]:
        kind = "inference-profile" if ":inference-profile/" in arn else "foundation-model"
        assert is_arn_match(kind, kinds[kind], arn), arn


@pytest.mark.parametrize(
    ("statement", "issue"),
    [
        ({"Action": ["s3:GetObjekt"], "Resource": ["arn:aws:s3:::b/*"]}, "UNKNOWN_ACTION"),
        (
            {
                "Action": ["s3:GetObject"],
                "Resource": ["arn:aws:secretsmanager:us-east-1:123456789012:secret:x"],
            },
            "RESOURCE_MISMATCH",
        ),
        (
            {
                "Action": ["s3:GetObject"],
                "Resource": ["arn:aws:s3:::b/*"],
                "Condition": {"StringEquals": {"s3:noSuchKey": "x"}},
            },
            "UNKNOWN_CONDITION_FOR_ACTION",
        ),
    ],
)
def test_the_linter_catches_what_it_is_here_for(statement: dict[str, Any], issue: str) -> None:
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]}
    assert issue in {f[0] for f in findings(policy)}
    assert _unexplained(policy)
