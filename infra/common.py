"""Small helpers shared by the baseline and the placements: IAM documents, options, tags."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

# Never a wildcard action: each statement names the API calls it allows (policy-pack rule).
Statement = Mapping[str, Any]


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a child of a component: parented, so it moves and is grouped with it."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def statement(actions: Sequence[str], resources: Sequence[Any], **extra: Any) -> dict[str, Any]:
    for action in actions:
        if "*" in action:
            raise ValueError(f"IAM action {action!r} has a wildcard; name the API calls instead")
    return {"Effect": "Allow", "Action": list(actions), "Resource": list(resources), **extra}


def policy_document(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """An IAM policy JSON document; resources may be Outputs (ARNs)."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def tags(stack: str, component: str, **extra: str) -> dict[str, str]:
    return {"docpipe:stack": stack, "docpipe:component": component, **extra}


def as_secret(value: pulumi.Input[str]) -> pulumi.Output[str]:
    """`value` marked secret (typed helper around Output.secret)."""
    out: pulumi.Output[str] = pulumi.Output.secret(value)
    return out
