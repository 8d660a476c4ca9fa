"""Worker Deployment Versioning at deploy time: a Pulumi dynamic provider, one resource per role.

For each role, `pulumi up` makes sure the role's Worker Deployment (`docpipe-<stack>-<role>`) has a
version whose build id is the image tag, attaches the compute config Temporal needs to start the
workers itself (Lambda: function + invoke role + external id; Cloud Run: worker pool + scaler
service account + min/max), records who manages it in the version metadata, and makes it the
current version (`allow_no_pollers`, since serverless workers only poll once Temporal starts them).
A new image tag is a new version (replacement: the new one becomes current before the old one is
retired); a change of compute config is an in-place update; delete undoes what it can.

The logic lives in plain async functions over the workflow-service RPCs (there is no higher-level
client API), tested against the local Temporal dev server; the provider class only adapts them.
The compute-config wire format (provider `aws-lambda` / `gcp-cloud-run`, JSON details, scaler
`no-sync` / `rate-based`) is what `temporal worker deployment create-version` 1.9.1 sends.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi.dynamic
from temporalio.api.common.v1 import message_pb2 as common
from temporalio.api.compute.v1 import config_pb2, provider_pb2, scaler_pb2
from temporalio.api.deployment.v1 import message_pb2 as deployment
from temporalio.api.enums.v1 import WorkerDeploymentVersionStatus
from temporalio.api.workflowservice.v1 import request_response_pb2 as rr
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

SCALING_GROUP = "default"
IDENTITY = "docpipe-pulumi"
# Fields whose change means a different version (or deployment): replace, never update in place.
REPLACE_KEYS = ("address", "namespace", "deploymentName", "buildId")
CLOUD_RUN_QUIET_MS = 300_000
CLOUD_RUN_UTILIZATION = 0.75


@dataclass(frozen=True)
class VersionSpec:
    """What one role's Worker Deployment version should look like."""

    address: str
    namespace: str
    deployment_name: str
    build_id: str
    api_key: str | None = None
    tls: bool = False
    compute: Mapping[str, Any] | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> VersionSpec:
        return cls(
            address=str(props["address"]),
            namespace=str(props["namespace"]),
            deployment_name=str(props["deploymentName"]),
            build_id=str(props["buildId"]),
            api_key=props.get("apiKey") or None,
            tls=bool(props.get("tls", False)),
            compute=props.get("compute") or None,
            metadata=dict(props.get("metadata") or {}),
        )

    @property
    def version(self) -> deployment.WorkerDeploymentVersion:
        return deployment.WorkerDeploymentVersion(
            deployment_name=self.deployment_name, build_id=self.build_id
        )


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
        low, high = int(compute["minInstances"]), int(compute["maxInstances"])
        scaler = {
            "initial_count": low,
            "min_count": low,
            "max_count": high,
            "no_sync_quiet_ms": CLOUD_RUN_QUIET_MS,
            "utilization_target": CLOUD_RUN_UTILIZATION,
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
    await client.workflow_service.set_worker_deployment_current_version(
        rr.SetWorkerDeploymentCurrentVersionRequest(
            namespace=spec.namespace,
            deployment_name=spec.deployment_name,
            build_id=spec.build_id if build_id is None else build_id,
            identity=IDENTITY,
            allow_no_pollers=True,
        )
    )


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


async def apply(client: Client, spec: VersionSpec, previous: VersionSpec | None = None) -> None:
    """Create or update: version exists, compute config as specified, metadata, current."""
    await ensure_version(client, spec)
    if spec.compute:
        await set_compute(client, spec)
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


def _run(spec: VersionSpec, work: Any) -> Any:
    async def go() -> Any:
        client = await connect(spec)
        return await work(client)

    return asyncio.run(go())


def diff_props(olds: Mapping[str, Any], news: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """(changes, replaces) between two property sets."""
    replaces = [k for k in REPLACE_KEYS if olds.get(k) != news.get(k)]
    keys = {*olds, *news} - {"__provider", "current"}
    changes = bool(replaces) or any(olds.get(k) != news.get(k) for k in keys)
    return changes, replaces


class DeploymentVersionProvider(pulumi.dynamic.ResourceProvider):
    """Adapts the functions above to Pulumi's create/diff/update/delete."""

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        spec = VersionSpec.from_props(props)
        _run(spec, lambda c: apply(c, spec))
        return pulumi.dynamic.CreateResult(
            id_=f"{spec.namespace}/{spec.deployment_name}/{spec.build_id}", outs={**props, "current": True}
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        changes, replaces = diff_props(olds, news)
        return pulumi.dynamic.DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        spec, previous = VersionSpec.from_props(news), VersionSpec.from_props(olds)
        _run(spec, lambda c: apply(c, spec, previous))
        return pulumi.dynamic.UpdateResult(outs={**news, "current": True})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        spec = VersionSpec.from_props(props)
        for note in _run(spec, lambda c: retire(c, spec)):
            pulumi.log.warn(note)


class WorkerDeploymentVersion(pulumi.dynamic.Resource):
    """One role's Worker Deployment version, current, with its compute config."""

    current: pulumi.Output[bool]

    def __init__(
        self,
        name: str,
        *,
        address: pulumi.Input[str],
        namespace: pulumi.Input[str],
        deployment_name: str,
        build_id: str,
        tls: bool,
        api_key: pulumi.Input[str] | None,
        compute: Mapping[str, pulumi.Input[Any]] | None,
        metadata: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "address": address,
            "namespace": namespace,
            "deploymentName": deployment_name,
            "buildId": build_id,
            "tls": tls,
            "apiKey": pulumi.Output.secret(api_key) if api_key is not None else None,
            "compute": dict(compute) if compute else None,
            "metadata": dict(metadata),
            "current": None,
        }
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["apiKey", "compute"])
        super().__init__(
            DeploymentVersionProvider(), name, props, pulumi.ResourceOptions.merge(secret_opts, opts)
        )
