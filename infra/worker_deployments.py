"""Worker Deployment RPCs behind infra.versioning's dynamic provider (plain async functions).

Create / update / describe / retire one role's Worker Deployment version over the workflow-service
RPCs (temporalio 1.35 has no higher-level client API for them). The compute-config wire format
(provider `aws-lambda` / `gcp-cloud-run` with JSON details, scaler `no-sync` / `rate-based`) is what
`temporal worker deployment create-version` (CLI 1.9.1) sends.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from temporalio.api.common.v1 import message_pb2 as common
from temporalio.api.compute.v1 import config_pb2, provider_pb2, scaler_pb2
from temporalio.api.enums.v1 import WorkerDeploymentVersionStatus
from temporalio.api.workflowservice.v1 import request_response_pb2 as rr
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from infra.versioning import IDENTITY, SCALING_GROUP, VersionSpec
from workers.versioning import set_current_version


def _json_payload(value: Mapping[str, Any]) -> common.Payload:
    return common.Payload(
        metadata={"encoding": b"json/plain"}, data=json.dumps(value, sort_keys=True).encode()
    )


def scaling_group(compute: Mapping[str, Any]) -> config_pb2.ComputeConfigScalingGroup:
    """The compute config scaling group for a Lambda or Cloud Run role."""
    kind = compute.get("provider")
    if kind == "aws-lambda":
        details = {
            "arn": compute["arn"],
            "role": compute["role"],
            "role_external_id": compute["roleExternalId"],
        }
        return config_pb2.ComputeConfigScalingGroup(
            provider=provider_pb2.ComputeProvider(type="aws-lambda", details=_json_payload(details)),
            scaler=scaler_pb2.ComputeScaler(type="no-sync"),
        )
    if kind == "gcp-cloud-run":
        details = {
            "project": compute["project"],
            "region": compute["region"],
            "service_account": compute["serviceAccount"],
            "worker_pool": compute["workerPool"],
        }
        # The five coupled settings, as the plan's runtime() declares them (CloudRunTarget.runtime).
        low, high = int(compute["minInstances"]), int(compute["maxInstances"])
        scaler = {
            "initial_count": int(compute.get("initialInstances", low)),
            "min_count": low,
            "max_count": high,
            "no_sync_quiet_ms": int(compute["scaleDownSeconds"]) * 1000,
            "utilization_target": float(compute["utilisationTarget"]),
        }
        return config_pb2.ComputeConfigScalingGroup(
            provider=provider_pb2.ComputeProvider(type="gcp-cloud-run", details=_json_payload(details)),
            scaler=scaler_pb2.ComputeScaler(type="rate-based", details=_json_payload(scaler)),
        )
    raise ValueError(f"unknown compute provider {kind!r}; valid: aws-lambda, gcp-cloud-run")


async def connect(spec: VersionSpec) -> Client:
    return await Client.connect(
        spec.address, namespace=spec.namespace, api_key=spec.api_key, tls=spec.tls or bool(spec.api_key)
    )


def _already_exists(err: RPCError) -> bool:
    return err.status == RPCStatusCode.ALREADY_EXISTS or "already exists" in err.message


async def ensure_deployment(client: Client, spec: VersionSpec) -> None:
    try:
        await client.workflow_service.create_worker_deployment(
            rr.CreateWorkerDeploymentRequest(
                namespace=spec.namespace,
                deployment_name=spec.deployment_name,
                identity=IDENTITY,
                request_id=str(uuid.uuid4()),
            )
        )
    except RPCError as err:
        if not _already_exists(err):
            raise


async def ensure_version(client: Client, spec: VersionSpec) -> None:
    """Create the version if missing (idempotent, so a half-finished create can be retried)."""
    await ensure_deployment(client, spec)
    try:
        await client.workflow_service.create_worker_deployment_version(
            rr.CreateWorkerDeploymentVersionRequest(
                namespace=spec.namespace,
                deployment_version=spec.version,
                identity=IDENTITY,
                request_id=str(uuid.uuid4()),
            )
        )
    except RPCError as err:
        if not _already_exists(err):
            raise


async def set_compute(client: Client, spec: VersionSpec, remove: bool = False) -> None:
    """Attach (or, with `remove`, detach) the version's compute config."""
    request = rr.UpdateWorkerDeploymentVersionComputeConfigRequest(
        namespace=spec.namespace,
        deployment_version=spec.version,
        identity=IDENTITY,
        request_id=str(uuid.uuid4()),
    )
    if remove:
        request.remove_compute_config_scaling_groups.append(SCALING_GROUP)
    elif spec.compute:
        request.compute_config_scaling_groups[SCALING_GROUP].CopyFrom(
            config_pb2.ComputeConfigScalingGroupUpdate(scaling_group=scaling_group(spec.compute))
        )
    else:
        return
    await client.workflow_service.update_worker_deployment_version_compute_config(request)


async def set_metadata(client: Client, spec: VersionSpec) -> None:
    if not spec.metadata:
        return
    request = rr.UpdateWorkerDeploymentVersionMetadataRequest(
        namespace=spec.namespace, deployment_version=spec.version
    )
    for key, value in spec.metadata.items():
        request.upsert_entries[key].CopyFrom(_json_payload_str(value))
    await client.workflow_service.update_worker_deployment_version_metadata(request)


def _json_payload_str(value: str) -> common.Payload:
    return common.Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


async def set_current(client: Client, spec: VersionSpec, build_id: str | None = None) -> None:
    """Make `build_id` (default: the spec's) current; "" returns the deployment to unversioned."""
    version = WorkerDeploymentVersion(
        deployment_name=spec.deployment_name, build_id=spec.build_id if build_id is None else build_id
    )
    await set_current_version(client, version, identity=IDENTITY)


async def describe(client: Client, spec: VersionSpec) -> dict[str, Any] | None:
    """The version's status, compute providers and whether it is current; None if it does not exist."""
    try:
        version = await client.workflow_service.describe_worker_deployment_version(
            rr.DescribeWorkerDeploymentVersionRequest(
                namespace=spec.namespace, deployment_version=spec.version
            )
        )
        dep = await client.workflow_service.describe_worker_deployment(
            rr.DescribeWorkerDeploymentRequest(namespace=spec.namespace, deployment_name=spec.deployment_name)
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND or "not found" in err.message:
            return None
        raise
    info = version.worker_deployment_version_info
    current = dep.worker_deployment_info.routing_config.current_deployment_version
    groups = info.compute_config.scaling_groups
    entries = info.metadata.entries
    return {
        "status": WorkerDeploymentVersionStatus.Name(info.status),
        "current": current.build_id == spec.build_id and current.deployment_name == spec.deployment_name,
        "computeProviders": sorted(g.provider.type for g in groups.values()),
        "metadata": {k: json.loads(v.data) for k, v in entries.items()},
    }


# Temporal validates a compute config against the cloud when it is set (Lambda: assume the invoke
# role, GetFunction; Cloud Run: impersonate the scaler account) — seconds after `pulumi up` created
# those grants, which IAM takes up to a couple of minutes to propagate. Those refusals are retried.
PROPAGATION_SECONDS = 120.0
_PROPAGATING = (
    "assume role",
    "assumerole",
    "not authorized",
    "accessdenied",
    "access denied",
    "permission",
    "impersonat",
    "iam.serviceaccounts.getaccesstoken",
)


def _propagating(err: BaseException) -> bool:
    return isinstance(err, RPCError) and any(word in err.message.lower() for word in _PROPAGATING)


async def set_compute_when_iam_allows(
    client: Client, spec: VersionSpec, budget_seconds: float | None = None
) -> None:
    """`set_compute`, retried (exponential backoff, `budget_seconds` in all, default
    PROPAGATION_SECONDS) while Temporal's validation is refused by IAM; the last refusal is raised
    with how long it was retried."""
    budget_seconds = PROPAGATION_SECONDS if budget_seconds is None else budget_seconds
    retrying = AsyncRetrying(
        retry=retry_if_exception(_propagating),
        stop=stop_after_delay(budget_seconds),
        wait=wait_exponential(multiplier=1, min=1, max=15),
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                await set_compute(client, spec)
    except RPCError as err:
        if not _propagating(err):
            raise
        raise RPCError(
            f"{err.message} (still refused after {budget_seconds:g} s of retries while IAM propagates: "
            f"check the grants on {spec.deployment_name}'s compute — the Lambda invoke role's trust "
            "policy and external id, or the Cloud Run scaler's service-account grants)",
            err.status,
            err.raw_grpc_status,
        ) from err


async def apply(client: Client, spec: VersionSpec, previous: VersionSpec | None = None) -> None:
    """Create or update: version exists, compute config as specified, metadata, current."""
    await ensure_version(client, spec)
    if spec.compute:
        await set_compute_when_iam_allows(client, spec)
    elif previous is not None and previous.compute:
        await set_compute(client, spec, remove=True)
    await set_metadata(client, spec)
    await set_current(client, spec)


async def retire(client: Client, spec: VersionSpec) -> list[str]:
    """Undo what can be undone; returns what was left in place and why (never raises on those)."""
    notes: list[str] = []
    try:
        dep = await client.workflow_service.describe_worker_deployment(
            rr.DescribeWorkerDeploymentRequest(namespace=spec.namespace, deployment_name=spec.deployment_name)
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND or "no Worker Deployment found" in err.message:
            return notes
        raise
    current = dep.worker_deployment_info.routing_config.current_deployment_version
    # Still current: the role itself is going away (destroy), so nothing will serve this version's
    # pinned workflows anyway; unset it and delete without waiting for drainage. Not current: a new
    # build replaced it; it drains for its pinned workflows and Temporal cleans it up later.
    destroying = current.build_id == spec.build_id
    if destroying:
        await set_current(client, spec, build_id="")
    try:
        await client.workflow_service.delete_worker_deployment_version(
            rr.DeleteWorkerDeploymentVersionRequest(
                namespace=spec.namespace,
                deployment_version=spec.version,
                skip_drainage=destroying,
                identity=IDENTITY,
            )
        )
    except RPCError as err:
        notes.append(f"version {spec.deployment_name}/{spec.build_id} kept: {err.message}")
        return notes
    try:
        await client.workflow_service.delete_worker_deployment(
            rr.DeleteWorkerDeploymentRequest(
                namespace=spec.namespace, deployment_name=spec.deployment_name, identity=IDENTITY
            )
        )
    except RPCError as err:
        notes.append(f"deployment {spec.deployment_name} kept: {err.message}")
    return notes
