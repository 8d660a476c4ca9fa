"""The Worker Deployment provider's logic against a real Temporal dev server.

What the dev server cannot do is asserted too, so a newer server that starts supporting it makes
these tests fail loudly: attaching a compute config (the worker controller is off by default; with
it on, the server validates the config by assuming the AWS role / impersonating the GCP service
account, which needs cloud credentials this machine does not have).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from infra import worker_deployments as versioning
from infra.versioning import VersionSpec, diff_props

pytestmark = pytest.mark.services

TEMPORAL = shutil.which("temporal") or str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "temporal")

LAMBDA_COMPUTE = {
    "provider": "aws-lambda",
    "arn": "arn:aws:lambda:us-east-1:123456789012:function:docpipe-test",
    "role": "arn:aws:iam::123456789012:role/docpipe-test-temporal-invoke",
    "roleExternalId": "external-id-for-tests",
}
CLOUD_RUN_COMPUTE = {
    "provider": "gcp-cloud-run",
    "project": "docpipe-test",
    "region": "us-central1",
    "workerPool": "docpipe-test-extraction",
    "serviceAccount": "scaler@docpipe-test.iam.gserviceaccount.com",
    "minInstances": 0,
    "maxInstances": 3,
    "utilisationTarget": 0.75,
    "scaleDownSeconds": 300,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_dev_server(tmp: Path, *extra: str) -> Iterator[str]:
    port, ui, http, metrics = (_free_port() for _ in range(4))
    proc = subprocess.Popen(
        [
            TEMPORAL, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
            "--port", str(port), "--ui-port", str(ui), "--http-port", str(http),
            "--metrics-port", str(metrics), "--db-filename", str(tmp / "temporal.db"),
            "--log-level", "error", *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None:
                raise RuntimeError(f"temporal dev server exited with {proc.returncode}")
            time.sleep(0.1)
        else:
            raise RuntimeError("temporal dev server did not start within 20 s")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _start_dev_server(tmp_path_factory.mktemp("temporal"))


@pytest.fixture(scope="module")
def dev_server_with_worker_controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _start_dev_server(
        tmp_path_factory.mktemp("temporal-wc"),
        "--dynamic-config-value", "workercontroller.enabled=true",
        "--dynamic-config-value", 'workercontroller.compute_providers.enabled=["aws-lambda","gcp-cloud-run"]',
        "--dynamic-config-value", 'workercontroller.scaling_algorithms.enabled=["no-sync","rate-based"]',
    )  # fmt: skip


def _spec(address: str, **kw: object) -> VersionSpec:
    base = VersionSpec(
        address=address,
        namespace="default",
        deployment_name=f"docpipe-test-{uuid.uuid4().hex[:8]}",
        build_id="v1",
        metadata={"docpipe.role": "extraction", "managed-by": "pulumi"},
    )
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_cloud_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AWS_", "GOOGLE_")):
            monkeypatch.delenv(name)


async def test_create_sets_version_current_with_metadata(dev_server: str) -> None:
    spec = _spec(dev_server)
    client = await versioning.connect(spec)
    await versioning.apply(client, spec)
    state = await versioning.describe(client, spec)
    assert state is not None
    assert state["current"] is True
    assert state["metadata"] == {"docpipe.role": "extraction", "managed-by": "pulumi"}
    assert state["computeProviders"] == []


async def test_create_is_idempotent(dev_server: str) -> None:
    spec = _spec(dev_server)
    client = await versioning.connect(spec)
    await versioning.apply(client, spec)
    await versioning.apply(client, spec)  # a retried create after a partial failure
    state = await versioning.describe(client, spec)
    assert state is not None and state["current"] is True


async def test_new_build_id_becomes_current_and_old_is_retired(dev_server: str) -> None:
    old = _spec(dev_server)
    new = replace(old, build_id="v2")
    client = await versioning.connect(old)
    await versioning.apply(client, old)
    # Pulumi replaces create-before-delete: the new version is current before the old one goes.
    await versioning.apply(client, new)
    old_state = await versioning.describe(client, old)
    assert old_state is not None and old_state["current"] is False
    # The replaced version drains (pinned workflows may still need it): the server refuses to
    # delete it, so retire leaves it to Temporal's own clean-up and says so, without failing.
    notes = await versioning.retire(client, old)
    kept = await versioning.describe(client, old)
    assert kept is not None and kept["status"] == "WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING"
    assert any("kept" in n and "v1" in n for n in notes)
    new_state = await versioning.describe(client, new)
    assert new_state is not None and new_state["current"] is True


async def test_delete_unsets_current_and_removes_everything(dev_server: str) -> None:
    spec = _spec(dev_server)
    client = await versioning.connect(spec)
    await versioning.apply(client, spec)
    assert await versioning.retire(client, spec) == []
    assert await versioning.describe(client, spec) is None
    assert await versioning.retire(client, spec) == []  # deleting twice is harmless


async def test_dev_server_rejects_compute_config_without_worker_controller(dev_server: str) -> None:
    spec = _spec(dev_server, compute=LAMBDA_COMPUTE)
    client = await versioning.connect(spec)
    with pytest.raises(RPCError, match="Could not instantiate compute provider"):
        await versioning.apply(client, spec)
    # The version itself was created first, so a retry after enabling the controller resumes.
    state = await versioning.describe(client, spec)
    assert state is not None and state["current"] is False


@pytest.mark.parametrize(
    ("compute", "message"),
    [
        (LAMBDA_COMPUTE, "failed to assume role"),
        (CLOUD_RUN_COMPUTE, "impersonated credentials"),
    ],
    ids=["aws-lambda", "gcp-cloud-run"],
)
async def test_worker_controller_validates_compute_config_against_the_cloud(
    dev_server_with_worker_controller: str,
    compute: dict[str, object],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The refusal looks like IAM still propagating, so `apply` retries it for PROPAGATION_SECONDS
    # (shortened here), then gives up showing Temporal's error and what to check.
    monkeypatch.setattr(versioning, "PROPAGATION_SECONDS", 2.0)
    calls: list[str] = []
    real = versioning.set_compute

    async def counted(*args: object, **kwargs: object) -> None:
        calls.append("set")
        await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(versioning, "set_compute", counted)
    spec = _spec(dev_server_with_worker_controller, compute=compute)
    client: Client = await versioning.connect(spec)
    with pytest.raises(RPCError, match=message) as err:
        await versioning.apply(client, spec)
    assert "still refused after 2 s of retries while IAM propagates" in err.value.message
    assert len(calls) >= 2


async def test_compute_config_refused_while_iam_propagates_is_retried_until_it_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refusals = [
        RPCError("failed to assume role: AccessDenied", RPCStatusCode.INVALID_ARGUMENT, b""),
        RPCError("failed to assume role: AccessDenied", RPCStatusCode.INVALID_ARGUMENT, b""),
    ]
    calls: list[str] = []

    async def flaky(*args: object, **kwargs: object) -> None:
        calls.append("set")
        if refusals:
            raise refusals.pop()

    monkeypatch.setattr(versioning, "set_compute", flaky)
    spec = _spec("unused:7233", compute=LAMBDA_COMPUTE)
    await versioning.set_compute_when_iam_allows(None, spec, budget_seconds=30)  # type: ignore[arg-type]
    assert len(calls) == 3
    # Anything else is not retried.
    monkeypatch.setattr(
        versioning, "set_compute", _raises(RPCError("bad details", RPCStatusCode.INVALID_ARGUMENT, b""))
    )
    with pytest.raises(RPCError, match="bad details"):
        await versioning.set_compute_when_iam_allows(None, spec, budget_seconds=30)  # type: ignore[arg-type]


def _raises(err: Exception):
    async def fail(*args: object, **kwargs: object) -> None:
        raise err

    return fail


def test_compute_config_wire_format() -> None:
    group = versioning.scaling_group(LAMBDA_COMPUTE)
    assert group.provider.type == "aws-lambda"
    assert group.scaler.type == "no-sync"
    assert group.provider.details.metadata["encoding"] == b"json/plain"
    assert b'"role_external_id": "external-id-for-tests"' in group.provider.details.data
    run = versioning.scaling_group(CLOUD_RUN_COMPUTE)
    assert (run.provider.type, run.scaler.type) == ("gcp-cloud-run", "rate-based")
    assert b'"max_count": 3' in run.scaler.details.data
    # The scale-down window and utilisation target are the plan's (the cost model prices the same).
    assert b'"no_sync_quiet_ms": 300000' in run.scaler.details.data
    assert b'"utilization_target": 0.75' in run.scaler.details.data
    with pytest.raises(ValueError, match="valid: aws-lambda, gcp-cloud-run"):
        versioning.scaling_group({"provider": "aws-ecs"})


def test_diff_replaces_on_new_build_and_updates_compute_in_place() -> None:
    olds = {"address": "a:7233", "namespace": "n", "deploymentName": "d", "buildId": "v1", "compute": None}
    assert diff_props(olds, dict(olds)) == (False, [])
    assert diff_props(olds, {**olds, "buildId": "v2"}) == (True, ["buildId"])
    assert diff_props(olds, {**olds, "compute": LAMBDA_COMPUTE}) == (True, [])


def test_provider_create_update_delete(dev_server: str) -> None:
    """The dynamic provider's own methods, as the Pulumi engine calls them."""
    import asyncio

    from infra.versioning import DeploymentVersionProvider

    spec = _spec(dev_server)
    props = {
        "address": dev_server,
        "namespace": "default",
        "deploymentName": spec.deployment_name,
        "buildId": "v1",
        "tls": False,
        "apiKey": None,
        "compute": None,
        "metadata": {"docpipe.role": "storage"},
    }
    provider = DeploymentVersionProvider()
    created = provider.create(props)
    assert created.id == f"default/{spec.deployment_name}/v1"

    async def state(s: VersionSpec) -> dict[str, object] | None:
        return await versioning.describe(await versioning.connect(s), s)

    assert (asyncio.run(state(spec)) or {})["current"] is True
    news = {**props, "metadata": {"docpipe.role": "storage", "docpipe.target": "ec2"}}
    assert provider.diff(created.id, props, news).replaces == []
    provider.update(created.id, props, news)
    assert (asyncio.run(state(spec)) or {})["metadata"] == {
        "docpipe.role": "storage",
        "docpipe.target": "ec2",
    }
    provider.delete(created.id, news)
    assert asyncio.run(state(spec)) is None
