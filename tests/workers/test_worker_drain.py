"""SIGTERM during an activity: the worker finishes (or hands back) the task; one row, one write."""

from __future__ import annotations

import asyncio
import time
import uuid

import psycopg
import pytest
from fake_services import PartitionState, serve, unstructured_app
from temporalio.client import Client
from worker_procs import WorkerProcess, pipeline_env, running_workers

from workers.documents import describe_file
from workers.payloads import data_converter
from workers.settings import Settings
from workers.submit import start_pipeline
from workers.types import PipelineResult

pytestmark = pytest.mark.services


def _wait_for_call(state: PartitionState, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not state.calls:
        assert time.monotonic() < deadline, "extraction never reached the partition API"
        time.sleep(0.05)


async def _run(extraction, env, settings, state, samples_dir, work_dir, outcome):
    extraction.wait_ready()
    client = await Client.connect(env["TEMPORAL_ADDRESS"], data_converter=data_converter(settings))
    # Unique content: workflow ids are doc-<sha256>, global to the namespace.
    doc = work_dir / "memo.txt"
    doc.write_text((samples_dir / "memo.txt").read_text() + f"\nRef {uuid.uuid4()}\n")
    sub = await start_pipeline(client, describe_file(doc), settings)
    await asyncio.to_thread(_wait_for_call, state)
    extraction.terminate()  # SIGTERM while the partition call is in flight
    code = await asyncio.to_thread(extraction.wait, 60)
    assert code == 0, extraction.output()
    assert "draining" in extraction.output()
    replacement = None
    if outcome == "handed back":
        replacement = WorkerProcess("extraction", env)  # picks the retried task up
        replacement.wait_ready()
    try:
        handle = client.get_workflow_handle(sub.workflow_id, result_type=PipelineResult)
        result = await asyncio.wait_for(handle.result(), 60)
    finally:
        if replacement:
            replacement.stop()
    return result, handle


@pytest.mark.parametrize(
    ("grace", "delay", "outcome"),
    [(10, 3, "finished"), (0.5, 4, "handed back")],
    ids=["drain-finishes-the-activity", "grace-expires-task-handed-back"],
)
async def test_sigterm_mid_activity_stores_the_document_once(
    temporal_server, database_url, samples_dir, work_dir, grace, delay, outcome
):
    state = PartitionState(delay_seconds=delay)
    with serve(unstructured_app(state)) as url:
        env = pipeline_env(
            temporal_server.address,
            database_url,
            work_dir,
            DOCPIPE_EXTRACTION_BACKEND="unstructured-api",
            UNSTRUCTURED_API_URL=url,
            UNSTRUCTURED_API_KEY="test-key",
        )
        settings = Settings.from_env(env)
        with running_workers(env, roles=("workflow", "analysis", "storage")):  # memo: no enrichment
            extraction = WorkerProcess("extraction", env, ("--grace", str(grace)))
            try:
                result, handle = await _run(extraction, env, settings, state, samples_dir, work_dir, outcome)
            finally:
                extraction.stop()
    assert result.status == "stored", result.reason
    history = [e async for e in handle.fetch_history_events()]
    attempts = [e for e in history if e.HasField("activity_task_started_event_attributes")]
    extraction_attempt = attempts[0].activity_task_started_event_attributes.attempt
    if outcome == "finished":
        assert extraction_attempt == 1 and len(state.calls) == 1
    else:
        assert extraction_attempt == 2 and len(state.calls) == 2
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT status, writes FROM documents").fetchall()
    assert rows == [("stored", 1)]
