"""Least privilege, proven: every role's AWS code paths run on moto under exactly the declared policy.

For each stack file (dev, prod) and every flip of a role to each other target, the program runs
offline (infra.offline); each IAM role it declares is created in moto (IAM checks on) with the
declared trust and inline policy, the role's credentials are obtained the way its platform obtains
them (sts:AssumeRole; Cloud Run: a Google ID token → AssumeRoleWithWebIdentity through workers.aws),
and the role's real worker code paths run with only those credentials (tests/iam/proof.py).

What moto 5.2.5 enforces here (tests/aws_emulator.py, pinned by tests/test_aws_emulator.py):
signatures and session tokens; the role's identity policy — Allow / Deny on actions for every
service; resources for S3 only (so the bucket / prefix scoping of S3 grants is moto's verdict); the
trust policy for sts:AssumeRole (Principal.AWS only). For Cloud Run roles, `WebIdentitySts` checks
the token and evaluates the declared trust policy (accounts.google.com:aud / :sub).

What moto does not, and what this suite adds:
- non-S3 resources: moto matches them against "*" only, so moto's copy of the policy has non-S3
  resources widened to "*" (moto still decides the *action*), and tests/iam/evaluator.py checks every
  recorded call's action **and ARN** (the secret's ARN, the Bedrock profile and each foundation
  model it routes to) against the declared, unwidened statements;
- conditions: moto ignores them; docpipe's identity policies declare none, and the evaluator
  treats a conditioned statement as never allowing;
- service trust (lambda.amazonaws.com / ec2.amazonaws.com): moto cannot be the service and fails on
  such statements, so its copy trusts the test's admin instead; test_trust_policies checks the
  declared principal per target;
- Bedrock: moto has no bedrock-runtime; the call is answered by a scripted ConverseStream in a
  boto3 `before-call` hook (tests/iam/recorder.py), recorded and judged by the evaluator;
- platform calls (image pull, log delivery, VPC ENIs, Temporal invoking a Lambda worker): no docpipe
  code makes them; test_platform_paths_are_declared checks the feature that needs them is declared.

Each failure line names the identity (`<variant>/<role>`), the action, the resource and the call.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.iam.declared import Identity, identities, variants
from tests.iam.proof import Proof, World, evaluate, grant_problems, table_paths

pytestmark = pytest.mark.services

VARIANT_IDS = [v.id for v in variants()]


def _runnable(variant: str) -> list[Identity]:
    return [i for i in identities(variant).values() if i.kind != "invoke"]


@pytest.mark.parametrize("variant", VARIANT_IDS)
def test_every_role_runs_its_code_paths_under_the_declared_policy(variant: str, world: World) -> None:
    problems: list[str] = []
    for identity in _runnable(variant):
        proof = world.prove(variant, identity)
        assert proof.calls, f"{variant}/{identity.key}: no AWS call recorded (steps: {proof.steps})"
        problems += proof.problems
        problems += grant_problems(f"{variant}/{identity.key}", identity, proof.observed_actions())
    assert not problems, "\n".join(problems)


def _principal(identity: Identity) -> dict[str, Any]:
    (statement,) = identity.trust["Statement"]
    return dict(statement)


@pytest.mark.parametrize("variant", VARIANT_IDS)
def test_trust_policies(variant: str) -> None:
    for identity in identities(variant).values():
        st = _principal(identity)
        where = f"{variant}/{identity.key}"
        assert st["Effect"] == "Allow", where
        if identity.kind == "invoke":
            assert st["Action"] == "sts:AssumeRole" and "AWS" in st["Principal"], where
            assert set(st["Condition"]["StringEquals"]) == {"sts:ExternalId"}, where
        elif identity.target == "cloudrun":
            assert st["Principal"] == {"Federated": "accounts.google.com"}, where
            assert st["Action"] == "sts:AssumeRoleWithWebIdentity", where
            assert set(st["Condition"]["StringEquals"]) == {
                "accounts.google.com:aud",
                "accounts.google.com:sub",
            }
        else:
            service = {"ec2": "ec2.amazonaws.com", "lambda": "lambda.amazonaws.com"}[identity.target]
            assert st == {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}, (
                where
            )


@pytest.mark.parametrize("variant", VARIANT_IDS)
def test_platform_paths_are_declared(variant: str) -> None:
    """Platform grants are there because the placement declares the feature that needs them."""
    for identity in identities(variant).values():
        names = {p.name for p in table_paths(identity)} if identity.kind != "invoke" else {"temporal.invoke"}
        where = f"{variant}/{identity.key}"
        script = identity.features.get("userData", "")
        if identity.kind == "invoke":
            assert identity.granted_actions() == {"lambda:InvokeFunction", "lambda:GetFunction"}, where
            continue
        assert ("ec2.image-pull" in names) == (
            "aws ecr get-login-password" in script and "docker run" in script
        ), where
        assert ("ec2.awslogs" in names) == ("--log-driver=awslogs" in script), where
        assert ("lambda.logs" in names) == bool(identity.features.get("lambdaLogGroup")), where
        assert ("lambda.vpc" in names) == identity.vpc_attached, where


# --- the suite catches a missing or an extra grant --------------------------------------------


def _without(identity: Identity, action: str) -> list[dict[str, Any]]:
    statements = copy.deepcopy(identity.statements)
    for st in statements:
        st["Action"] = [a for a in st["Action"] if a != action]
    return [st for st in statements if st["Action"]]


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_deleting_any_granted_action_names_role_action_and_call(variant: str, world: World) -> None:
    """Each worker action removed in turn: the evaluator names the identity, the action and the call."""
    checked = 0
    for identity in _runnable(variant):
        proof = world.prove(variant, identity)
        for action in sorted(proof.observed_actions()):
            statements = _without(identity, action)
            found = [
                line
                for call in proof.calls
                for line in evaluate(f"{variant}/{identity.key}", statements, call)
            ]
            assert found, f"removing {action} from {variant}/{identity.key} went unnoticed"
            assert all(f"{variant}/{identity.key}" in line and action in line for line in found)
            assert any(" which " in line and "(" in line for line in found)  # names the call
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize(
    ("role", "action"),
    [
        ("extraction", "s3:GetObject"),
        ("storage", "secretsmanager:GetSecretValue"),
        ("analysis", "s3:PutObject"),
    ],
)
def test_a_policy_missing_an_action_fails_on_moto_too(role: str, action: str, world: World) -> None:
    identity = identities("prod")[role]
    mutated = Identity(
        **{**identity.__dict__, "policy": {**identity.policy, "Statement": _without(identity, action)}}
    )
    proof: Proof = world._prove(f"prod/{role} without {action}", mutated)
    text = "\n".join(proof.problems)
    assert f"prod/{role} without {action}: the declared policy does not allow {action}" in text
    if action.startswith("s3:"):  # moto enforces S3 actions and resources itself
        assert "moto denied s3." in text
    else:  # moto decides the action (its copy has Resource "*"), the evaluator the ARN
        assert "moto denied secretsmanager.GetSecretValue" in text or "step " in text


def test_an_unused_grant_is_named() -> None:
    identity = identities("prod")["extraction"]
    statements = copy.deepcopy(identity.statements)
    statements[0]["Action"] = [*statements[0]["Action"], "s3:DeleteObject"]
    extra = Identity(**{**identity.__dict__, "policy": {**identity.policy, "Statement": statements}})
    observed = {a for a in identity.granted_actions()}
    problems = grant_problems("prod/extraction", extra, observed)
    assert (
        "prod/extraction: grants s3:DeleteObject, which no code path of this role in the table calls"
        in problems
    )
