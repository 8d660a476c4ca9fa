"""The progress loop's bounds and truthfulness, against a fake Temporal client and fake rows.

No services: the fakes count what `follow` asks for, so the bounds (runs in flight, concurrent
starts, Temporal calls) and the outcomes (a row read back, or the reason there is none) are checked
exactly. tests/dev/test_dev_scale.py runs the real thing at a few hundred documents.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from docpipe.local import progress
from docpipe.local.progress import CONCURRENT_STARTS, DocProgress, follow
from docpipe.local.rows import DocumentRow
from workers.submit import Submission
from workers.types import DocumentRef


class _Quiet:
    def changed(self, doc: DocProgress) -> None: ...
    def tick(self) -> None: ...
    def note(self, message: str) -> None: ...


class _World:
    """Runs that finish a few refreshes after they start; rows written unless told otherwise."""

    def __init__(self, *, rowless: set[str] = frozenset(), failing: set[str] = frozenset()) -> None:
        self.rows: dict[str, DocumentRow] = {}
        self.closed: dict[str, str] = {}  # workflow id → status name
        self.running: dict[str, int] = {}  # workflow id → refreshes left
        self.rowless, self.failing = rowless, failing
        self.starting = self.max_starting = self.max_in_flight = 0
        self.lists = self.starts = self.others = 0

    async def start(
        self,
        client: Any,
        ref: DocumentRef,
        settings: Any,
        row_missing: Any = None,
        *,
        retry_failed: bool = False,
    ) -> Submission:
        self.starting += 1
        self.max_starting = max(self.max_starting, self.starting)
        await asyncio.sleep(0.001)
        self.starting -= 1
        self.starts += 1
        wid = f"doc-{ref.sha256}"
        self.running[wid] = 2
        self.max_in_flight = max(self.max_in_flight, len(self.running))
        return Submission(ref, wid, started=True)

    def advance(self) -> None:
        for wid in list(self.running):
            self.running[wid] -= 1
            if self.running[wid] <= 0:
                del self.running[wid]
                sha = wid.removeprefix("doc-")
                if wid in self.failing:
                    self.closed[wid] = "FAILED"
                    continue
                self.closed[wid] = "COMPLETED"
                if wid not in self.rowless:
                    self.rows[sha] = DocumentRow(sha, f"{sha}.txt", "stored", None, None, "memo", False)

    def read_rows(self, conninfo: str, shas: list[str]) -> dict[str, DocumentRow]:
        self.advance()
        return {s: self.rows[s] for s in shas if s in self.rows}

    def client(self) -> Any:
        world = self

        async def list_workflows(query: str, page_size: int = 1000) -> Any:
            world.lists += 1
            for wid, status in world.closed.items():
                yield SimpleNamespace(
                    id=wid, status=SimpleNamespace(name=status), start_time=datetime.now(UTC)
                )

        class _Handle:
            async def result(self, follow_runs: bool = True) -> None:
                world.others += 1
                raise RuntimeError("storage gave up after 20 attempts")

            async def describe(self) -> None:
                world.others += 1
                raise RuntimeError("not expected")

        return SimpleNamespace(list_workflows=list_workflows, get_workflow_handle=lambda wid: _Handle())


def _docs(n: int) -> list[DocProgress]:
    return [
        DocProgress(
            Path(f"d{i}.txt"),
            DocumentRef(
                uri=f"file:///d{i}",
                filename=f"d{i}.txt",
                sha256=f"{i:064x}",
                content_type="text/plain",
                size=1,
            ),
        )
        for i in range(n)
    ]


def _run(world: _World, docs: list[DocProgress], monkeypatch: pytest.MonkeyPatch, window: int) -> int:
    monkeypatch.setattr(progress, "read_rows", world.read_rows)
    monkeypatch.setattr("workers.submit.start_pipeline", world.start)
    monkeypatch.setattr(progress, "_LIST_EVERY", 0.0)
    coro = follow(
        world.client(),
        None,
        docs,
        "",
        display=_Quiet(),
        refresh_seconds=(0.0, 0.0),
        window=window,  # type: ignore[arg-type]
    )
    return asyncio.run(coro)


def test_many_documents_bounded_in_flight_and_starts(monkeypatch: pytest.MonkeyPatch):
    world = _World()
    docs = _docs(600)
    calls = _run(world, docs, monkeypatch, window=50)
    assert {d.outcome for d in docs} == {"stored"}
    assert all(d.row is not None and d.row.sha256 == d.sha256 for d in docs)
    assert world.max_in_flight <= 50
    assert world.max_starting <= CONCURRENT_STARTS
    assert world.starts == 600 and world.others == 0
    # One start per document plus one list per refresh: no call per document per refresh.
    assert calls == world.starts + world.lists


def test_closed_without_a_row_is_reported_so_never_as_stored(monkeypatch: pytest.MonkeyPatch):
    docs = _docs(6)
    rowless, failing = {docs[0].workflow_id}, {docs[1].workflow_id}
    world = _World(rowless=rowless, failing=failing)
    _run(world, docs, monkeypatch, window=256)
    by_id = {d.workflow_id: d for d in docs}
    lost = by_id[docs[0].workflow_id]
    assert lost.outcome == "error" and lost.reason is not None and "no row" in lost.reason
    failed = by_id[docs[1].workflow_id]
    assert failed.outcome == "error" and failed.reason is not None and "storage gave up" in failed.reason
    assert {d.outcome for d in docs[2:]} == {"stored"}
