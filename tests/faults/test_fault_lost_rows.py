"""PostgreSQL is the truth about "stored" (issue 16, item 3).

Rows are lost after their runs completed — some deleted, then the whole table dropped as a wiped
data dir would leave it — and the same documents are submitted again, by `docpipe submit`'s code
(workers.submit.submit_paths) and by `docpipe dev`'s (docpipe.local.progress.follow). A completed
run without its row must run again (a new run of the same workflow id); counted by SQL: one row
per document, each reported "stored" only with its row, and `docpipe status` agrees with SELECT.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
from fault_documents import good_documents
from fault_stack import FaultStack, docpipe_status, record, rows
from temporalio.client import Client

from docpipe.local.progress import DocProgress, follow
from workers.documents import describe_file
from workers.submit import submit_paths

pytestmark = [pytest.mark.slow, pytest.mark.services]

N = 10


def _count(url: str) -> int:
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT to_regclass('documents') IS NOT NULL").fetchone()
        if not found or not found[0]:
            return 0
        row = conn.execute("SELECT count(*) FROM documents").fetchone()
        return int(row[0]) if row else 0


class _Quiet:
    def changed(self, doc: DocProgress) -> None:
        pass

    def tick(self) -> None:
        pass

    def note(self, message: str) -> None:
        pass


async def test_completed_runs_without_rows_run_again(fault_stack: FaultStack, fault_client: Client) -> None:
    url = fault_stack.database_url
    settings = fault_stack.stack.settings().model_copy(update={"database_url": url})
    paths = [str(p) for p in good_documents(fault_stack.root / "lost-rows", "lost", N, enrich_every=4)]
    shas = [describe_file(p).sha256 for p in paths]

    first = await submit_paths(fault_client, paths, settings, wait=True)
    assert [s.result.status if s.result else s.error for s in first] == ["stored"] * N

    # 1. Six rows deleted behind the pipeline's back: `docpipe submit` runs exactly those again.
    lost = shas[:6]
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM documents WHERE sha256 = ANY(%s)", (lost,))
    again = await submit_paths(fault_client, paths, settings, wait=True)
    found = rows(url, shas)
    record(
        "lost-rows",
        "6 of 10 rows deleted, docpipe submit",
        rows=len(found),
        reruns=sum(s.rerun for s in again),
    )
    assert [s.rerun for s in again] == [True] * 6 + [False] * 4
    assert [s.result.status if s.result else s.error for s in again] == ["stored"] * N
    assert sorted(found) == sorted(shas) and {r.writes for r in found.values()} == {1}

    # 2. The table gone, as after `rm -rf` of the data dir: `docpipe dev`'s skip decision reads
    # PostgreSQL, so every document runs again and is reported from its row read back.
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE documents")
        conn.execute("DROP TABLE schema_migrations")
    docs = [DocProgress(Path(p), describe_file(p)) for p in paths]
    started = time.monotonic()
    await follow(fault_client, settings, docs, url, display=_Quiet())
    found = rows(url, shas)
    status = docpipe_status(url)
    record(
        "lost-rows",
        "table dropped, docpipe dev",
        rows=len(found),
        stored=sum(d.outcome == "stored" for d in docs),
        seconds=round(time.monotonic() - started),
    )
    assert [d.outcome for d in docs] == ["stored"] * N, [(d.outcome, d.reason) for d in docs]
    assert all(d.row is not None and d.row.status == "stored" for d in docs)
    assert sorted(found) == sorted(shas)
    assert status["counts"] == {"stored": _count(url)} == {"stored": N}
