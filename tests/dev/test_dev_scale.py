"""`docpipe dev` on a few hundred generated documents: every one gets its row and is reported truly.

The scale CI affords (bench/dev_scale.py runs 1,000 and 10,000): 300 tiny memos through the real
command, then PostgreSQL is read back — one row per document, every reported outcome equal to its
row's status — and the progress view's Temporal calls stay near one start per document.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from dev_procs import run_dev

from docpipe.local.home import Home
from docpipe.local.services import Postgres

pytestmark = [pytest.mark.services, pytest.mark.slow]

DOCUMENTS = 300


def test_300_documents_all_stored_and_reported_truly(dev_home: Path, tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(DOCUMENTS):
        (docs / f"memo-{i:04d}.txt").write_text(
            f"MEMO\n\nTo: All shops\nSubject: rota {i}\n\nRota for week {i}.\n"
        )
    home = Home(dev_home)
    dev = run_dev(home.root, str(docs), "--json", timeout=900)
    assert dev.proc.returncode == 0, dev.transcript()[-4000:]
    result = dev.json()
    outcomes = {d["sha256"]: d["outcome"] for d in result["documents"]}
    assert len(outcomes) == DOCUMENTS
    with Postgres(home.postgres_dir) as pg, psycopg.connect(pg.url) as conn:
        rows = dict(conn.execute("SELECT sha256, status FROM documents").fetchall())
    assert len(rows) == DOCUMENTS  # none lost
    assert outcomes == dict.fromkeys(rows, "stored")  # none misreported
    assert set(rows.values()) == {"stored"}
    # One start per document, plus about one visibility list a second: nothing per document.
    assert result["temporalCalls"] <= DOCUMENTS + 2 * result["pipelineSeconds"] + 10
    # Past 100 documents the plain view prints counts, not a line per stage of every document.
    assert dev.stderr.count("extraction") < 20, dev.stderr[-2000:]
