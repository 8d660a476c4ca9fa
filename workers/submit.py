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

from workers.contract import DOCUMENT_FAILED, NAME_ATTRIBUTE, WORKFLOW_TYPE, workflow_id
from workers.documents import describe_file
from workers.settings import Settings
from workers.types import DocumentRef, PipelineInput, PipelineResult

NAME_KEY = SearchAttributeKey.for_keyword(NAME_ATTRIBUTE)


@dataclass
class Submission:
    document: DocumentRef
    workflow_id: str
    started: bool  # False: a run for this content already exists (running or finished)
    result: PipelineResult | None = None
    error: str | None = None
    # When not started: the existing run's status (RUNNING, COMPLETED, FAILED, ...), if known.
    existing: str | None = None
    # True: an earlier run completed but PostgreSQL had no row for it, so a new run was started.
    rerun: bool = False
    run_id: str | None = None  # of the run this submission started

    def to_dict(self) -> dict[str, Any]:
        """camelCase, as every other --json of docpipe."""
        return {
            "filename": self.document.filename,
            "sha256": self.document.sha256,
            "uri": self.document.uri,
            "workflowId": self.workflow_id,
            "started": self.started,
            "existing": self.existing,
            "rerun": self.rerun,
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


def retry_hint(path: str) -> str:
    """What a user runs to retry a failed document (named in every failure `docpipe submit` prints)."""
    return f"docpipe submit --retry-failed {path}"


RowMissing = Callable[[], Awaitable[bool]]


async def start_pipeline(
    client: Client,
    ref: DocumentRef,
    settings: Settings,
    row_missing: RowMissing | None = None,
    *,
    retry_failed: bool = False,
) -> Submission:
    """Start DocumentPipelineWorkflow for `ref`; an existing run for the same content is a success.

    A finished run is never repeated, except that `retry_failed` starts a new run (same workflow id)
    of a document whose last run failed; a running one is simply joined. `row_missing` (when the
    caller can read PostgreSQL) decides a completed run's fate: with its row it is not repeated;
    without one the document runs again. Without `row_missing` a completed run is trusted (a cloud
    `docpipe submit` may have no route to the database).
    """
    wid = workflow_id(ref.sha256)
    attributes = None
    if settings.search_attributes:
        attributes = TypedSearchAttributes([SearchAttributePair(NAME_KEY, ref.filename)])
    arg = PipelineInput(
        document=ref,
        queue_prefix=settings.queue_prefix,
        stage_timeouts=settings.stage_timeouts,
        search_attributes=settings.search_attributes,
    )

    async def start(reuse: WorkflowIDReusePolicy) -> str | None:
        handle = await client.start_workflow(
            WORKFLOW_TYPE,
            arg,
            id=wid,
            task_queue=settings.task_queue("workflow"),
            id_reuse_policy=reuse,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,  # a run open right now is joined
            # Found in the UI by name: the summary column, the memo, and (where registered) a search
            # attribute (`DocpipeName = "invoice.pdf"`).
            static_summary=ref.filename,
            memo={"name": ref.filename, "sha256": ref.sha256},
            search_attributes=attributes,
        )
        return handle.result_run_id

    first = (
        WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
        if retry_failed
        else WorkflowIDReusePolicy.REJECT_DUPLICATE
    )
    try:
        run_id = await start(first)
        return Submission(ref, wid, started=True, run_id=run_id)
    except WorkflowAlreadyStartedError:
        pass
    if row_missing is not None and await row_missing():
        try:
            # The earlier run closed, but its row is gone: ALLOW_DUPLICATE starts a new run after a
            # closed one of any outcome.
            run_id = await start(WorkflowIDReusePolicy.ALLOW_DUPLICATE)
            return Submission(ref, wid, started=True, rerun=True, run_id=run_id)
        except WorkflowAlreadyStartedError:
            pass  # running (not stored yet): joined
    return Submission(ref, wid, started=False)


async def _existing_status(client: Client, sub: Submission) -> None:
    """What `docpipe submit` says of a duplicate ("duplicate of a failed run"): one describe, made
    only here, not in `start_pipeline` (docpipe dev and the bucket starter have no use for it)."""
    try:
        status = (await client.get_workflow_handle(sub.workflow_id).describe()).status
    except Exception:  # the run exists; its status is only for the message
        return
    sub.existing = status.name if status else None


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
        row_missing = _row_missing(settings, ref.sha256)
        out.append(await start_pipeline(client, ref, settings, row_missing, retry_failed=retry_failed))
    await asyncio.gather(*(_existing_status(client, s) for s in out if not s.started))
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
        sub.result = await result_of(client.get_workflow_handle(sub.workflow_id, result_type=PipelineResult))
    except WorkflowFailureError as err:
        sub.error = str(err.cause or err)
