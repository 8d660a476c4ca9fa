"""Start the pipeline for documents (`docpipe submit`), one workflow per content hash."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from workers.contract import WORKFLOW_TYPE, workflow_id
from workers.documents import describe_file
from workers.settings import Settings
from workers.types import DocumentRef, PipelineInput, PipelineResult


@dataclass
class Submission:
    document: DocumentRef
    workflow_id: str
    started: bool  # False: a run for this content already exists (running or finished)
    result: PipelineResult | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """camelCase, as every other --json of docpipe."""
        return {
            "filename": self.document.filename,
            "sha256": self.document.sha256,
            "uri": self.document.uri,
            "workflowId": self.workflow_id,
            "started": self.started,
            "result": result_dict(self.result) if self.result else None,
            "error": self.error,
        }


def result_dict(result: PipelineResult) -> dict[str, Any]:
    """The result with camelCase keys; `enrichmentOutput` is the sandbox's own data, left as it is."""
    data = dataclasses.asdict(result)
    out = {_camel(k): v for k, v in data.items() if k != "timings"}
    out["timings"] = [{_camel(k): v for k, v in t.items()} for t in data["timings"]]
    return out


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


async def start_pipeline(client: Client, ref: DocumentRef, settings: Settings) -> Submission:
    """Start DocumentPipelineWorkflow for `ref`; an existing run for the same content is a success."""
    wid = workflow_id(ref.sha256)
    try:
        await client.start_workflow(
            WORKFLOW_TYPE,
            PipelineInput(
                document=ref, queue_prefix=settings.queue_prefix, stage_timeouts=settings.stage_timeouts
            ),
            id=wid,
            task_queue=settings.task_queue("workflow"),
            # A finished run is not repeated (only a run that itself failed may be retried);
            # a running one is simply joined.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        return Submission(ref, wid, started=True)
    except WorkflowAlreadyStartedError:
        return Submission(ref, wid, started=False)


def upload_key(ref: DocumentRef, upload_prefix: str) -> str:
    """Where `docpipe submit` puts a document: under the upload prefix, as any upload would go."""
    return f"{upload_prefix}{ref.sha256}/{ref.filename}"


def _upload(path: Path, ref: DocumentRef, bucket: str, upload_prefix: str) -> DocumentRef:
    from workers import aws  # boto3 loads only for cloud submissions

    key = upload_key(ref, upload_prefix)
    # The bucket's starter is invoked for this key too and finds the run this submission starts (same
    # workflow id); a whole-object SHA-256 checksum lets it read the hash from HEAD, not the bytes.
    aws.client("s3").upload_file(str(path), bucket, key, ExtraArgs={"ChecksumAlgorithm": "SHA256"})
    return dataclasses.replace(ref, uri=f"s3://{bucket}/{key}")


async def submit_paths(client: Client, paths: list[str], settings: Settings, wait: bool) -> list[Submission]:
    out = []
    for raw in paths:
        path = Path(raw)
        ref = describe_file(path)
        if settings.bucket and not settings.payload_dir:
            # Cloud workers cannot read this machine's disk: the document goes by bucket reference.
            ref = await asyncio.to_thread(_upload, path, ref, settings.bucket, settings.upload_prefix)
        out.append(await start_pipeline(client, ref, settings))
    if wait:
        await asyncio.gather(*(_wait(client, s) for s in out))
    return out


async def _wait(client: Client, sub: Submission) -> None:
    try:
        handle = client.get_workflow_handle(sub.workflow_id, result_type=PipelineResult)
        sub.result = await handle.result()
    except WorkflowFailureError as err:
        sub.error = str(err.cause or err)
