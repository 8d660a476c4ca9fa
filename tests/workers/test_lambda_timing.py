"""The Lambda handler's timing and concurrency: graceful stop and deadline buffer from the environment
(contrib defaults when unset, rejected at import when the buffer cannot hold the drain), and the
role's concurrency cap kept."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType

import pytest
from temporalio.contrib.aws.lambda_worker import LambdaWorkerConfig
from temporalio.contrib.aws.lambda_worker import _defaults as contrib

from workers.contract import Env
from workers.settings import SettingsError

GRACE, BUFFER = Env.LAMBDA_GRACEFUL_STOP_SECONDS, Env.LAMBDA_DEADLINE_BUFFER_SECONDS


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    unset = (GRACE, BUFFER, Env.ACTIVITY_TIMEOUT_SECONDS, Env.MAX_CONCURRENT_SANDBOXES, Env.BUCKET)
    for key in (*unset, Env.PAYLOAD_DIR, Env.VALKEY_URL, Env.SECRET_REFS, "TEMPORAL_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    monkeypatch.setenv(Env.ROLE, "extraction")
    sys.modules.pop("workers.lambda_handler", None)
    yield monkeypatch
    sys.modules.pop("workers.lambda_handler", None)


def _load() -> ModuleType:
    sys.modules.pop("workers.lambda_handler", None)
    return importlib.import_module("workers.lambda_handler")


async def _configure(module: ModuleType) -> LambdaWorkerConfig:
    config = LambdaWorkerConfig()
    gen = module.configure(config)
    await gen.__anext__()
    await gen.aclose()
    return config


def test_unset_means_the_contribs_defaults(lambda_env):
    module = _load()
    # Our fallbacks are the contrib's own numbers (this fails if a temporalio upgrade changes them).
    grace, margin = module.CONTRIB_GRACEFUL_STOP_SECONDS, module.CONTRIB_HOOK_MARGIN_SECONDS
    assert timedelta(seconds=grace) == contrib.DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT
    assert timedelta(seconds=margin) == contrib.DEFAULT_SHUTDOWN_HOOK_BUFFER
    assert LambdaWorkerConfig().shutdown_deadline_buffer == timedelta(seconds=7)
    assert (module.TIMING.graceful_stop_seconds, module.TIMING.deadline_buffer_seconds) == (5, 7)


async def test_configure_applies_the_timing_from_the_environment(lambda_env):
    lambda_env.setenv(GRACE, "310")
    lambda_env.setenv(BUFFER, "325.5")
    config = await _configure(_load())
    assert config.worker_config["graceful_shutdown_timeout"] == timedelta(seconds=310)
    assert config.shutdown_deadline_buffer == timedelta(seconds=325.5)


def test_buffer_defaults_to_graceful_stop_plus_the_hook_margin(lambda_env):
    lambda_env.setenv(GRACE, "40")
    timing = _load().TIMING
    assert (timing.graceful_stop_seconds, timing.deadline_buffer_seconds) == (40, 42)


@pytest.mark.parametrize(
    ("grace", "buffer", "shown"), [("20", "20", "20"), ("30", "12", "30"), (None, "5", "5 (unset")]
)
def test_a_buffer_that_cannot_hold_the_drain_fails_the_import(lambda_env, grace, buffer, shown):
    if grace is not None:
        lambda_env.setenv(GRACE, grace)
    lambda_env.setenv(BUFFER, buffer)
    with pytest.raises(SettingsError) as err:
        _load()
    message = str(err.value)
    assert f"{BUFFER}={buffer} must exceed {GRACE}={shown}" in message, message
    assert "mid-drain" in message


@pytest.mark.parametrize("raw", ["soon", "0", "-3", "nan"])
def test_a_value_that_is_not_positive_seconds_is_named(lambda_env, raw):
    lambda_env.setenv(GRACE, raw)
    with pytest.raises(SettingsError, match=f"{GRACE}='{raw}'"):
        _load()


def test_an_activity_timeout_the_graceful_stop_cannot_hold_is_warned_about(lambda_env, caplog):
    lambda_env.setenv(Env.ACTIVITY_TIMEOUT_SECONDS, "300")
    with caplog.at_level(logging.WARNING, logger="workers.lambda_handler"):
        _load()
    assert f"{GRACE}=5 does not exceed {Env.ACTIVITY_TIMEOUT_SECONDS}=300" in caplog.text
    caplog.clear()
    lambda_env.setenv(GRACE, "310")
    with caplog.at_level(logging.WARNING, logger="workers.lambda_handler"):
        _load()
    assert caplog.text == ""


async def test_the_roles_concurrency_cap_reaches_the_worker(lambda_env):
    lambda_env.setenv(Env.ROLE, "enrichment")
    lambda_env.setenv(Env.MAX_CONCURRENT_SANDBOXES, "3")
    config = await _configure(_load())
    assert config.worker_config["max_concurrent_activities"] == 3
    # A role without a cap of its own leaves the contrib's Lambda default in place.
    lambda_env.setenv(Env.ROLE, "extraction")
    config = await _configure(_load())
    assert "max_concurrent_activities" not in config.worker_config
