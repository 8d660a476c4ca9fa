"""Storage on embedded PostgreSQL: versioned migrations, idempotent upsert, status read side."""

from __future__ import annotations

import psycopg
import pytest

from workers.storage.activities import StorageActivities
from workers.storage.migrations import migrate, migration_files
from workers.storage.status import read_status
from workers.types import AnalyzeResult, DocumentRef, StageTiming, StoreInput

pytestmark = pytest.mark.services

REF = DocumentRef("/docs/a.txt", "c" * 64, "a.txt", "text/plain", 12)
ANALYSIS = AnalyzeResult("memo", "A memo.", ["Priya Nair"], False, "heuristic")


def _stored(run_id: str = "run-1") -> StoreInput:
    return StoreInput(
        REF,
        "stored",
        analysis=ANALYSIS,
        timings=[StageTiming("extraction", 5)],
        workflow_id="doc-c",
        run_id=run_id,
    )


async def test_migrations_apply_once_in_order(database_url):
    assert [v for v, _, _ in migration_files()] == sorted(v for v, _, _ in migration_files())
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        assert await migrate(conn) == [v for v, _, _ in migration_files()]
        assert await migrate(conn) == []
        cur = await conn.execute("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in await cur.fetchall()] == [v for v, _, _ in migration_files()]


async def test_a_retried_store_writes_one_row_once(database_url):
    storage = StorageActivities(lambda: _const(database_url))
    first = await storage.store_document(_stored())
    retry = await storage.store_document(_stored())
    await storage.close()
    assert first.changed and not retry.changed
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT status, document_type, writes, key_entities, timings FROM documents"
        ).fetchall()
    assert rows == [("stored", "memo", 1, ["Priya Nair"], [{"stage": "extraction", "milliseconds": 5}])]


async def test_a_later_run_updates_the_same_row(database_url):
    storage = StorageActivities(lambda: _const(database_url))
    await storage.store_document(
        StoreInput(REF, "failed", reason="boom", failed_stage="analysis", run_id="r1")
    )
    await storage.store_document(_stored("r2"))
    await storage.close()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT status, reason, writes FROM documents").fetchall() == [
            ("stored", None, 2)
        ]


async def test_status_counts_and_failures(database_url):
    assert read_status(database_url).total == 0, "no table yet reads as empty"
    storage = StorageActivities(lambda: _const(database_url))
    await storage.store_document(_stored())
    other = DocumentRef("/docs/b.pdf", "d" * 64, "b.pdf", "application/pdf", 3)
    await storage.store_document(
        StoreInput(other, "failed", reason="b.pdf: not a readable PDF", failed_stage="extraction", run_id="x")
    )
    await storage.close()
    report = read_status(database_url)
    assert report.counts == {"stored": 1, "failed": 1} and report.total == 2
    assert [(f.filename, f.failed_stage, f.reason) for f in report.failures] == [
        ("b.pdf", "extraction", "b.pdf: not a readable PDF")
    ]


async def _const(value: str) -> str:
    return value


async def test_concurrent_stores_on_one_worker_all_commit(database_url):
    import asyncio

    storage = StorageActivities(lambda: _const(database_url))
    refs = [DocumentRef(f"/docs/{i}.txt", f"{i:064x}", f"{i}.txt", "text/plain", 1) for i in range(20)]
    results = await asyncio.gather(
        *(storage.store_document(StoreInput(r, "stored", run_id="r")) for r in refs)
    )
    await storage.close()
    assert all(r.changed for r in results)
    assert read_status(database_url).counts == {"stored": 20}
