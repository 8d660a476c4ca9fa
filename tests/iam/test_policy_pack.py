"""`iam-actions-match-code`: the policy pack refuses a role whose grants differ from the table.

Run through policies.runner (the pack's own policies, as `docpipe plan` and the CLI run them) on
the recorded resources of each stack file and of every role flip.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.iam.declared import variants
from tests.policies.policy_helpers import edit, messages, of_type, resources

POLICY = "iam-actions-match-code"


@pytest.mark.parametrize("variant", [v for v in variants() if not v.overlay], ids=lambda v: v.id)
def test_the_declared_stacks_pass(variant: Any) -> None:
    assert messages(POLICY, resources(variant.stack, *variant.sets), stack=variant.stack) == []


def _add_action(action: str):
    def change(inputs: dict[str, Any]) -> None:
        doc = json.loads(inputs["policy"])
        doc["Statement"][0]["Action"].append(action)
        inputs["policy"] = json.dumps(doc)

    return change


def _drop_action(action: str):
    def change(inputs: dict[str, Any]) -> None:
        doc = json.loads(inputs["policy"])
        for st in doc["Statement"]:
            st["Action"] = [a for a in st["Action"] if a != action]
        doc["Statement"] = [st for st in doc["Statement"] if st["Action"]]
        inputs["policy"] = json.dumps(doc)

    return change


def test_an_extra_grant_is_refused_with_role_and_action() -> None:
    items = edit(
        resources("prod"),
        of_type("aws:iam/rolePolicy:RolePolicy", "extraction-cloudrun-aws-policy"),
        _add_action("s3:DeleteObject"),
    )
    assert messages(POLICY, items, stack="prod") == [
        "role extraction (cloudrun, 'extraction-cloudrun') grants s3:DeleteObject, "
        "which no code path of the role calls"
    ]


def test_a_missing_grant_is_refused_with_role_and_action() -> None:
    items = edit(
        resources("prod"),
        of_type("aws:iam/rolePolicy:RolePolicy", "analysis-cloudrun-aws-policy"),
        _drop_action("bedrock:InvokeModelWithResponseStream"),
    )
    assert messages(POLICY, items, stack="prod") == [
        "role analysis (cloudrun, 'analysis-cloudrun') lacks bedrock:InvokeModelWithResponseStream, "
        "which its code paths call"
    ]


def test_the_starter_is_checked_too() -> None:
    items = edit(
        resources("dev"),
        of_type("aws:iam/rolePolicy:RolePolicy", "starter-policy"),
        _add_action("s3:PutObject"),
    )
    assert messages(POLICY, items) == [
        "role starter (lambda, 'starter') grants s3:PutObject, which no code path of the role calls"
    ]
