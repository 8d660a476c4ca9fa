"""The IAM identities the Pulumi program declares, read from an offline run (infra.offline).

For every `aws:iam/role:Role` of a run: its trust policy, its inline policy (the `RolePolicy` whose
`role` is that role's id), who it belongs to (a placement component's role and target, or the
bucket starter) and the environment the identity's code runs with (the Lambda function's
variables, the Cloud Run worker pool's plain envs, or the env file in the EC2 boot script).

`VARIANTS`: each stack file as written, and every role flipped to each other target (storage flips
with a publicly reachable database, which Cloud Run needs — the same overlay tests/infra uses).
"""

from __future__ import annotations

import base64
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from infra.offline import OfflineResult, Registered, unwrap
from tests.infra.conftest import run_stack
from workers.contract import ROLES

TARGETS = ("ec2", "cloudrun", "lambda")
STACKS = ("dev", "prod")
PUBLIC_DB = {"docpipe:database": {"reachability": "public-tls", "allowedCidrs": ["203.0.113.0/24"]}}


@dataclass(frozen=True)
class Variant:
    id: str
    stack: str
    sets: tuple[str, ...] = ()
    overlay: dict[str, Any] | None = None

    def run(self) -> OfflineResult:
        return run_stack(self.stack, self.sets, overlay=self.overlay)


def _variants() -> list[Variant]:
    out = [Variant(stack, stack) for stack in STACKS]
    for stack in STACKS:
        base = run_stack(stack)
        for role in ROLES:
            for target in TARGETS:
                if base.plan[role].target == target:  # type: ignore[index]
                    continue
                out.append(
                    Variant(
                        f"{stack}:{role}={target}",
                        stack,
                        (f"activities.{role}.target={target}",),
                        PUBLIC_DB if role == "storage" else None,
                    )
                )
    return out


@functools.cache
def variants() -> tuple[Variant, ...]:
    return tuple(_variants())


@dataclass(frozen=True)
class Identity:
    """One IAM role the program declares, with what its code runs with."""

    key: str  # "extraction", "starter", "extraction:invoke"
    role: str  # docpipe role, or "starter"
    target: str  # ec2 / cloudrun / lambda (the starter is a Lambda)
    kind: str  # "worker", "starter" or "invoke" (the role Temporal assumes to invoke a Lambda worker)
    resource_name: str
    trust: dict[str, Any]
    policy: dict[str, Any]
    env: dict[str, str]
    vpc_attached: bool
    features: dict[str, Any] = field(default_factory=dict)  # user data, log config: platform paths

    @property
    def statements(self) -> list[dict[str, Any]]:
        return list(self.policy.get("Statement", []))

    def granted_actions(self) -> set[str]:
        return {
            a for st in self.statements if st.get("Effect") == "Allow" for a in _list(st.get("Action", []))
        }


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _json(value: Any) -> dict[str, Any]:
    value = unwrap(value)
    return json.loads(value) if isinstance(value, str) else dict(value or {})


_ENV_FILE = re.compile(r"cat > /etc/docpipe\.env <<'EOF'\n(.*?)\nEOF", re.DOTALL)


def _under(result: OfflineResult, component: Registered) -> list[Registered]:
    return [r for r in result.resources if component in result.ancestors(r)]


def _env_of(result: OfflineResult, component: Registered) -> tuple[dict[str, str], bool, dict[str, Any]]:
    env: dict[str, str] = {}
    vpc = False
    features: dict[str, Any] = {}
    for r in _under(result, component):
        inputs = unwrap(r.inputs)
        if r.type == "aws:lambda/function:Function":
            env.update({k: str(v) for k, v in (inputs.get("environment", {}).get("variables") or {}).items()})
            vpc = bool((inputs.get("vpcConfig") or {}).get("subnetIds"))
            features["lambdaLogGroup"] = (inputs.get("loggingConfig") or {}).get("logGroup")
        elif r.type == "gcp:cloudrunv2/workerPool:WorkerPool":
            for container in inputs.get("template", {}).get("containers", []):
                env.update({e["name"]: str(e["value"]) for e in container.get("envs", []) if "value" in e})
        elif r.type == "aws:ec2/launchTemplate:LaunchTemplate":
            script = base64.b64decode(inputs["userData"]).decode()
            features["userData"] = script
            match = _ENV_FILE.search(script)
            if match:
                env.update(dict(line.split("=", 1) for line in match.group(1).splitlines() if "=" in line))
        elif r.type == "aws:cloudwatch/logGroup:LogGroup":
            features.setdefault("logGroups", []).append(inputs.get("name"))
    return env, vpc, features


@functools.cache
def identities(variant_id: str) -> dict[str, Identity]:
    variant = next(v for v in variants() if v.id == variant_id)
    result = variant.run()
    policies = {str(p.inputs.get("role")): p for p in result.of_type("aws:iam/rolePolicy:RolePolicy")}
    out: dict[str, Identity] = {}
    for res in result.of_type("aws:iam/role:Role"):
        top = result.top_component(res)
        if top is None:
            raise AssertionError(f"role {res.name} belongs to no component")
        policy = policies.get(f"{res.name}-id")  # the mocks give a resource the id "<name>-id"
        if top.type == "docpipe:baseline:Starter":
            role, target, kind = "starter", "lambda", "starter"
        elif top.type.startswith("docpipe:placement:"):
            role, target = str(top.inputs["role"]), str(top.inputs["target"])
            kind = "invoke" if res.name.endswith("temporal-invoke") else "worker"
        else:
            raise AssertionError(f"role {res.name} is under {top.type}, which tests/iam does not know")
        env, vpc, features = _env_of(result, top)
        key = role if kind in ("worker", "starter") else f"{role}:{kind}"
        out[key] = Identity(
            key=key,
            role=role,
            target=target,
            kind=kind,
            resource_name=res.name,
            trust=_json(res.inputs.get("assumeRolePolicy")),
            policy=_json(policy.inputs["policy"]) if policy is not None else {"Statement": []},
            env=env,
            vpc_attached=vpc,
            features=features,
        )
    return out
