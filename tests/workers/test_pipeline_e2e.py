"""The whole pipeline on real services: five worker processes (one per role) on the samples,
submitted with `docpipe submit --wait --json`, then submitted again (duplicates: still one row each),
plus a broken document that ends as a recorded failure."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from worker_procs import ROOT, pipeline_env, running_workers

from workers.storage.status import read_status

pytestmark = pytest.mark.services

SAMPLES = ["invoice.pdf", "contract.docx", "report.md", "page.html", "memo.txt"]


async def _runs(address: str, query: str, expected: int = 2) -> list[tuple[str, dict]]:
    """(status, memo) of the runs `query` finds, once visibility lists `expected` closed ones (≤ 60 s)."""
    from temporalio.client import Client

    client = await Client.connect(address)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:
        out = []
        async for wf in client.list_workflows(f"{query} AND ExecutionStatus != 'Running'"):
            out.append((wf.status.name if wf.status else "?", await wf.memo()))
        if len(out) >= expected or loop.time() > deadline:
            return out
        await asyncio.sleep(0.2)


def _submit(env: dict[str, str], paths: list[Path], expect: int = 0) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "docpipe.cli", "submit", *map(str, paths), "--wait", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == expect, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_samples_end_to_end(temporal_server, database_url, valkey, samples_dir: Path, work_dir: Path):
    # A low payload threshold sends the larger element lists through external storage.
    env = pipeline_env(
        temporal_server.address,
        database_url,
        work_dir,
        DOCPIPE_VALKEY_URL=valkey.url,
        DOCPIPE_PAYLOAD_THRESHOLD_BYTES="2048",
        DOCPIPE_SEARCH_ATTRIBUTES="true",  # the dev server registers them (docpipe.local.services)
    )
    paths = [samples_dir / name for name in SAMPLES]
    broken = work_dir / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a PDF")
    with running_workers(env):
        first = _submit(env, paths)
        again = _submit(env, paths)
        bad = subprocess.run(
            [sys.executable, "-m", "docpipe.cli", "submit", str(broken), "--wait"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        # The failure names the command that retries it; a plain resubmission starts nothing.
        retry_line = next(line.strip() for line in bad.stdout.splitlines() if "retry:" in line)
        plain = _submit(env, [broken], expect=1)
        retried = subprocess.run(
            [sys.executable, "-m", "docpipe.cli", *retry_line.removeprefix("retry: docpipe ").split(),
             "--wait", "--json"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        runs = asyncio.run(_runs(temporal_server.address, 'DocpipeName = "broken.pdf"'))

    assert [s["started"] for s in first] == [True] * 5
    assert [s["started"] for s in again] == [False] * 5, "a duplicate submission starts nothing"
    results = {s["filename"]: s["result"] for s in first}
    assert {r["status"] for r in results.values()} == {"stored"}, results
    assert [s["result"] for s in again] == [s["result"] for s in first]
    assert results["invoice.pdf"]["documentType"] == "invoice"
    assert results["contract.docx"]["documentType"] == "contract"
    assert results["memo.txt"]["documentType"] == "memo"
    # The report's table went through the enrichment sandbox: its columns were totalled.
    report = results["report.md"]
    assert report["needsEnrichment"]
    assert report["enrichmentOutput"]["column_totals"]["Q3 sales"] == 46800 + 33100 + 24050
    # The invoice (text, no table) was cross-checked: items = subtotal, subtotal + VAT = amount due.
    invoice = results["invoice.pdf"]["enrichmentOutput"]
    assert invoice["line_items_total"] == 95.0
    assert invoice["items_match_subtotal"] and invoice["total_matches_due"]
    assert not results["memo.txt"]["needsEnrichment"]
    assert [t["stage"] for t in report["timings"]] == ["extraction", "analysis", "enrichment", "storage"]

    # A bad document ends as a recorded failure with a reason a person can act on.
    assert bad.returncode == 1
    assert "failed at extraction: broken.pdf: not a readable PDF" in bad.stdout
    assert all(len(line) <= 80 for line in bad.stdout.splitlines()), bad.stdout
    assert [(s["started"], s["existing"], s["result"]["status"]) for s in plain] == [
        (False, "FAILED", "failed")
    ]
    [again_bad] = json.loads(retried.stdout)
    assert retried.returncode == 1 and again_bad["started"], retried.stderr
    # Both runs are found by name in Temporal, each ended Failed, and carry the name in their memo.
    assert [(status, memo["name"]) for status, memo in runs] == [("FAILED", "broken.pdf")] * 2
    status = read_status(database_url)
    assert status.counts == {"stored": 5, "failed": 1}
    assert status.failures[0].failed_stage == "extraction"
    assert "not a readable PDF" in (status.failures[0].reason or "")
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT filename, writes, extraction->>'elements' FROM documents WHERE status = 'stored'"
        ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(SAMPLES)
    assert all(r[1] == 1 and int(r[2]) > 0 for r in rows)
    assert any((work_dir / "payloads").iterdir()), "no payload went through external storage"
