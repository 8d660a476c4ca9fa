"""The long-running worker (`docpipe worker ROLE`): ec2, cloudrun and local.

Logs one ready line once polling, drains on SIGTERM/SIGINT within the grace period (running
activities get that long to finish, then are cancelled and handed back to Temporal for a retry).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker, WorkerDeploymentConfig

from workers.connect import connect
from workers.roles import build_role, worker_options
from workers.settings import Settings
from workers.versioning import promote

logger = logging.getLogger("docpipe.worker")


async def serve(role: str, settings: Settings, started: float | None = None) -> int:
    started = time.monotonic() if started is None else started
    reg = build_role(role, settings)  # configuration mistakes surface before any connection
    client = await connect(settings)
    version = WorkerDeploymentVersion(
        deployment_name=settings.deployment_name(role), build_id=settings.build_id
    )
    worker = Worker(
        client,
        **worker_options(role, settings, reg),
        deployment_config=WorkerDeploymentConfig(version=version, use_worker_versioning=True),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    run = asyncio.create_task(worker.run())
    promoting: asyncio.Task[None] | None = None
    try:
        while not worker.is_running and not run.done():
            await asyncio.sleep(0.01)
        if run.done():
            await run  # raises the start-up error (bad namespace, unreachable server, ...)
        logger.info(
            "docpipe worker %s ready: task queue %s, deployment %s, build %s (%.2f s)",
            role,
            settings.task_queue(role),
            version.deployment_name,
            version.build_id,
            time.monotonic() - started,
        )
        # Making the version current takes the server a second or two on a new deployment; the
        # worker already polls meanwhile, and its tasks flow as soon as the version is current.
        promoting = asyncio.create_task(_promote(client, version, settings.promote_version))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([run, stopped], return_when=asyncio.FIRST_COMPLETED)
        if run.done():
            await run
            return 1
        logger.info("docpipe worker %s draining (grace %g s)", role, settings.shutdown_grace_seconds)
        await worker.shutdown()
        await run
        logger.info("docpipe worker %s stopped", role)
        return 0
    finally:
        if promoting is not None and not promoting.done():
            promoting.cancel()
        if not run.done():
            await worker.shutdown()
        await reg.close()


# A server that is restarting or overloaded answers these; a refusal (rights, bad request) does not
# get better by asking again.
_TRANSIENT = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.UNKNOWN,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.INTERNAL,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
    }
)
PROMOTE_RETRY_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)


async def _promote(client: Client, version: WorkerDeploymentVersion, policy: str) -> None:
    """Make the version current per `policy`, retrying while the server is unreachable.

    Until some version is current, none of the deployment's tasks are dispatched, so giving up on a
    transient error (a Temporal restart right after this worker started) would stall the role.
    """
    attempt = 0
    while True:
        try:
            if await promote(client, version, policy):
                logger.info("%s build %s is current", version.deployment_name, version.build_id)
            return
        except RPCError as err:
            if err.status not in _TRANSIENT:  # e.g. an API key without deployment rights
                logger.warning("could not make %s current (%s); tasks wait for a release step", version, err)
                return
            delay = PROMOTE_RETRY_SECONDS[min(attempt, len(PROMOTE_RETRY_SECONDS) - 1)]
            if attempt == 0:
                logger.warning("could not make %s current yet (%s); retrying", version, err)
            attempt += 1
            await asyncio.sleep(delay)
