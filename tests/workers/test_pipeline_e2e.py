"""The whole pipeline on real services: five worker processes (one per role) on the samples,
submitted with `docpipe submit --wait --json`, then submitted again (duplicates: still one row each),
plus a broken document that ends as a recorded failure."""

from __future__ import annotations

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


def _submit(env: dict[str, str], paths: list[Path]) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "docpipe.cli", "submit", *map(str, paths), "--wait", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_samples_end_to_end(temporal_server, database_url, valkey, samples_dir: Path, work_dir: Path):
    # A low payload threshold sends the larger element lists through external storage.
    env = pipeline_env(
        temporal_server.address,
        database_url,
        work_dir,
        DOCPIPE_VALKEY_URL=valkey.url,
        DOCPIPE_PAYLOAD_THRESHOLD_BYTES="2048",
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
