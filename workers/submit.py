"""Start the pipeline for documents (`docpipe submit`), one workflow per content hash."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.converter import value_to_type
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from workers.contract import DOCUMENT_FAILED, WORKFLOW_TYPE, workflow_id
from workers.documents import describe_file
from workers.settings import Settings
from workers.types import DocumentRef, PipelineInput, PipelineResult

NAME_ATTRIBUTE = SearchAttributeKey.for_keyword("DocpipeName")


@dataclass
class Submission:
    document: DocumentRef
    workflow_id: str
    started: bool  # False: a run for this content already exists (running or finished)
    result: PipelineResult | None = None
    error: str | None = None
    # When not started: the existing run's status (RUNNING, COMPLETED, FAILED, ...), if known.
    existing: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "filename": self.document.filename,
            "sha256": self.document.sha256,
            "uri": self.document.uri,
            "workflow_id": self.workflow_id,
            "started": self.started,
            "existing": self.existing,
            "result": dataclasses.asdict(self.result) if self.result else None,
            "error": self.error,
        }


def retry_hint(path: str) -> str:
    """What a user runs to retry a failed document (named in every failure `docpipe submit` prints)."""
    return f"docpipe submit --retry-failed {path}"


async def start_pipeline(
    client: Client, ref: DocumentRef, settings: Settings, *, retry_failed: bool = False
) -> Submission:
    """Start DocumentPipelineWorkflow for `ref`; an existing run for the same content is a success.

    A finished run is never repeated, except that `retry_failed` starts a new run (same workflow id)
    of a document whose last run failed; a running one is simply joined.
    """
    wid = workflow_id(ref.sha256)
    attributes = None
    if settings.search_attributes:
        attributes = TypedSearchAttributes([SearchAttributePair(NAME_ATTRIBUTE, ref.filename)])
    try:
        await client.start_workflow(
            WORKFLOW_TYPE,
            PipelineInput(
                document=ref,
                queue_prefix=settings.queue_prefix,
                stage_timeouts=settings.stage_timeouts,
                search_attributes=settings.search_attributes,
            ),
            id=wid,
            task_queue=settings.task_queue("workflow"),
            id_reuse_policy=(
                WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
                if retry_failed
                else WorkflowIDReusePolicy.REJECT_DUPLICATE
            ),
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            # Found in the UI by name: the summary column, the memo, and (where registered) a search
            # attribute (`DocpipeName = "invoice.pdf"`).
            static_summary=ref.filename,
            memo={"name": ref.filename, "sha256": ref.sha256},
            search_attributes=attributes,
        )
        return Submission(ref, wid, started=True)
    except WorkflowAlreadyStartedError:
        try:
            status = (await client.get_workflow_handle(wid).describe()).status
        except Exception:  # the run exists; its status is only for the message
            status = None
        return Submission(ref, wid, started=False, existing=status.name if status else None)


async def result_of(handle: WorkflowHandle[Any, PipelineResult]) -> PipelineResult:
    """The run's PipelineResult, also for a run that ended Failed because its document failed."""
    try:
        return await handle.result()
    except WorkflowFailureError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == DOCUMENT_FAILED and cause.details:
            return value_to_type(PipelineResult, cause.details[0])
        raise


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


async def submit_paths(
    client: Client, paths: list[str], settings: Settings, wait: bool, *, retry_failed: bool = False
) -> list[Submission]:
    out = []
    for raw in paths:
        path = Path(raw)
        ref = describe_file(path)
        if settings.bucket and not settings.payload_dir:
            # Cloud workers cannot read this machine's disk: the document goes by bucket reference.
            ref = await asyncio.to_thread(_upload, path, ref, settings.bucket, settings.upload_prefix)
        out.append(await start_pipeline(client, ref, settings, retry_failed=retry_failed))
    if wait:
        await asyncio.gather(*(_wait(client, s) for s in out))
    return out


async def _wait(client: Client, sub: Submission) -> None:
    try:
        sub.result = await result_of(client.get_workflow_handle(sub.workflow_id, result_type=PipelineResult))
    except WorkflowFailureError as err:
        sub.error = str(err.cause or err)
