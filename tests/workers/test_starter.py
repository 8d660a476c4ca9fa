"""The bucket-upload starter: an S3 event starts the workflow once; duplicates count as success."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import Client

from workers.contract import DEFAULT_UPLOAD_PREFIX, workflow_id
from workers.settings import Settings
from workers.starter import make_handler, records
from workers.submit import upload_key
from workers.types import DocumentRef

pytestmark = pytest.mark.services


def _event(bucket: str, *keys: str, name: str = "ObjectCreated:Put") -> dict:
    return {
        "Records": [
            {"eventName": name, "s3": {"bucket": {"name": bucket}, "object": {"key": k}}} for k in keys
        ]
    }


def test_records_decode_keys_and_skip_other_events():
    event = _event("docs", "in/Q3+report%281%29.pdf")
    event["Records"].append(
        {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "d"}, "object": {"key": "x"}}}
    )
    assert records(event) == [("docs", "in/Q3 report(1).pdf")]


def test_only_keys_under_the_upload_prefix_start_a_workflow():
    event = _event("docs", "incoming/a.pdf", "v0/ns/payload", "incoming-not/b.pdf", "x/incoming/c.pdf")
    assert records(event, "incoming/") == [("docs", "incoming/a.pdf")]
    assert Settings.from_env({}).upload_prefix == DEFAULT_UPLOAD_PREFIX == "incoming/"
    assert Settings.from_env({"DOCPIPE_UPLOAD_PREFIX": "docs/in/"}).upload_prefix == "docs/in/"


def test_submit_uploads_where_the_starter_looks():
    ref = DocumentRef("file:///tmp/Q3 report.pdf", "ab" * 32, "Q3 report.pdf", "application/pdf", 1)
    for prefix in ("incoming/", "docs/in/"):
        key = upload_key(ref, prefix)
        # S3 sends keys URL-encoded (space as +).
        assert records(_event("docs", key.replace(" ", "+")), prefix) == [("docs", key)]


async def test_upload_starts_one_workflow_and_a_repeat_is_a_success(
    temporal_server, monkeypatch: pytest.MonkeyPatch
):
    prefix = f"s{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_server.address)
    monkeypatch.setenv("DOCPIPE_QUEUE_PREFIX", prefix)
    monkeypatch.setenv("DOCPIPE_UPLOAD_PREFIX", "in/")
    for key in ("DOCPIPE_PAYLOAD_DIR", "DOCPIPE_BUCKET", "DOCPIPE_SECRET_REFS"):
        monkeypatch.delenv(key, raising=False)
    sha = uuid.uuid4().hex * 2
    seen: list[tuple[str, str]] = []

    def describe(bucket: str, key: str) -> DocumentRef:
        seen.append((bucket, key))
        return DocumentRef(f"s3://{bucket}/{key}", sha, key.rsplit("/", 1)[-1], "application/pdf", 100)

    handler = make_handler(describe)
    # In a thread, as Lambda runs it: the handler owns its event loop (asyncio.run).
    first = await asyncio.to_thread(handler, _event("docs", "in/a.pdf"), None)
    again = await asyncio.to_thread(
        handler, _event("docs", "in/a.pdf", "in/copy-of-a.pdf", "out/not-an-upload.pdf"), None
    )
    assert first == {
        "started": 1,
        "results": [{"key": "in/a.pdf", "workflowId": workflow_id(sha), "started": True}],
    }
    assert again["started"] == 0 and len(again["results"]) == 2
    assert seen == [("docs", "in/a.pdf"), ("docs", "in/a.pdf"), ("docs", "in/copy-of-a.pdf")]

    client = await Client.connect(temporal_server.address)
    desc = await client.get_workflow_handle(workflow_id(sha)).describe()
    assert desc.task_queue == f"{prefix}-workflow"
    await client.get_workflow_handle(workflow_id(sha)).terminate("test done")
