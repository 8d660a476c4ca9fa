"""Bad documents and a misbehaving model, submitted among good documents on the local stack.

Every bad kind goes through the real backends: the `local` extraction backend reads the files made
here; the `strands` analysis backend talks to the local model server, which answers per document
with malformed output or with an analysis whose enrichment code is hostile; the `local-sandbox`
enrichment backend runs that code. Each bad document must end as a clear recorded outcome (stored,
or failed at the right stage with a reason a person can act on), `docpipe status` must list every
failure with that reason, no worker may crash, and every good document must be stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fault_documents import BadDocument, bad_documents, good_documents, model_fault_documents, reference
from fault_stack import (
    Batch,
    FaultStack,
    Row,
    docpipe_status,
    docpipe_status_text,
    record,
    rows,
    submit,
    wait_batch,
)
from temporalio.client import Client

from docpipe.local.stack import worker_name
from workers.contract import ROLES, workflow_id

pytestmark = [pytest.mark.slow, pytest.mark.services]

GOOD = 10


@dataclass
class BadRun:
    bad: list[BadDocument]
    good: Batch
    batch: Batch
    rows: dict[str, Row]
    status: dict[str, Any]
    status_text: str
    pids_before: dict[str, int]
    pids_after: dict[str, int]
    restarts: dict[str, int]
    shas: dict[str, str]  # kind → sha256
    duplicate_runs: int  # workflow runs for the content submitted under two names


@pytest.fixture(scope="module")
async def bad_run(fault_stack: FaultStack, fault_client: Client) -> BadRun:
    tag = uuid.uuid4().hex[:8]
    root = fault_stack.root / "bad" / tag
    bad = bad_documents(root / "files", tag) + model_fault_documents(root / "model", tag)
    good_paths = good_documents(root / "good", tag, GOOD, enrich_every=2)
    pids_before = fault_stack.stack.supervisor.pids()
    refs = {doc.kind: reference(doc) for doc in bad}
    # Good and bad interleaved, as they would arrive.
    mixed: list[Any] = []
    for i, ref in enumerate(refs.values()):
        mixed.append(ref)
        if i < len(good_paths):
            mixed.append(good_paths[i])
    batch = await submit(fault_stack.stack, fault_client, mixed)
    await wait_batch(fault_client, batch, 300, "bad documents among good ones")
    good = Batch([r for r in batch.refs if r.filename.startswith("report-")])
    same = refs["same content, first name"].sha256
    duplicate_runs = len(
        [wf async for wf in fault_client.list_workflows(f"WorkflowId = '{workflow_id(same)}'")]
    )
    status = docpipe_status(fault_stack.database_url)
    status_text = docpipe_status_text(fault_stack.database_url)
    return BadRun(
        bad=bad,
        good=good,
        batch=batch,
        rows=rows(fault_stack.database_url, batch.shas),
        status=status,
        status_text=status_text,
        pids_before=pids_before,
        pids_after=fault_stack.stack.supervisor.pids(),
        restarts={r: len(fault_stack.stack.supervisor[worker_name(r)].restarts) for r in ROLES},
        shas={kind: ref.sha256 for kind, ref in refs.items()},
        duplicate_runs=duplicate_runs,
    )


KINDS = [
    "empty file",
    "truncated PDF",
    "random bytes named .pdf",
    "50 MB file",
    "encrypted PDF",
    "non-UTF-8 text",
    "single 10 MB line",
    "NUL byte in the text",
    "non-UTF-8 file name",
    "ZIP renamed .docx",
    "unicode, spaces and ../ in the path",
    "../ in the reference's filename",
    "same content, first name",
    "same content, second name",
    "analysis output fails validation",
    "analysis output is not JSON",
    "enrichment loops forever",
    "enrichment allocates without bound",
    "enrichment opens a socket",
    "enrichment prints gigabytes",
]


@pytest.mark.parametrize("kind", KINDS)
def test_each_bad_document_ends_as_a_clear_recorded_outcome(bad_run: BadRun, kind: str):
    doc = next(d for d in bad_run.bad if d.kind == kind)
    sha = bad_run.shas[kind]
    row = bad_run.rows.get(sha)
    assert row is not None, f"{kind}: no row in PostgreSQL (result {bad_run.batch.results.get(sha)})"
    assert row.writes == 1, f"{kind}: written {row.writes} times"
    result = bad_run.batch.results[sha]
    assert (row.status, result.status) == (doc.expect_status, doc.expect_status), (
        f"{kind}: expected {doc.expect_status}, row {row.status} at {row.failed_stage}: {row.reason}"
    )
    if doc.expect_status == "failed":
        assert row.failed_stage == doc.expect_stage, f"{kind}: failed at {row.failed_stage}: {row.reason}"
        reason = (row.reason or "").lower()
        missing = [p for p in doc.expect_reason if p.lower() not in reason]
        assert not missing, f"{kind}: reason {row.reason!r} does not say {missing}"
        listed = [f for f in bad_run.status["failures"] if f["sha256"] == sha]
        assert listed, f"{kind}: `docpipe status` does not list this failure"
        assert listed[0]["reason"] == row.reason and listed[0]["failedStage"] == doc.expect_stage
    if doc.filename:
        assert row.filename == doc.filename  # the name is kept as data, nothing is read from it
    record(
        "bad input",
        kind,
        outcome=row.status,
        stage=row.failed_stage or "-",
        reason=(row.reason or "-")[:90].replace("\n", " "),
    )


def test_the_same_content_under_two_names_is_one_run_and_one_row(bad_run: BadRun):
    first, second = bad_run.shas["same content, first name"], bad_run.shas["same content, second name"]
    assert first == second
    assert [r.sha256 for r in bad_run.batch.refs].count(first) == 2
    assert bad_run.duplicate_runs == 1, f"{bad_run.duplicate_runs} workflow runs for one content"
    # Both were submitted at once: whichever start won names the row; the other joined its run.
    names = {r.filename for r in bad_run.batch.refs if r.sha256 == first}
    assert bad_run.rows[first].filename in names


def test_good_documents_are_stored_and_no_worker_crashed(bad_run: BadRun):
    stored = [s for s in bad_run.good.shas if bad_run.rows.get(s) and bad_run.rows[s].status == "stored"]
    assert len(stored) == GOOD, {s[:12]: bad_run.rows.get(s) for s in bad_run.good.shas}
    assert bad_run.pids_after == bad_run.pids_before, "a worker process died and was replaced"
    assert bad_run.restarts == dict.fromkeys(ROLES, 0)
    record("bad input", "good documents alongside", stored=len(stored), of=GOOD)


def test_docpipe_status_counts_match_postgresql(bad_run: BadRun):
    counts = bad_run.status["counts"]
    failed = [r for r in bad_run.rows.values() if r.status == "failed"]
    assert counts.get("failed", 0) >= len(failed)
    listed = {f["sha256"] for f in bad_run.status["failures"]}
    assert {r.sha256 for r in failed} <= listed
    assert all(f["reason"] for f in bad_run.status["failures"])
    # The table a person reads: one line per failure, with its file, stage and reason.
    lines = bad_run.status_text.splitlines()
    for row in failed:
        assert any(row.sha256[:12] in ln and row.filename in ln and str(row.reason) in ln for ln in lines), (
            f"`docpipe status` has no line for {row.filename}: {row.reason}"
        )
