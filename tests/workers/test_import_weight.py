"""The Lambda handler stays light: importing and configuring a role loads no backend SDK."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from worker_procs import ROOT

HEAVY = [
    "strands",
    "unstructured_client",
    "e2b",
    "e2b_code_interpreter",
    "boto3",
    "psycopg",
    "valkey",
    "pypdf",
    "docx",
]
PROBE = f"""
import asyncio, json, sys
import workers.lambda_handler as h
from temporalio.contrib.aws.lambda_worker import LambdaWorkerConfig
at_import = [m for m in {HEAVY!r} if m in sys.modules]
async def configure():
    config = LambdaWorkerConfig()
    gen = h.configure(config)
    await gen.__anext__()
    queue = config.worker_config["task_queue"]
    await gen.aclose()
    return queue
queue = asyncio.run(configure())
at_configure = [m for m in {HEAVY!r} if m in sys.modules]
print(json.dumps({{"import": at_import, "configure": at_configure, "queue": queue}}))
"""


@pytest.mark.parametrize("role", ["workflow", "extraction", "analysis", "enrichment", "storage"])
def test_handler_import_and_configure_load_no_backend_sdk(role: str):
    # As placed in the cloud: the bucket is configured (payloads go through the S3 driver).
    env = {
        "PATH": "/usr/bin:/bin",
        "DOCPIPE_ROLE": role,
        "DOCPIPE_QUEUE_PREFIX": "w",
        "DOCPIPE_BUCKET": "b",
        "DOCPIPE_DATABASE_URL": "postgresql:///unused",
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )  # fmt: skip
    loaded = json.loads(out.stdout)
    assert loaded["import"] == []
    assert loaded["configure"] == []  # offline backends; a storage connection opens at the first store
    assert loaded["queue"] == f"w-{role}"
