"""`docpipe dev` end to end as a user runs it: a subprocess on the samples, with its own data dir."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from dev_procs import ROOT, DevProcess, describe, dev_env, run_dev, wait_gone

from docpipe.local.home import Home
from docpipe.local.services import Postgres, TemporalDevServer
from docpipe.local.state import processes_of

pytestmark = pytest.mark.services

SAMPLES = {"contract.docx", "invoice.pdf", "memo.txt", "page.html", "report.md"}


def _rows(home: Home) -> dict[str, tuple[str, int, object]]:
    """filename → (status, writes, updated_at), read from the run's PostgreSQL data dir."""
    with Postgres(home.postgres_dir) as pg, psycopg.connect(pg.url) as conn:
        rows = conn.execute("SELECT filename, status, writes, updated_at FROM documents").fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


async def _workflow_statuses(home: Home) -> dict[str, str]:
    from temporalio.client import Client

    with TemporalDevServer(home.temporal_dir) as server:  # the run's database file, reopened
        client = await Client.connect(server.address)
        return {
            wf.id: wf.status.name if wf.status else "?"
            async for wf in client.list_workflows("WorkflowType = 'DocumentPipelineWorkflow'")
        }


def _assert_nothing_left(home: Home, before: list[int] | None = None) -> None:
    left = wait_gone([*(before or []), *processes_of(home)])
    assert not left, "processes left behind:\n" + describe(left)
    assert not home.state_file.exists()


def test_samples_end_to_end_then_rerun_skips(dev_home: Path):
    home = Home(dev_home)
    first = run_dev(home.root, "--json")
    assert first.proc.returncode == 0, first.transcript()
    result = first.json()
    docs = {d["filename"]: d for d in result["documents"]}
    assert set(docs) == SAMPLES
    assert {d["outcome"] for d in docs.values()} == {"stored"}, first.transcript()
    assert docs["memo.txt"]["documentType"] == "memo" and docs["memo.txt"]["enriched"] is False
    assert docs["report.md"]["enriched"] is True
    assert list(docs["report.md"]["timingsMs"]) == ["extraction", "analysis", "enrichment", "storage"]
    assert all(d["row"] == d["sha256"][:12] for d in docs.values())
    assert set(result["workers"]) == {"workflow", "extraction", "analysis", "enrichment", "storage"}
    assert result["temporalUi"].startswith("http://127.0.0.1:")
    _assert_nothing_left(home)

    rows = _rows(home)
    assert {name: status for name, (status, _, _) in rows.items()} == dict.fromkeys(SAMPLES, "stored")
    assert all(writes == 1 for _, writes, _ in rows.values())
    statuses = asyncio.run(_workflow_statuses(home))
    assert statuses == {d["workflowId"]: "COMPLETED" for d in docs.values()}

    # A second run finds every document stored: nothing is submitted, nothing written.
    second = run_dev(home.root)
    assert second.proc.returncode == 0, second.transcript()
    assert second.stdout.count("skipped: already stored") >= len(SAMPLES), second.transcript()
    assert "0 stored now, 5 skipped" in second.stdout
    assert "nothing started" in second.stdout  # PostgreSQL alone answers a warm run
    assert _rows(home) == rows
    _assert_nothing_left(home)

    status = subprocess.run(
        [sys.executable, "-m", "docpipe.cli", "status", "--json"],
        cwd=ROOT,
        env=dev_env(home.root),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(status.stdout)
    assert report["counts"] == {"stored": 5} and report["failures"] == []
    _assert_nothing_left(home)


def test_ctrl_c_stops_everything_and_the_next_run_resumes(dev_home: Path):
    home = Home(dev_home)
    dev = DevProcess(home.root, "dev")
    dev.wait_for("submitting 5 documents")
    children = processes_of(home)
    # Temporal, PostgreSQL (with its helpers), Valkey and five workers were running.
    assert len(children) >= 8, describe(children)
    dev.interrupt()
    assert dev.wait(60) == 130, dev.transcript()
    assert "interrupted" in dev.stdout
    _assert_nothing_left(home, children)

    again = run_dev(home.root, "--json")
    assert again.proc.returncode == 0, again.transcript()
    outcomes = {d["filename"]: d["outcome"] for d in again.json()["documents"]}
    assert set(outcomes) == SAMPLES and set(outcomes.values()) <= {"stored", "skipped"}
    rows = _rows(home)
    assert {name: status for name, (status, _, _) in rows.items()} == dict.fromkeys(SAMPLES, "stored")
    assert all(writes == 1 for _, writes, _ in rows.values())  # interrupted runs stored nothing twice
    _assert_nothing_left(home)


def test_sigterm_during_start_up_leaves_nothing(dev_home: Path):
    home = Home(dev_home)
    dev = DevProcess(home.root, "dev")
    dev.wait_for("starting 5 workers")
    children = processes_of(home)
    dev.proc.send_signal(signal.SIGTERM)  # as a process manager stops it: the pid only
    assert dev.wait(60) == 130, dev.transcript()
    _assert_nothing_left(home, children)


@pytest.mark.parametrize("flag", ["--temporal-port", "--valkey-port"])
def test_busy_port_is_reported_with_what_to_do(dev_home: Path, flag: str):
    home = Home(dev_home)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        dev = run_dev(home.root, flag, str(port), timeout=120)
    assert dev.proc.returncode == 2, dev.transcript()
    assert f"port {port} is already in use" in dev.stderr
    assert f"docpipe dev {flag} <PORT>" in dev.stderr and "Leave" in dev.stderr
    assert "Traceback" not in dev.stderr
    _assert_nothing_left(home)
