"""Start the pipeline for documents (`docpipe submit`), one workflow per content hash.

PostgreSQL, not Temporal, is the record of what is stored: a document whose earlier run completed
but whose row is gone (a lost or restored database) is run again, as a new run of the same workflow
id, and `--wait` reports a document stored only once its row is read back.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
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
    # True: an earlier run completed but PostgreSQL had no row for it, so a new run was started.
    rerun: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "filename": self.document.filename,
            "sha256": self.document.sha256,
            "uri": self.document.uri,
            "workflow_id": self.workflow_id,
            "started": self.started,
            "rerun": self.rerun,
            "result": dataclasses.asdict(self.result) if self.result else None,
            "error": self.error,
        }


RowMissing = Callable[[], Awaitable[bool]]


async def start_pipeline(
    client: Client, ref: DocumentRef, settings: Settings, row_missing: RowMissing | None = None
) -> Submission:
    """Start DocumentPipelineWorkflow for `ref`; an existing run for the same content is a success.

    `row_missing` (when the caller can read PostgreSQL) decides a completed run's fate: with its row
    it is not repeated; without one the document runs again. Without `row_missing` a completed run
    is trusted (a cloud `docpipe submit` may have no route to the database).
    """
    wid = workflow_id(ref.sha256)
    arg = PipelineInput(
        document=ref, queue_prefix=settings.queue_prefix, stage_timeouts=settings.stage_timeouts
    )
    try:
        await client.start_workflow(
            WORKFLOW_TYPE,
            arg,
            id=wid,
            task_queue=settings.task_queue("workflow"),
            # A finished run is not repeated (only a run that itself failed may be retried);
            # a running one is simply joined.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        return Submission(ref, wid, started=True)
    except WorkflowAlreadyStartedError:
        pass
    if row_missing is None or not await row_missing():
        return Submission(ref, wid, started=False)
    try:
        # The earlier run completed, but its row is gone: ALLOW_DUPLICATE starts a new run after a
        # closed one of any outcome, FAIL still joins a run that is open right now.
        await client.start_workflow(
            WORKFLOW_TYPE,
            arg,
            id=wid,
            task_queue=settings.task_queue("workflow"),
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        return Submission(ref, wid, started=True, rerun=True)
    except WorkflowAlreadyStartedError:
        return Submission(ref, wid, started=False)  # running (not stored yet): joined


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
        out.append(await start_pipeline(client, ref, settings, _row_missing(settings, ref.sha256)))
    if wait:
        await asyncio.gather(*(_wait(client, s) for s in out))
        if settings.database_url:
            await asyncio.to_thread(_read_back, settings.database_url, out)
    return out


def _row_missing(settings: Settings, sha256: str) -> RowMissing | None:
    url = settings.database_url
    if not url:
        return None

    async def missing() -> bool:
        from workers.storage.status import row_statuses

        return sha256 not in await asyncio.to_thread(row_statuses, url, [sha256])

    return missing


def _read_back(conninfo: str, subs: list[Submission]) -> None:
    """A result says stored only when PostgreSQL has the row (what `docpipe status` counts)."""
    from workers.storage.status import row_statuses

    found = row_statuses(conninfo, [s.document.sha256 for s in subs])
    for s in subs:
        if s.result is None or s.error:
            continue
        status = found.get(s.document.sha256)
        if status is None:
            s.error = "the run completed but PostgreSQL has no row for it; submit it again"
        elif status != s.result.status:
            s.result = dataclasses.replace(s.result, status=status)


async def _wait(client: Client, sub: Submission) -> None:
    try:
        handle = client.get_workflow_handle(sub.workflow_id, result_type=PipelineResult)
        sub.result = await handle.result()
    except WorkflowFailureError as err:
        sub.error = str(err.cause or err)
