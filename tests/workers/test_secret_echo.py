"""An API that echoes the key, on real services: no copy of it in the row, `docpipe status`, the
worker logs or the Temporal history (issue 16, item 7; the fast checks are in tests/faults)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from fake_services import PartitionState, serve, unstructured_app
from temporalio.client import Client
from worker_procs import ROOT, pipeline_env, running_workers

pytestmark = pytest.mark.services

KEY = "sk-echo-7d41c9a2e6f0"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "docpipe.cli", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def test_a_422_echoing_the_key_leaves_no_copy(temporal_server, database_url, work_dir: Path):
    state = PartitionState(api_key=KEY, fail_status=422, echo_key=True)
    doc = work_dir / "echo.txt"
    doc.write_text("a document the API refuses\n")
    with serve(unstructured_app(state)) as url:
        env = pipeline_env(
            temporal_server.address,
            database_url,
            work_dir,
            DOCPIPE_EXTRACTION_BACKEND="unstructured-api",
            UNSTRUCTURED_API_URL=url,
            UNSTRUCTURED_API_KEY=KEY,
            DOCPIPE_ANALYSIS_BACKEND="heuristic",
        )
        with running_workers(env, ("workflow", "extraction", "storage")) as procs:
            submitted = _cli(env, "submit", str(doc), "--wait", "--json")
            logs = "\n".join(p.output() for p in procs.values())
    status = _cli(env, "status", "--json")
    assert state.calls, "the backend never called the API"
    [sub] = json.loads(submitted.stdout)
    with psycopg.connect(database_url) as conn:
        [(row_status, reason)] = conn.execute("SELECT status, reason FROM documents").fetchall()
    client = await Client.connect(temporal_server.address)
    history = (await client.get_workflow_handle(sub["workflowId"]).fetch_history()).to_json()

    assert row_status == "failed" and "(422)" in reason and "[redacted]" in reason, reason
    places = {"row": reason, "submit": submitted.stdout + submitted.stderr, "status": status.stdout,
              "worker logs": logs, "history": history}  # fmt: skip
    assert [name for name, text in places.items() if KEY in text] == []
