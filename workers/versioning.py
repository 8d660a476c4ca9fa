"""Worker Deployment Versioning: the version a worker runs as, and making a version current.

A versioned worker's tasks are dispatched only once its deployment has a current version. The
long-running worker makes its own version current at start (DOCPIPE_PROMOTE_VERSION=always, the
default: a rolling restart with a new build id moves new runs, and running ones at their next workflow
task (the workflow is AUTO_UPGRADE), to it); `if-unset` only fills an empty deployment; `never` leaves
it to a release step (in the cloud, Pulumi's Worker Deployment provider).
"""

from __future__ import annotations

import logging

from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError

logger = logging.getLogger(__name__)


async def current_build_id(client: Client, deployment_name: str) -> str | None:
    from temporalio.api.workflowservice.v1 import DescribeWorkerDeploymentRequest

    try:
        resp = await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment_name)
        )
    except RPCError:
        return None  # no such deployment yet: nothing is current
    current = resp.worker_deployment_info.routing_config.current_deployment_version
    return current.build_id or None


async def set_current_version(
    client: Client, version: WorkerDeploymentVersion, identity: str = "docpipe"
) -> None:
    """Make `version` current for its deployment (works before any worker of it polls)."""
    from temporalio.api.workflowservice.v1 import SetWorkerDeploymentCurrentVersionRequest

    await client.workflow_service.set_worker_deployment_current_version(
        SetWorkerDeploymentCurrentVersionRequest(
            namespace=client.namespace,
            deployment_name=version.deployment_name,
            build_id=version.build_id,
            identity=identity,
            allow_no_pollers=True,
        )
    )


async def promote(client: Client, version: WorkerDeploymentVersion, policy: str) -> bool:
    """Apply the promotion policy; True when this call made (or found) the version current."""
    if policy == "never":
        return False
    current = await current_build_id(client, version.deployment_name)
    if current == version.build_id:
        return True
    if policy == "if-unset" and current is not None:
        logger.info("deployment %s stays on build %s (policy if-unset)", version.deployment_name, current)
        return False
    await set_current_version(client, version)
    return True
