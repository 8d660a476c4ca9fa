"""Every setting that decides a worker's behaviour reaches the runtime that uses it, on every target.

Backend keys (`docpipe:backends.*`) must arrive in each role's worker environment — Lambda variables,
Cloud Run envs, EC2 user data and `docpipe dev`'s processes — with the stack's value; each target's
sizing keys must arrive in its resource inputs, its Worker Deployment compute config or its workers'
environment. The walks are over the models' own fields, so a key added without a way to its runtime
fails here.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from docpipe.config import Backends
from docpipe.local.realize import Endpoints as LocalEndpoints
from docpipe.local.realize import realize
from docpipe.plan import RolePlacement, build_plan
from docpipe.stackfile import load_stack
from docpipe.worker_env import BACKEND_SETTINGS, backend_env
from infra.offline import OfflineResult, unwrap
from workers.contract import Env
from workers.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("extraction", "analysis", "enrichment")
# Distinct values for every backend key, none of them a default.
BACKEND_SETS = [
    "backends.extraction.serverUrl=https://unstructured.example.test",
    "backends.extraction.strategy=hi_res",
    "backends.extraction.splitPdfPage=false",
    "backends.analysis.provider=ollama",
    "backends.analysis.modelId=model-under-test",
    "backends.analysis.ollamaHost=http://ollama.example.test:1",
    "backends.analysis.maxConcurrentCalls=7",
    "backends.enrichment.timeoutSeconds=77",
    "backends.enrichment.maxConcurrentSandboxes=5",
]
ENV_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$", re.MULTILINE)


def _env(result: OfflineResult, role: str, target: str) -> dict[str, str]:
    """The plain environment a role's workers get, read from the resource that carries it."""
    if target == "lambda":
        fn = unwrap(result.named(f"{role}-lambda-function").inputs)
        return dict(fn["environment"]["variables"])
    if target == "cloudrun":
        pool = unwrap(result.named(f"{role}-cloudrun-pool").inputs)
        envs = pool["template"]["containers"][0]["envs"]
        return {e["name"]: e["value"] for e in envs if "value" in e}
    template = unwrap(result.named(f"{role}-ec2-template").inputs)
    script = base64.b64decode(template["userData"]).decode()
    env_file = script.split("<<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0]
    return dict(ENV_LINE.findall(env_file))


def test_every_backend_key_has_a_worker_variable() -> None:
    leaves = {
        f"{section}.{field.alias or name}"
        for section, model in Backends.model_fields.items()
        for name, field in model.annotation.model_fields.items()  # type: ignore[union-attr]
    }
    assert leaves == {s.path for s in BACKEND_SETTINGS}
    # ...and the worker reads each of those variables.
    read = {str(f.validation_alias.choices[0]) for f in Settings.model_fields.values()}  # type: ignore[union-attr]
    assert {s.env for s in BACKEND_SETTINGS} <= read


@pytest.mark.parametrize("target", ["ec2", "cloudrun", "lambda"])
def test_backend_settings_reach_each_targets_workers(run: Callable[..., OfflineResult], target: str) -> None:
    sets = [*BACKEND_SETS, *(f"activities.{r}.target={target}" for r in ROLES)]
    result = run("prod", sets)
    backends = result.plan.config.backends
    for role in ROLES:
        env = _env(result, role, target)
        expected = backend_env(role, backends)  # type: ignore[arg-type]
        assert expected, role
        missing = {k: v for k, v in expected.items() if env.get(k) != v}
        assert not missing, f"{role} on {target}: {missing} not in its workers' environment"
        assert env[Env.ACTIVITY_TIMEOUT_SECONDS] == str(result.plan[role].activity_timeout_seconds)  # type: ignore[index]
        settings = Settings.from_env(env)  # the worker reads them back as the stack says
        if role == "extraction":
            assert (settings.unstructured_strategy, settings.unstructured_split_pdf_page) == ("hi_res", False)
        if role == "enrichment":
            assert (settings.enrichment_timeout_seconds, settings.max_concurrent_sandboxes) == (77, 5)


def test_backend_settings_reach_docpipe_dev_workers() -> None:
    config, _ = load_stack("dev", ROOT, BACKEND_SETS[:3] + BACKEND_SETS[6:], placeholder_secrets=True)
    plan = build_plan(config)
    endpoints = LocalEndpoints("127.0.0.1:7233", "default", "postgresql://x", None, Path("/tmp/p"))
    for local in realize(plan, endpoints, env={"E2B_API_KEY": "e2b-test"}):  # no offline fallback
        if local.role not in ROLES:
            continue
        expected = backend_env(local.role, config.backends)  # type: ignore[arg-type]
        missing = {k: v for k, v in expected.items() if local.env.get(k) != v}
        assert not missing, f"docpipe dev {local.role}: {missing}"


# Where each sizing key of each target arrives: (what reads it, how to find it in the program).
Finder = Callable[[OfflineResult, RolePlacement], Any]


def _inputs(result: OfflineResult, name: str) -> dict[str, Any]:
    return unwrap(result.named(name).inputs)


def _compute(result: OfflineResult, p: RolePlacement) -> dict[str, Any]:
    found: dict[str, Any] = _inputs(result, f"{p.role}-deployment-version").get("compute") or {}
    return found


def _scaling(result: OfflineResult, p: RolePlacement) -> dict[str, Any]:
    """The pool's scaler settings where its scaler reads them: Temporal's compute config, or the
    ScaledObject of the stack's CremaConfig (utilisationTarget arrives as targetQueueSize)."""
    import yaml

    compute = _compute(result, p)
    if compute:
        return {**compute, "scaler": "temporal"}
    pool = _inputs(result, f"{p.role}-cloudrun-pool")
    document = yaml.safe_load(_inputs(result, "crema-config-version")["parameterData"])
    (found,) = [s["spec"] for s in document["spec"]["scaledObjects"] if s["metadata"]["name"] == pool["name"]]
    cpu = int(pool["template"]["containers"][0]["resources"]["limits"]["cpu"])
    u = p.sizing.utilisation_target  # type: ignore[attr-defined]
    queue = int(found["triggers"][0]["metadata"]["targetQueueSize"])
    return {
        "scaler": "crema",
        "minInstances": found["minReplicaCount"],
        "maxInstances": found["maxReplicaCount"],
        "utilisationTarget": u if queue == max(1, int(cpu * u)) else queue / cpu,
        "scaleDownSeconds": found["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"][
            "stabilizationWindowSeconds"
        ],
    }


SIZING_PATHS: dict[str, dict[str, Finder]] = {
    "lambda": {
        "memoryMb": lambda r, p: _inputs(r, f"{p.role}-lambda-function")["memorySize"],
        "timeoutSeconds": lambda r, p: _inputs(r, f"{p.role}-lambda-function")["timeout"],
        "reservedConcurrency": lambda r, p: _inputs(r, f"{p.role}-lambda-function").get(
            "reservedConcurrentExecutions"
        ),
        "provisionedConcurrency": lambda r, p: int(
            _inputs(r, f"{p.role}-lambda-function").get("publish") is True
            and _inputs(r, f"{p.role}-lambda-provisioned")["provisionedConcurrentExecutions"]
        ),
        "architecture": lambda r, p: _inputs(r, f"{p.role}-lambda-function")["architectures"][0],
    },
    "cloudrun": {
        "cpu": lambda r, p: int(
            _inputs(r, f"{p.role}-cloudrun-pool")["template"]["containers"][0]["resources"]["limits"]["cpu"]
        ),
        "memoryMib": lambda r, p: int(
            _inputs(r, f"{p.role}-cloudrun-pool")["template"]["containers"][0]["resources"]["limits"][
                "memory"
            ].removesuffix("Mi")
        ),
        "minInstances": lambda r, p: _scaling(r, p)["minInstances"],
        "maxInstances": lambda r, p: _scaling(r, p)["maxInstances"],
        "utilisationTarget": lambda r, p: _scaling(r, p)["utilisationTarget"],
        "scaleDownSeconds": lambda r, p: _scaling(r, p)["scaleDownSeconds"],
        "scaler": lambda r, p: _scaling(r, p)["scaler"],
    },
    "ec2": {
        "instanceType": lambda r, p: _inputs(r, f"{p.role}-ec2-template")["instanceType"],
        "minSize": lambda r, p: _inputs(r, f"{p.role}-ec2-asg")["minSize"],
        "desiredCapacity": lambda r, p: _inputs(r, f"{p.role}-ec2-asg")["desiredCapacity"],
        "maxSize": lambda r, p: _inputs(r, f"{p.role}-ec2-asg")["maxSize"],
        "volumeGb": lambda r, p: _inputs(r, f"{p.role}-ec2-template")["blockDeviceMappings"][0]["ebs"][
            "volumeSize"
        ],
    },
}
# Non-default sizing per target, so a value that never arrives cannot pass as a default.
SIZING_SETS = {
    "lambda": [
        "activities.enrichment.lambda.memoryMb=1536",
        "activities.enrichment.lambda.timeoutSeconds=700",
        "activities.enrichment.lambda.reservedConcurrency=6",
        "activities.enrichment.lambda.provisionedConcurrency=1",
        "activities.enrichment.lambda.architecture=x86_64",
    ],
    "cloudrun": [
        "activities.enrichment.cloudrun.cpu=2",
        "activities.enrichment.cloudrun.memoryMib=3072",
        "activities.enrichment.cloudrun.minInstances=1",
        "activities.enrichment.cloudrun.maxInstances=4",
        "activities.enrichment.cloudrun.utilisationTarget=0.6",
        "activities.enrichment.cloudrun.scaleDownSeconds=120",
        "activities.enrichment.cloudrun.scaler=crema",
    ],
    "ec2": [
        "activities.enrichment.ec2.instanceType=m7g.large",
        "activities.enrichment.ec2.minSize=2",
        "activities.enrichment.ec2.desiredCapacity=3",
        "activities.enrichment.ec2.maxSize=5",
        "activities.enrichment.ec2.volumeGb=33",
    ],
}


@pytest.mark.parametrize("target", ["ec2", "cloudrun", "lambda"])
def test_every_sizing_key_reaches_the_deployment(run: Callable[..., OfflineResult], target: str) -> None:
    # m7g.large is not in the price book: the stack prices it (config refuses a type it cannot price).
    priced = ["prices.ec2.hour.m7g.large=0.0816"] if target == "ec2" else []
    result = run("prod", [f"activities.enrichment.target={target}", *SIZING_SETS[target], *priced])
    placement = result.plan["enrichment"]  # type: ignore[index]
    declared = placement.sizing.model_dump(by_alias=True)
    assert set(SIZING_PATHS[target]) == set(declared), "a sizing key has no known way to its runtime"
    assert {s.split("=")[0].rsplit(".", 1)[1] for s in SIZING_SETS[target]} == set(declared)
    for key, find in SIZING_PATHS[target].items():
        assert find(result, placement) == declared[key], f"{target}.{key} does not reach the deployment"
    if target == "lambda":  # the timing derived from the activity timeout reaches the handler
        env, runtime = _env(result, "enrichment", "lambda"), placement.runtime()
        assert int(env[Env.LAMBDA_GRACEFUL_STOP_SECONDS]) == runtime["gracefulStopSeconds"] == 302
        assert int(env[Env.LAMBDA_DEADLINE_BUFFER_SECONDS]) == runtime["deadlineBufferSeconds"] == 304
