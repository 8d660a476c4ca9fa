"""Follow documents through the pipeline: skip what is stored, start the rest, watch each stage.

The current stage comes from the workflow's `stage` query; the per-stage times shown at the end are
the workflow's own (stored with the row), so they do not depend on how often this polls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from docpipe.local.rows import STAGES, DocumentRow, read_rows
from workers.contract import workflow_id
from workers.types import DocumentRef

if TYPE_CHECKING:
    from temporalio.client import Client

    from workers.settings import Settings

FINISHED = ("stored", "failed", "error", "skipped")


@dataclass
class DocProgress:
    path: Path
    ref: DocumentRef
    outcome: str = "queued"  # queued | running | stored | failed | error | skipped
    stage: str = "queued"  # the workflow's current stage
    resumed: bool = False  # joined a run started earlier (a previous `docpipe dev` was interrupted)
    reason: str | None = None
    failed_stage: str | None = None
    started: float | None = None
    finished: float | None = None
    stage_started: float | None = None
    seen: dict[str, float] = field(default_factory=dict)  # stage → seconds observed here (live view)
    row: DocumentRow | None = None
    timings: dict[str, int] = field(default_factory=dict)  # stage → ms, from the workflow's result

    def stage_ms(self) -> dict[str, int]:
        """Time per stage as the workflow measured it (this run's result, else the stored row)."""
        return self.timings or (self.row.timings if self.row else {})

    @property
    def sha256(self) -> str:
        return self.ref.sha256

    @property
    def workflow_id(self) -> str:
        return workflow_id(self.ref.sha256)

    @property
    def done(self) -> bool:
        return self.outcome in FINISHED

    def elapsed(self, now: float | None = None) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or now or time.monotonic()) - self.started

    def move_to(self, stage: str, now: float) -> bool:
        """Record a stage change seen by the poller; True when it changed."""
        if stage == self.stage or stage in {"pending", ""}:
            return False
        if self.stage in STAGES and self.stage_started is not None:
            self.seen[self.stage] = now - self.stage_started
        self.stage, self.stage_started = stage, now
        return True

    def to_dict(self) -> dict[str, Any]:
        row = self.row
        return {
            "path": str(self.path),
            "filename": self.ref.filename,
            "sha256": self.sha256,
            "workflowId": self.workflow_id,
            "outcome": self.outcome,
            "resumed": self.resumed,
            "documentType": row.document_type if row else None,
            "enriched": row.enriched if row else None,
            "enrichmentStatus": row.enrichment_status if row else None,
            "row": row.row_id if row else None,
            "status": row.status if row else None,
            "reason": self.reason or (row.reason if row else None),
            "failedStage": self.failed_stage or (row.failed_stage if row else None),
            "timingsMs": self.stage_ms(),
            "seconds": round(self.elapsed(), 3) if self.started is not None else None,
        }


class Display(Protocol):
    def changed(self, doc: DocProgress) -> None: ...
    def tick(self) -> None: ...
    def note(self, message: str) -> None: ...


def mark_skipped(
    docs: list[DocProgress], rows: dict[str, DocumentRow], *, retry_failed: bool = False
) -> list[DocProgress]:
    """Mark documents that already have a row (stored, or failed with a reason); returns the others.

    With `retry_failed` a `failed` row is not a reason to skip: the document runs again.
    """
    todo = []
    for d in docs:
        row = rows.get(d.sha256)
        if row is not None and not (retry_failed and row.status == "failed"):
            d.outcome, d.row = "skipped", row
        else:
            todo.append(d)
    return todo


async def _query_stage(client: Client, doc: DocProgress) -> str | None:
    try:
        stage: str = await client.get_workflow_handle(doc.workflow_id).query(
            "stage", rpc_timeout=timedelta(seconds=2)
        )
        return stage
    except Exception:
        return None  # not yet picked up by the workflow worker, or finishing: the next poll tells


async def _result(client: Client, doc: DocProgress, conninfo: str) -> None:
    from temporalio.client import WorkflowFailureError

    from workers.submit import result_of
    from workers.types import PipelineResult

    try:
        result = await result_of(client.get_workflow_handle(doc.workflow_id, result_type=PipelineResult))
        # What the user sees is the row read back, not the run's word (PostgreSQL is the record).
        row = (await asyncio.to_thread(read_rows, conninfo, [doc.sha256])).get(doc.sha256)
        if row is None:
            doc.outcome, doc.reason = "error", "the run completed but PostgreSQL has no row for it"
            doc.finished = time.monotonic()
            return
        doc.outcome = "stored" if row.status == "stored" else "failed"
        doc.reason, doc.failed_stage, doc.row = row.reason, row.failed_stage, row
        doc.timings = {t.stage: t.milliseconds for t in result.timings}
        doc.move_to(row.status, time.monotonic())
    except WorkflowFailureError as err:
        doc.outcome, doc.reason = "error", str(err.cause or err)
    except Exception as err:
        doc.outcome, doc.reason = "error", f"{type(err).__name__}: {err}"
    doc.finished = time.monotonic()


async def follow(
    client: Client,
    settings: Settings,
    docs: list[DocProgress],
    conninfo: str,
    *,
    display: Display,
    check: Callable[[], None] = lambda: None,
    poll_seconds: float = 0.25,
    retry_failed: bool = False,
) -> None:
    """Skip documents already stored, start the others, and poll until every one has finished.

    `check` runs every poll (it raises when a worker cannot be kept running).
    """
    from workers.submit import start_pipeline

    existing = await asyncio.to_thread(read_rows, conninfo, [d.sha256 for d in docs])
    todo = mark_skipped(docs, existing, retry_failed=retry_failed)
    for d in docs:
        if d.outcome == "skipped":
            display.changed(d)

    async def no_row() -> bool:
        return True  # `todo` is what had no row just now (or a failed one, with retry_failed)

    # A completed run whose row is gone (a lost data dir) runs again as a new run of the same id.
    subs = await asyncio.gather(
        *(start_pipeline(client, d.ref, settings, no_row, retry_failed=retry_failed) for d in todo)
    )
    for d, sub in zip(todo, subs, strict=True):
        d.resumed = not sub.started
        d.outcome, d.started = "running", time.monotonic()
        display.changed(d)
    waiters = {d.sha256: asyncio.create_task(_result(client, d, conninfo)) for d in todo}
    announced: set[str] = set()
    while True:
        check()
        for d in todo:
            if d.done and d.sha256 not in announced:
                announced.add(d.sha256)
                display.changed(d)
        running = [d for d in todo if not d.done]
        if not running:
            break
        stages = await asyncio.gather(*(_query_stage(client, d) for d in running))
        now = time.monotonic()
        for d, stage in zip(running, stages, strict=True):
            if stage in STAGES and not d.done and d.move_to(stage, now):
                display.changed(d)
        display.tick()
        pending = [t for t in waiters.values() if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=poll_seconds)
    await asyncio.gather(*waiters.values())
    rows = await asyncio.to_thread(read_rows, conninfo, [d.sha256 for d in todo])
    for d in todo:
        d.row = rows.get(d.sha256)
