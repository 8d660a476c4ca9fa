"""Worker Deployment Versioning at deploy time: a Pulumi dynamic provider, one resource per role.

For each role, `pulumi up` makes sure the role's Worker Deployment (`docpipe-<stack>-<role>`) has a
version whose build id is the image tag, attaches the compute config Temporal needs to start the
workers itself (Lambda: function + invoke role + external id; Cloud Run: worker pool + scaler
service account + min/max), records who manages it in the version metadata, and makes it the
current version (`allow_no_pollers`, since serverless workers only poll once Temporal starts them).
A new image tag is a new version (replacement: the new one becomes current before the old one is
retired); a change of compute config is an in-place update; delete undoes what it can.

The logic lives in plain async functions over the workflow-service RPCs in
`infra.worker_deployments` (there is no higher-level client API), tested against the local
Temporal dev server; the provider class here only adapts them, and imports them lazily so the
program (and `docpipe plan`) does not load temporalio.
The compute-config wire format (provider `aws-lambda` / `gcp-cloud-run`, JSON details, scaler
`no-sync` / `rate-based`) is what `temporal worker deployment create-version` 1.9.1 sends.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi.dynamic

SCALING_GROUP = "default"
DEPLOY_ADDRESS_ENV = "DOCPIPE_TEMPORAL_DEPLOY_ADDRESS"
IDENTITY = "docpipe-pulumi"
# Fields whose change means a different version (or deployment): replace, never update in place.
REPLACE_KEYS = ("address", "namespace", "deploymentName", "buildId")


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
    def version(self) -> Any:
        """The WorkerDeploymentVersion proto (imported lazily: temporalio is heavy)."""
        from temporalio.api.deployment.v1 import message_pb2 as deployment

        return deployment.WorkerDeploymentVersion(
            deployment_name=self.deployment_name, build_id=self.build_id
        )


def _run(spec: VersionSpec, work: Any) -> Any:
    from infra.worker_deployments import connect

    # A self-hosted frontend has a private address; `pulumi up` from outside the VPC reaches it
    # through a tunnel (e.g. SSM port forwarding) named here.
    override = os.environ.get(DEPLOY_ADDRESS_ENV)
    if override:
        spec = replace(spec, address=override)

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
        from infra.worker_deployments import apply

        spec = VersionSpec.from_props(props)
        _run(spec, lambda c: apply(c, spec))
        return pulumi.dynamic.CreateResult(
            id_=f"{spec.namespace}/{spec.deployment_name}/{spec.build_id}", outs={**props, "current": True}
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        changes, replaces = diff_props(olds, news)
        return pulumi.dynamic.DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        from infra.worker_deployments import apply

        spec, previous = VersionSpec.from_props(news), VersionSpec.from_props(olds)
        _run(spec, lambda c: apply(c, spec, previous))
        return pulumi.dynamic.UpdateResult(outs={**news, "current": True})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from infra.worker_deployments import retire

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
