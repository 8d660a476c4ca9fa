"""The Lambda handler invoked in-process with a Lambda-like context against the dev server."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
import uuid
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from workers.contract import deployment_name
from workers.documents import describe_file
from workers.types import ExtractInput, ExtractResult
from workers.versioning import set_current_version

pytestmark = pytest.mark.services


@workflow.defn(sandboxed=False)
class ExtractOnceWorkflow:
    @workflow.run
    async def run(self, inp: ExtractInput, queue: str) -> ExtractResult:
        return await workflow.execute_activity(
            "extract_document", inp, result_type=ExtractResult, task_queue=queue,
            start_to_close_timeout=timedelta(seconds=30),
        )  # fmt: skip


class LambdaContext:
    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:docpipe-extraction"

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


async def test_a_queued_activity_completes_inside_one_invocation(
    temporal_server, samples_dir, monkeypatch: pytest.MonkeyPatch
):
    tag = uuid.uuid4().hex[:8]
    stack, prefix, build = f"l{tag}", f"l{tag}", "lambda-1"
    for key, value in {
        "TEMPORAL_ADDRESS": temporal_server.address,
        "TEMPORAL_NAMESPACE": "default",
        "DOCPIPE_ROLE": "extraction",
        "DOCPIPE_STACK": stack,
        "DOCPIPE_QUEUE_PREFIX": prefix,
        "DOCPIPE_BUILD_ID": build,
        "DOCPIPE_EXTRACTION_BACKEND": "local",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("DOCPIPE_VALKEY_URL", "DOCPIPE_PAYLOAD_DIR", "DOCPIPE_BUCKET", "DOCPIPE_DEPLOYMENT_NAME"):
        monkeypatch.delenv(key, raising=False)

    client = await Client.connect(temporal_server.address)
    # As a deployment would: the version is current before any Lambda worker polls.
    version = WorkerDeploymentVersion(deployment_name(stack, "extraction"), build)
    await set_current_version(client, version)

    sys.modules.pop("workers.lambda_handler", None)
    lambda_handler = importlib.import_module("workers.lambda_handler")

    queue = f"{prefix}-extraction"
    ref = describe_file(samples_dir / "memo.txt")
    async with Worker(
        client,
        task_queue=f"{prefix}-test-wf",
        workflows=[ExtractOnceWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await client.start_workflow(
            ExtractOnceWorkflow.run,
            args=[ExtractInput(ref), queue],
            id=f"lambda-{tag}",
            task_queue=f"{prefix}-test-wf",
        )
        # The activity is queued with nobody polling; one invocation picks it up and completes it.
        await asyncio.to_thread(lambda_handler.handler, {}, LambdaContext(13))
        # Nothing serves the extraction queue any more: the activity finished inside the invocation.
        history = [e async for e in handle.fetch_history_events()]
        result = await asyncio.wait_for(handle.result(), 10)
    started = [e for e in history if e.HasField("activity_task_started_event_attributes")]
    assert any(e.HasField("activity_task_completed_event_attributes") for e in history)
    assert "@arn:aws:lambda" in started[0].activity_task_started_event_attributes.identity
    assert result.backend == "local" and result.elements[0]["text"] == "MEMO"
    assert lambda_handler._version() == version
