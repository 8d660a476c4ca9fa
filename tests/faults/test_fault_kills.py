"""Faults during 50-document runs on the local stack: nothing is lost, nothing is stored twice.

One LocalStack for the module (Temporal dev server, embedded PostgreSQL, Valkey, one supervised
`docpipe worker ROLE` process per role; analysis on the real strands backend against the local model
server, enrichment in the real local sandbox). Each test submits 50 fresh documents and, while they
flow, applies one fault:

- SIGKILL of one role's worker while it is mid-activity (Temporal shows an activity of that role
  started on that very process; for the workflow role, a workflow task started). The supervisor of
  the local stack restarts the worker by itself, as an auto-scaling group or Cloud Run would: no
  manual step. For storage, a lock held on the documents table keeps store_document mid-transaction.
- restart of the Temporal dev server on its database file; restart of PostgreSQL;
- loss of Valkey (stopped and left stopped: the pipeline carries on uncached and uncapped).

After each: every document ends stored exactly once or failed with a recorded reason (SQL: one row
per sha256, `writes = 1`), the workflow's result agrees with the row, and every worker is running.
The order matters: Valkey goes last (it stays down).
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest
from fault_documents import good_documents
from fault_stack import (
    ACTIVITY_OF_ROLE,
    Batch,
    FaultStack,
    duplicate_rows,
    record,
    rows,
    submit,
    wait_batch,
    wait_mid_activity,
    wait_new_worker,
)
from temporalio.client import Client

from workers.contract import ROLES

pytestmark = [pytest.mark.slow, pytest.mark.services]

DOCS = 50
# Each role stays in flight long enough to catch it there: model answers take 150 ms, enrichment
# code sleeps 300 ms, and each document is ~30 KB of text for extraction.
SLOW_MS = 150
ENRICH_MS = 300
PARAGRAPHS = 200

Fault = Callable[[FaultStack, Client, Batch], Awaitable[str]]


def outcome_of(batch: Batch, database_url: str) -> dict[str, Any]:
    """Classify every document of the batch; raises on anything lost or stored twice."""
    found = rows(database_url, batch.shas)
    lost, twice, counts = [], [], Counter[str]()
    reasons = Counter[str]()
    for sha in batch.shas:
        row, result = found.get(sha), batch.results.get(sha)
        if row is None or result is None:
            lost.append(f"{sha[:12]}: row {row}, result {result}, error {batch.errors.get(sha)}")
            continue
        if row.writes != 1:
            twice.append(f"{sha[:12]} written {row.writes} times")
        if row.status != result.status:
            lost.append(f"{sha[:12]}: workflow says {result.status}, row says {row.status}")
        elif row.status == "stored":
            counts["stored once"] += 1
        elif row.reason:
            counts["failed with reason"] += 1
            reasons[f"{row.failed_stage}: {row.reason[:70]}"] += 1
        else:
            lost.append(f"{sha[:12]}: failed without a reason")
    assert not lost, f"{len(lost)} documents lost or inconsistent:\n" + "\n".join(lost[:10])
    assert not twice, "documents stored more than once:\n" + "\n".join(twice[:10])
    assert not duplicate_rows(database_url)
    return {**counts, "reasons": dict(reasons)} if reasons else dict(counts)


def workers_recovered(fs: FaultStack) -> dict[str, int]:
    """Every role's worker is running and ready (after any restart the supervisor did)."""
    fs.stack.wait_workers_ready(60)
    assert not fs.stack.supervisor.failures(), fs.stack.supervisor.failures()
    pids = fs.stack.supervisor.pids()
    assert len(pids) == len(ROLES), f"workers running: {pids}"
    return pids


def kill(role: str) -> Fault:
    async def fault(fs: FaultStack, client: Client, batch: Batch) -> str:
        old = fs.stack.worker_pid(role)
        assert old is not None
        caught = await wait_mid_activity(client, batch, role, old)
        fs.stack.kill_worker(role)
        new = await asyncio.to_thread(wait_new_worker, fs.stack, role, old)
        return f"{caught}; SIGKILL {old}; supervisor restarted it as {new}"

    return fault


async def kill_storage(fs: FaultStack, client: Client, batch: Batch) -> str:
    """Hold the documents table so store_document blocks mid-transaction, then SIGKILL storage."""
    old = fs.stack.worker_pid("storage")
    assert old is not None
    with psycopg.connect(fs.database_url) as conn:
        conn.execute("LOCK TABLE documents IN SHARE ROW EXCLUSIVE MODE")  # blocks every upsert
        try:
            caught = await wait_mid_activity(client, batch, "storage", old, timeout=90)
            waiting = await _wait_lock_waiters(fs.database_url)
            fs.stack.kill_worker("storage")
        finally:
            conn.rollback()
    new = await asyncio.to_thread(wait_new_worker, fs.stack, "storage", old)
    return f"{caught}; {waiting} upserts waiting on the lock; SIGKILL {old}; restarted as {new}"


async def _wait_lock_waiters(database_url: str, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query ILIKE '%INSERT INTO documents%'"
            ).fetchone()
        if row and row[0]:
            return int(row[0])
        await asyncio.sleep(0.05)
    raise AssertionError("no store_document upsert was seen waiting on the documents table")


async def _in_flight(client: Client, batch: Batch, role: str = "analysis") -> str:
    """Until the batch is really flowing: an activity of `role` running on any worker."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for wid in batch.ids:
            try:
                desc = (await client.get_workflow_handle(wid).describe()).raw_description
            except Exception:
                continue
            for act in desc.pending_activities:
                if act.activity_type.name == ACTIVITY_OF_ROLE[role] and act.last_worker_identity:
                    return (
                        f"{act.activity_type.name} running on {re.sub(r'@.*', '', act.last_worker_identity)}"
                    )
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {role} activity in flight within 60 s")


async def restart_temporal(fs: FaultStack, client: Client, batch: Batch) -> str:
    caught = await _in_flight(client, batch)
    pids = fs.stack.supervisor.pids()
    await asyncio.to_thread(fs.stack.restart_service, "temporal")
    same = pids == fs.stack.supervisor.pids()
    return f"{caught}; Temporal restarted on its database file; workers {'kept' if same else 'restarted'}"


async def restart_postgres(fs: FaultStack, client: Client, batch: Batch) -> str:
    caught = await _in_flight(client, batch, "storage")
    url = fs.database_url
    await asyncio.to_thread(fs.stack.restart_service, "postgres")
    assert fs.database_url == url, "PostgreSQL came back on another address; workers would not find it"
    return f"{caught}; PostgreSQL restarted"


async def lose_valkey(fs: FaultStack, client: Client, batch: Batch) -> str:
    caught = await _in_flight(client, batch)
    await asyncio.to_thread(fs.stack.stop_service, "valkey")
    return f"{caught}; Valkey stopped (left stopped)"


def valkey_still_down(fs: FaultStack) -> None:
    """Valkey stayed down the whole run, and the workers that use it said so (once each)."""
    port = fs.stack.valkey.port
    with socket.socket() as s:
        s.settimeout(1)
        assert s.connect_ex(("127.0.0.1", port)) != 0, f"something answers on Valkey's port {port}"
    for role in ("extraction", "analysis", "enrichment"):
        log = fs.stack.home.worker_log(role).read_text(errors="replace")
        assert "Valkey unavailable" in log, f"the {role} worker never noticed Valkey was gone"


FAULTS: list[tuple[str, Fault, float]] = [
    # (case, fault, how long the batch may take afterwards)
    ("SIGKILL workflow worker", kill("workflow"), 180),
    ("SIGKILL extraction worker", kill("extraction"), 180),
    ("SIGKILL storage worker", kill_storage, 240),
    ("restart Temporal server", restart_temporal, 180),
    ("restart PostgreSQL", restart_postgres, 180),
    ("SIGKILL enrichment worker", kill("enrichment"), 300),
    ("SIGKILL analysis worker", kill("analysis"), 300),
    ("lose Valkey (left stopped)", lose_valkey, 180),
]


@pytest.mark.parametrize(("case", "fault", "timeout"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_fault_during_a_50_document_run(
    fault_stack: FaultStack, fault_client: Client, case: str, fault: Fault, timeout: float
):
    tag = uuid.uuid4().hex[:8]
    docs = good_documents(
        fault_stack.root / "docs" / tag,
        tag,
        DOCS,
        enrich_every=3,
        slow_ms=SLOW_MS,
        enrich_ms=ENRICH_MS,
        paragraphs=PARAGRAPHS,
    )
    started = time.monotonic()
    batch = await submit(fault_stack.stack, fault_client, docs)
    what = await fault(fault_stack, fault_client, batch)
    await wait_batch(fault_client, batch, timeout, f"{case} ({what})")
    counts = outcome_of(batch, fault_stack.database_url)
    pids = workers_recovered(fault_stack)
    if fault is lose_valkey:
        valkey_still_down(fault_stack)
    record("fault", case, documents=len(batch.shas), **counts, seconds=round(time.monotonic() - started))
    print(f"\n{case}: {what}\n  outcome {counts}; workers {pids}")
    assert sum(v for k, v in counts.items() if k != "reasons") == DOCS
