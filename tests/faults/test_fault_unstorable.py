"""Nothing un-storable (issue 16, item 4): every document ends in one row on the first store attempt.

The storage activity on real PostgreSQL, given what used to fail all 20 store retries and leave no
row: NUL bytes, lone surrogates, a file name that is not UTF-8, a NaN from a model, a value past
PostgreSQL's limits. Counted by SQL: one row per document, `writes = 1`, the cleaning noted, the
name's exact bytes kept. (The whole pipeline meets the NUL text and the non-UTF-8 name among the
bad documents of test_fault_bad_inputs.py.)
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

import psycopg
import pytest
from fault_stack import record

from workers.storage.activities import StorageActivities
from workers.types import AnalyzeResult, DocumentRef, EnrichResult, StageTiming, StoreInput

pytestmark = pytest.mark.services

RAW_NAME = b"caf\xe9-\xff.txt"  # latin-1, as an old filesystem or a ZIP would hold it
NAME = os.fsdecode(RAW_NAME)  # what Python's os.listdir / Path.name give: 'caf\udce9-\udcff.txt'


def _ref(n: int, filename: str = "a.txt", uri: str | None = None) -> DocumentRef:
    return DocumentRef(uri or f"/docs/{filename}", f"{n:064x}", filename, "text/plain", 10)


def _input(ref: DocumentRef, analysis: AnalyzeResult | None = None, **kw: object) -> StoreInput:
    return StoreInput(
        ref,
        "stored",
        analysis=analysis,
        timings=[StageTiming("extraction", 3)],
        workflow_id=f"doc-{ref.sha256}",
        run_id="run-1",
        **kw,  # type: ignore[arg-type]
    )


def _analysis(summary: str, entities: list[str] | None = None) -> AnalyzeResult:
    return AnalyzeResult("memo", summary, entities or [], False, "heuristic")


CASES: list[tuple[str, StoreInput, str]] = [
    ("NUL byte in summary and entities", _input(_ref(1), _analysis("a\x00b", ["x\x00"])), "stored"),
    ("lone surrogate from a model", _input(_ref(2), _analysis("half \ud800 pair")), "stored"),
    ("non-UTF-8 file name", _input(_ref(3, NAME, f"/docs/{NAME}"), _analysis("ok")), "stored"),
    ("NUL in extraction summary keys", _input(_ref(4), extraction={"types": {"T\x00": 1}}), "stored"),
    (
        "NaN in enrichment output",
        _input(_ref(5), _analysis("ok"), enrichment=EnrichResult("local-sandbox", {"total": float("nan")})),
        "failed",
    ),
    (
        "size beyond bigint",
        _input(DocumentRef("/docs/b.txt", f"{6:064x}", "b.txt", "text/plain", 2**70)),
        "failed",
    ),
]


async def _const(value: str) -> str:
    return value


def _conninfo(url: str) -> Callable[[], Awaitable[str]]:
    return lambda: _const(url)


async def test_every_document_ends_in_one_row_on_the_first_attempt(database_url: str) -> None:
    storage = StorageActivities(_conninfo(database_url))
    results = {case: await storage.store_document(inp) for case, inp, _ in CASES}
    retried = {case: await storage.store_document(inp) for case, inp, _ in CASES}  # a retried store
    await storage.close()
    with psycopg.connect(database_url) as conn:
        rows = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT sha256, status, failed_stage, reason, writes, cleaned, filename, filename_bytes,"
                " uri_bytes FROM documents"
            ).fetchall()
        }
    for case, inp, want in CASES:
        status, stage, reason, writes = rows[inp.document.sha256][:4]
        record("unstorable", case, rows=1, status=status, writes=writes)
        assert (status, writes) == (want, 1), (case, reason)
        assert results[case].status == want and not retried[case].changed, case
        if want == "failed":
            assert stage == "storage" and "storage could not store the result" in reason, (case, reason)
            assert results[case].reason == reason
    assert len(rows) == len(CASES)

    nul = rows[CASES[0][1].document.sha256]
    assert nul[4]["nulBytes"] == 2 and set(nul[4]["fields"]) == {
        "analysis.summary",
        "analysis.key_entities[0]",
    }
    surrogate = rows[CASES[1][1].document.sha256]
    assert surrogate[4]["invalidSurrogates"] == 1
    named = rows[CASES[2][1].document.sha256]
    assert named[5] == "caf\ufffd-\ufffd.txt"  # readable text...
    assert bytes(named[6]) == RAW_NAME and bytes(named[7]) == b"/docs/" + RAW_NAME  # ...and the exact bytes
    assert os.fsdecode(bytes(named[6])) == NAME  # lossless: the name the filesystem gave back
    assert rows[CASES[3][1].document.sha256][4]["fields"] == {
        "extraction.types": {"nulBytes": 1, "invalidSurrogates": 0}
    }
