"""The Lambda configure callback: a Temporal API key fetched from a secret ref reaches every invocation."""

from __future__ import annotations

import importlib
import json
import os
import sys

import pytest
from temporalio.contrib.aws.lambda_worker import LambdaWorkerConfig

import workers.secrets


async def _configure(module) -> LambdaWorkerConfig:
    config = LambdaWorkerConfig()
    gen = module.configure(config)
    await gen.__anext__()
    await gen.aclose()
    return config


async def test_api_key_from_secret_ref_on_every_invocation(monkeypatch: pytest.MonkeyPatch):
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:temporal-key"
    fetched: list[str] = []
    monkeypatch.setattr(workers.secrets, "_fetch", lambda ref: fetched.append(ref) or "tk-secret")
    for key in ("TEMPORAL_API_KEY", "TEMPORAL_ADDRESS", "DOCPIPE_BUCKET", "DOCPIPE_PAYLOAD_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DOCPIPE_ROLE", "workflow")
    monkeypatch.setenv("DOCPIPE_SECRET_REFS", json.dumps({"temporalApiKey": arn}))
    sys.modules.pop("workers.lambda_handler", None)
    module = importlib.import_module("workers.lambda_handler")
    try:
        first, second = await _configure(module), await _configure(module)
    finally:
        sys.modules.pop("workers.lambda_handler", None)
        os.environ.pop("TEMPORAL_API_KEY", None)  # set by the secret resolution, not by monkeypatch
    assert fetched == [arn], "fetched once, at the first invocation"
    for config in (first, second):
        assert config.client_connect_config["api_key"] == "tk-secret"
        assert config.client_connect_config["tls"] is True
        assert config.worker_config["task_queue"] == "docpipe-workflow"
