"""Lambda entrypoint (Temporal Serverless Worker): serves the role named by DOCPIPE_ROLE.

Handler: `workers.lambda_handler.handler`. Temporal invokes the function when tasks arrive; each
invocation connects (temporal.toml in the task root / TEMPORAL_* variables), polls the role's queue
until shortly before the deadline, and drains. Only the role's own backends are imported, and only
inside an invocation, so a cold start pays for little more than `temporalio.worker`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator

from temporalio.common import WorkerDeploymentVersion
from temporalio.contrib.aws.lambda_worker import LambdaWorkerConfig, run_worker

from workers.contract import DEFAULT_BUILD_ID, DEFAULT_STACK, Env, deployment_name


def _version() -> WorkerDeploymentVersion:
    role = os.environ.get(Env.ROLE, "")
    stack = os.environ.get(Env.STACK) or DEFAULT_STACK
    return WorkerDeploymentVersion(
        deployment_name=os.environ.get(Env.DEPLOYMENT_NAME) or deployment_name(stack, role),
        build_id=os.environ.get(Env.BUILD_ID) or DEFAULT_BUILD_ID,
    )


async def configure(config: LambdaWorkerConfig) -> AsyncGenerator[None, None]:
    """Per invocation: register the role, use the shared data converter, close clients afterwards."""
    from workers.payloads import data_converter
    from workers.roles import build_role, worker_options
    from workers.secrets import resolve_secret_refs
    from workers.settings import Settings

    role = os.environ.get(Env.ROLE)
    if not role:
        raise RuntimeError(f"{Env.ROLE} is not set: which role should this function serve?")
    resolve_secret_refs()  # fetches only what is not in the environment yet (the first invocation)
    api_key = os.environ.get("TEMPORAL_API_KEY")
    if api_key and "api_key" not in config.client_connect_config:
        # envconfig was read when the handler was created, before the key was fetched.
        config.client_connect_config["api_key"] = api_key
        config.client_connect_config.setdefault("tls", True)
    settings = Settings.from_env()
    reg = build_role(role, settings)
    options = worker_options(role, settings, reg)
    options.pop("graceful_shutdown_timeout")  # Lambda's own default fits its deadline buffer
    options.pop("max_concurrent_activities", None)
    config.worker_config.update(options)  # type: ignore[typeddict-item]
    config.client_connect_config["data_converter"] = data_converter(settings)
    config.client_connect_config.setdefault("target_host", "localhost:7233")
    try:
        yield
    finally:
        await reg.close()


handler = run_worker(_version(), configure)
