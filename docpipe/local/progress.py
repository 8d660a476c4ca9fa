"""Follow documents through the pipeline: skip what is stored, start the rest, watch each stage.

Bounded work whatever the number of documents: at most WINDOW (64) runs in flight (started a few at a
time); each refresh is one SELECT of the in-flight documents' rows (an outcome shown as stored or
failed is the document's PostgreSQL row) and one read of the stages the workers report to Valkey
(workers/stages.py); one visibility list a second finds runs that closed without a row. The
per-stage times shown at the end are the workflow's own (stored with the row), so they do not
depend on how often this refreshes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
    started_at: datetime | None = None  # wall clock of the start (to tell this run from older ones)
    run_id: str | None = None  # the run this process started (None: a joined one)
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


# In flight at once: enough to keep the bottleneck (the dev server, then the workflow worker) busy
# — a document spends about 0.5 s in flight on a quiet machine, so 64 cover 100 documents/s — and
# few enough that tasks mostly meet a waiting poller rather than queue in the server's database
# (a backlog of 256 held each run 60 s before its first workflow task under load). Start RPCs at
# once: a handful (thousands of concurrent starts overload the server).
WINDOW = 64
CONCURRENT_STARTS = 8
CONCURRENT_LOOKUPS = 8  # describe / result calls for the rare runs the list did not explain
# Close records reach visibility a little after the close: each list looks this far back (a record
# later still is found by describing runs that stay in flight long, see _RECHECK).
_VISIBILITY_LAG = timedelta(seconds=2)
_LIST_EVERY = 1.0  # seconds between visibility lists
_RECHECK = 60.0  # a run in flight this long without a row is described (then again as long after)
_START_RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class StageSource(Protocol):
    """Where the workers note each document's stage (workers/stages.py: a Valkey hash)."""

    async def read(self, workflow_ids: list[str]) -> dict[str, tuple[str, float]]: ...
    async def forget(self, workflow_ids: list[str]) -> None: ...


class ValkeyStages:
    def __init__(self, url: str, key: str) -> None:
        import valkey.asyncio as valkey

        self.key = key
        self._client = valkey.from_url(url, socket_connect_timeout=1, socket_timeout=2)

    async def read(self, workflow_ids: list[str]) -> dict[str, tuple[str, float]]:
        from workers.stages import parse_stage_value

        if not workflow_ids:
            return {}
        try:
            values = await self._client.hmget(self.key, workflow_ids)
        except Exception:
            return {}  # the view shows less; outcomes do not depend on it
        out = {}
        for wid, raw in zip(workflow_ids, values, strict=True):
            parsed = parse_stage_value(raw)
            if parsed is not None:
                out[wid] = parsed
        return out

    async def forget(self, workflow_ids: list[str]) -> None:
        if workflow_ids:
            with contextlib.suppress(Exception):
                await self._client.hdel(self.key, *workflow_ids)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._client.aclose()


async def _no_row() -> bool:
    """What `follow` knows of every document it starts: PostgreSQL had no row for it (or, with
    --retry-failed, a failed one), so a closed run of it must run again (workers.submit)."""
    return True


class _Follower:
    """Per refresh: one SELECT (the outcome of a finished document is its row) and one read of the
    stage reports; every `_LIST_EVERY` seconds one visibility list of the runs closed since the
    last list (to tell runs that closed without a row). No call per document."""

    def __init__(
        self,
        client: Client,
        settings: Settings,
        conninfo: str,
        *,
        display: Display,
        window: int,
        stages: StageSource | None,
        retry_failed: bool = False,
        old_rows: dict[str, DocumentRow] | None = None,
    ) -> None:
        self.client, self.settings, self.conninfo = client, settings, conninfo
        self.display, self.window, self.stages = display, window, stages
        self.retry_failed = retry_failed
        # Documents run again (--retry-failed): their earlier row is not this run's outcome.
        self.old_rows = old_rows or {}
        self.in_flight: dict[str, DocProgress] = {}  # workflow id → started, not finished
        self.starting = 0
        self._starts = asyncio.Semaphore(CONCURRENT_STARTS)
        self._lookups = asyncio.Semaphore(CONCURRENT_LOOKUPS)
        self._tasks: set[asyncio.Task[None]] = set()
        self._checked: dict[str, float] = {}  # workflow id → when it was last described
        self._since = datetime.now(UTC) - _VISIBILITY_LAG
        self._listed = 0.0
        self._finished: list[str] = []  # stage reports to forget
        # Stored (the row is there) but the run not yet seen closed: its last workflow task may still
        # be due, and the workers stop when this returns (see settle).
        self.closing: set[str] = set()
        self.temporal_calls = 0

    # --- submission -----------------------------------------------------------------------------
    def top_up(self, queue: deque[DocProgress]) -> None:
        while queue and len(self.in_flight) + self.starting < self.window:
            self.starting += 1
            self._spawn(self._start(queue.popleft()))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self, d: DocProgress) -> None:
        from temporalio.service import RPCError

        from workers.submit import start_pipeline

        try:
            for attempt in range(len(_START_RETRY_SECONDS) + 1):
                try:
                    async with self._starts:
                        self.temporal_calls += 1
                        sub = await start_pipeline(
                            self.client, d.ref, self.settings, _no_row, retry_failed=self.retry_failed
                        )
                    break
                except RPCError as err:  # an overloaded or restarting server: ask again, shortly
                    if attempt == len(_START_RETRY_SECONDS):
                        self._finish(d, "error", f"could not start the run: {err}")
                        return
                    await asyncio.sleep(_START_RETRY_SECONDS[attempt])
            d.resumed = not sub.started
            d.run_id = sub.run_id
            d.outcome, d.started, d.started_at = "running", time.monotonic(), datetime.now(UTC)
            self.in_flight[d.workflow_id] = d
            # A joined run may have closed long ago (no close record will come): look at it now.
            self._checked[d.workflow_id] = -_RECHECK if d.resumed else d.started
            self.display.changed(d)
        except Exception as err:
            self._finish(d, "error", f"could not start the run: {type(err).__name__}: {err}")
        finally:
            self.starting -= 1

    # --- progress -------------------------------------------------------------------------------
    def _finish(self, d: DocProgress, outcome: str, reason: str | None = None) -> None:
        d.outcome, d.finished = outcome, time.monotonic()
        if d.started is None:
            d.started = d.finished
        if reason is not None:
            d.reason = reason
        self.in_flight.pop(d.workflow_id, None)
        self._checked.pop(d.workflow_id, None)
        self._finished.append(d.workflow_id)
        self.display.changed(d)

    async def refresh(self) -> None:
        if not self.in_flight:
            return
        closed = await self._list_closed() if time.monotonic() - self._listed >= _LIST_EVERY else {}
        # Rows after the list: a run that completed had written its row before it closed.
        docs = list(self.in_flight.values())
        rows = self._fresh(await asyncio.to_thread(read_rows, self.conninfo, [d.sha256 for d in docs]))
        reports = await self.stages.read([d.workflow_id for d in docs]) if self.stages else {}
        now = time.monotonic()
        for d in docs:
            report = reports.get(d.workflow_id)
            row = rows.get(d.sha256)
            if report is not None:
                stage, at = report
                # The report's wall clock, on this machine's monotonic scale.
                moved = stage in STAGES and d.move_to(stage, now - max(0.0, time.time() - at))
                if moved and row is None:
                    self.display.changed(d)
                if row is not None and stage == "storage" and row.updated_at is not None:
                    d.timings["storage"] = max(0, int((row.updated_at.timestamp() - at) * 1000))
            if row is not None:
                self._stored(d, row)
                continue
            status = closed.get(d.workflow_id)
            if status == "COMPLETED":
                self._finish(d, "error", "the run completed but PostgreSQL has no row for it")
            elif status is not None:
                self.in_flight.pop(d.workflow_id, None)
                self._spawn(self._failed_run(d))
            elif now - self._checked.get(d.workflow_id, now) >= _RECHECK:
                self._checked[d.workflow_id] = now
                self._spawn(self._describe(d))
        if self.stages is not None and self._finished:
            done, self._finished = self._finished, []
            await self.stages.forget(done)

    def _fresh(self, rows: dict[str, DocumentRow]) -> dict[str, DocumentRow]:
        """The rows written since this run started (a retried document's old row is not its outcome)."""
        return {
            sha: row
            for sha, row in rows.items()
            if sha not in self.old_rows or row.updated_at != self.old_rows[sha].updated_at
        }

    def _stored(self, d: DocProgress, row: DocumentRow) -> None:
        self.closing.add(d.workflow_id)
        d.row = row
        d.timings = {**row.timings, **d.timings}
        d.failed_stage = row.failed_stage
        self._finish(d, "stored" if row.status == "stored" else "failed", row.reason)

    async def _list_closed(self) -> dict[str, str]:
        """Workflow id → status of this pipeline's runs closed since the previous list."""
        from workers.contract import WORKFLOW_TYPE

        asked = datetime.now(UTC)
        query = f'WorkflowType = "{WORKFLOW_TYPE}" AND CloseTime > "{_rfc3339(self._since)}"'
        out: dict[str, str] = {}
        self.temporal_calls += 1
        try:
            async for wf in self.client.list_workflows(query, page_size=1000):
                self.closing.discard(wf.id)
                d = self.in_flight.get(wf.id)
                if d is None or wf.status is None:
                    continue
                if d.run_id is not None and wf.run_id != d.run_id:
                    continue  # another run of this document (an earlier one this run replaced)
                if not d.resumed and d.started_at and wf.start_time < d.started_at - timedelta(seconds=1):
                    continue  # an earlier run of this document (it failed; this run replaced it)
                out[wf.id] = wf.status.name
        except Exception:
            return {}  # a busy or restarting server: the next list covers this one's span too
        self._since, self._listed = asked - _VISIBILITY_LAG, time.monotonic()
        return out

    async def _describe(self, d: DocProgress) -> None:
        """A run in flight long without a row: still running, or closed without one?"""
        from temporalio.client import WorkflowExecutionStatus

        async with self._lookups:
            self.temporal_calls += 1
            try:
                desc = await self.client.get_workflow_handle(d.workflow_id).describe()
            except Exception:
                return  # asked again after _RECHECK
        if d.workflow_id not in self.in_flight or desc.status == WorkflowExecutionStatus.RUNNING:
            return
        rows = self._fresh(await asyncio.to_thread(read_rows, self.conninfo, [d.sha256]))
        if d.sha256 in rows:
            self._stored(d, rows[d.sha256])
        elif desc.status == WorkflowExecutionStatus.COMPLETED:
            self._finish(d, "error", "the run completed but PostgreSQL has no row for it")
        else:
            self.in_flight.pop(d.workflow_id, None)
            await self._failed_run(d)

    async def _failed_run(self, d: DocProgress) -> None:
        """A run that failed (or was terminated / timed out): its failure is the reason shown."""
        from temporalio.client import WorkflowFailureError

        async with self._lookups:
            self.temporal_calls += 1
            try:
                await self.client.get_workflow_handle(d.workflow_id).result(follow_runs=False)
                reason = "the run closed without a result"
            except WorkflowFailureError as err:
                reason = str(err.cause or err)
            except Exception as err:
                reason = f"{type(err).__name__}: {err}"
        self._finish(d, "error", reason)

    async def settle(self, timeout: float = 10.0) -> None:
        """Until every run whose row was read is closed too (its last workflow task is quick), so
        that stopping the workers next leaves no run of this batch open in Temporal."""
        deadline = time.monotonic() + timeout
        while self.closing and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            await self._list_closed()

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks))


async def follow(
    client: Client,
    settings: Settings,
    docs: list[DocProgress],
    conninfo: str,
    *,
    display: Display,
    check: Callable[[], None] = lambda: None,
    stages: StageSource | None = None,
    refresh_seconds: tuple[float, float] = (0.1, 0.5),
    window: int = WINDOW,
    retry_failed: bool = False,
) -> int:
    """Skip documents already stored, start the others (at most `window` in flight), follow them.

    `check` runs every refresh (it raises when a worker cannot be kept running); `stages` gives
    the live view each document's stage. Returns the number of Temporal calls made: one start per
    document plus about one per second, whatever the number of documents.
    """
    existing = await asyncio.to_thread(read_rows, conninfo, [d.sha256 for d in docs])
    todo = mark_skipped(docs, existing, retry_failed=retry_failed)
    for d in docs:
        if d.outcome == "skipped":
            display.changed(d)
    queue = deque(todo)
    old = {d.sha256: existing[d.sha256] for d in todo if d.sha256 in existing}
    follower = _Follower(
        client,
        settings,
        conninfo,
        display=display,
        window=window,
        stages=stages,
        retry_failed=retry_failed,
        old_rows=old,
    )
    try:
        while queue or follower.in_flight or follower.starting:
            check()
            follower.top_up(queue)
            # A few runs: refresh often (a refresh costs the same for 1 or 64); many: less often.
            pause = refresh_seconds[0] if len(follower.in_flight) < 16 else refresh_seconds[1]
            tick = asyncio.create_task(asyncio.sleep(pause))
            await follower.refresh()
            display.tick()
            await tick
        await follower.drain()
        await follower.settle()
    finally:
        for task in list(follower._tasks):
            task.cancel()
    rows = await asyncio.to_thread(read_rows, conninfo, [d.sha256 for d in todo])
    for d in todo:
        d.row = rows.get(d.sha256, d.row)
    return follower.temporal_calls
