"""Lambda entrypoint (Temporal Serverless Worker): serves the role named by DOCPIPE_ROLE.

Handler: `workers.lambda_handler.handler`. Temporal invokes the function when tasks arrive; each
invocation connects (temporal.toml in the task root / TEMPORAL_* variables), polls the role's queue
until `deadline − deadline buffer`, then stops polling and gives running activities up to the graceful
stop to finish before the invocation returns (docs/lambda-workers.md). Only the role's own backends are
imported, and only inside an invocation, so a cold start pays for little more than `temporalio.worker`.

Timing comes from the environment (`Env.LAMBDA_GRACEFUL_STOP_SECONDS`,
`Env.LAMBDA_DEADLINE_BUFFER_SECONDS`) and is checked at import, so a function whose buffer cannot
hold its drain fails at init (Lambda reports the init error) instead of cutting activities later.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import WorkerDeploymentVersion
from temporalio.contrib.aws.lambda_worker import LambdaWorkerConfig, run_worker

from workers.contract import DEFAULT_BUILD_ID, DEFAULT_STACK, LAMBDA_HOOK_SECONDS, Env, deployment_name
from workers.settings import SettingsError

logger = logging.getLogger(__name__)

# temporalio.contrib.aws.lambda_worker's defaults (1.35, `_defaults.py`): a 5 s graceful stop and a
# deadline buffer of graceful stop + 2 s for shutdown hooks. Used when the variables are unset
# (tests/workers/test_lambda_timing.py checks they still match the contrib's).
CONTRIB_GRACEFUL_STOP_SECONDS = 5.0
CONTRIB_HOOK_MARGIN_SECONDS = float(LAMBDA_HOOK_SECONDS)


@dataclass(frozen=True)
class LambdaTiming:
    graceful_stop_seconds: float
    deadline_buffer_seconds: float

    @property
    def graceful_stop(self) -> timedelta:
        return timedelta(seconds=self.graceful_stop_seconds)

    @property
    def deadline_buffer(self) -> timedelta:
        return timedelta(seconds=self.deadline_buffer_seconds)


def _seconds(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise SettingsError(f"{name}={raw!r} must be a positive number of seconds")
    return value


def lambda_timing(env: Mapping[str, str] | None = None) -> LambdaTiming:
    """Graceful stop and deadline buffer from the environment, validated.

    Unset graceful stop → the contrib's 5 s; unset buffer → graceful stop + 2 s (the contrib's rule,
    7 s by default). The buffer must exceed the graceful stop: the worker stops polling `buffer`
    seconds before the deadline and then waits up to `graceful stop` for running activities, so a
    buffer that is not longer lets Lambda kill the invocation while activities are still draining.
    """
    e = os.environ if env is None else env
    graceful = _seconds(e, Env.LAMBDA_GRACEFUL_STOP_SECONDS)
    buffer = _seconds(e, Env.LAMBDA_DEADLINE_BUFFER_SECONDS)
    graceful_s = CONTRIB_GRACEFUL_STOP_SECONDS if graceful is None else graceful
    buffer_s = graceful_s + CONTRIB_HOOK_MARGIN_SECONDS if buffer is None else buffer
    if buffer_s <= graceful_s:
        shown_graceful = f"{graceful_s:g}" + (" (unset: the default)" if graceful is None else "")
        raise SettingsError(
            f"{Env.LAMBDA_DEADLINE_BUFFER_SECONDS}={buffer_s:g} must exceed "
            f"{Env.LAMBDA_GRACEFUL_STOP_SECONDS}={shown_graceful}: the worker stops polling "
            f"{buffer_s:g} s before the Lambda deadline and then lets running activities finish for up "
            f"to {graceful_s:g} s, so Lambda would kill the invocation mid-drain and the activities "
            "would be retried. Set the buffer to the graceful stop plus the time shutdown takes "
            f"(the default margin is {CONTRIB_HOOK_MARGIN_SECONDS:g} s)."
        )
    activity_timeout = _seconds(e, Env.ACTIVITY_TIMEOUT_SECONDS)
    if activity_timeout is not None and activity_timeout >= graceful_s:
        # Not fatal (the timeout is an upper bound, most runs are shorter), but said once per cold start.
        logger.warning(
            "%s=%g does not exceed %s=%g: an activity picked up shortly before the worker stops "
            "polling can be cut at the deadline and retried",
            Env.LAMBDA_GRACEFUL_STOP_SECONDS,
            graceful_s,
            Env.ACTIVITY_TIMEOUT_SECONDS,
            activity_timeout,
        )
    return LambdaTiming(graceful_s, buffer_s)


def _version() -> WorkerDeploymentVersion:
    role = os.environ.get(Env.ROLE, "")
    stack = os.environ.get(Env.STACK) or DEFAULT_STACK
    return WorkerDeploymentVersion(
        deployment_name=os.environ.get(Env.DEPLOYMENT_NAME) or deployment_name(stack, role),
        build_id=os.environ.get(Env.BUILD_ID) or DEFAULT_BUILD_ID,
    )


# Read once per cold start (like the version): a bad value fails the function's init.
TIMING = lambda_timing()


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
    from workers import redact

    redact.register_env()
    redact.install_log_filter()
    api_key = os.environ.get("TEMPORAL_API_KEY")
    if api_key and "api_key" not in config.client_connect_config:
        # envconfig was read when the handler was created, before the key was fetched.
        config.client_connect_config["api_key"] = api_key
        config.client_connect_config.setdefault("tls", True)
    settings = Settings.from_env()
    reg = build_role(role, settings)
    options = worker_options(role, settings, reg)
    # The long-running worker's grace (DOCPIPE_SHUTDOWN_GRACE_SECONDS) does not apply here: a Lambda
    # worker's drain has to fit in its deadline buffer. The role's concurrency cap (enrichment's
    # sandboxes) is kept; roles without one keep the contrib's Lambda default.
    options.pop("graceful_shutdown_timeout")
    config.worker_config.update(options)  # type: ignore[typeddict-item]
    config.worker_config["graceful_shutdown_timeout"] = TIMING.graceful_stop
    config.shutdown_deadline_buffer = TIMING.deadline_buffer
    config.client_connect_config["data_converter"] = data_converter(settings)
    config.client_connect_config.setdefault("target_host", "localhost:7233")
    try:
        yield
    finally:
        await reg.close()


handler = run_worker(_version(), configure)
