"""A worker keeps trying to make its version current while the server is briefly unreachable."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode

from workers import serve

VERSION = WorkerDeploymentVersion(deployment_name="docpipe-test-analysis", build_id="b1")


def _scripted(outcomes: list[Any]) -> tuple[list[int], Any]:
    calls: list[int] = []

    async def promote(client: object, version: WorkerDeploymentVersion, policy: str) -> bool:
        calls.append(1)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return bool(outcome)

    return calls, promote


async def test_transient_errors_are_retried_until_current(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    unavailable = RPCError("transport error", RPCStatusCode.UNAVAILABLE, b"")
    calls, fake = _scripted([unavailable, unavailable, True])
    monkeypatch.setattr(serve, "promote", fake)
    monkeypatch.setattr(serve, "PROMOTE_RETRY_SECONDS", (0.0,))
    with caplog.at_level(logging.INFO):
        await serve._promote(object(), VERSION, "always")  # type: ignore[arg-type]
    assert len(calls) == 3
    assert "build b1 is current" in caplog.text


async def test_a_refusal_is_not_retried(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    denied = RPCError("no rights", RPCStatusCode.PERMISSION_DENIED, b"")
    calls, fake = _scripted([denied, True])
    monkeypatch.setattr(serve, "promote", fake)
    with caplog.at_level(logging.WARNING):
        await serve._promote(object(), VERSION, "always")  # type: ignore[arg-type]
    assert len(calls) == 1
    assert "tasks wait for a release step" in caplog.text
