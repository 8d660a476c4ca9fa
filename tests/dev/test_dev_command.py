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
    # What enrichment checked: the invoice's items against its subtotal and amount due; the report's
    # sales columns were summed with no stated total to check against.
    assert docs["invoice.pdf"]["enrichmentStatus"] == "verified"
    assert docs["report.md"]["enrichmentStatus"] == "unchecked"
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
    assert second.stdout.count("already stored") >= len(SAMPLES), second.transcript()
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
    assert "5 documents: " in dev.stdout  # what had finished when Ctrl-C came
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


def test_client_commands_find_the_running_dev_by_themselves(dev_home: Path, tmp_path: Path):
    """`docpipe dev --keep-running` in one terminal; `submit`, `status` and `worker` in another, with
    no Temporal variable: they take the run's connection, queues and payload store from dev.json."""
    home = Home(dev_home)
    dev = DevProcess(home.root, "dev", "--keep-running")
    try:
        dev.wait_for("serving until Ctrl-C")
        memo = tmp_path / "note.txt"
        memo.write_text("MEMO\nTo: all staff\nFrom: facilities\nSubject: the lift is fixed\n")
        cli = [sys.executable, "-m", "docpipe.cli"]
        env = dev_env(home.root)  # no TEMPORAL_* / DOCPIPE_* but the data dir
        submit = subprocess.run(
            [*cli, "submit", str(memo), "--wait", "--json"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert submit.returncode == 0, submit.stderr
        [result] = json.loads(submit.stdout)
        assert result["started"] and result["result"]["status"] == "stored", result
        status = subprocess.run(
            [*cli, "status", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert json.loads(status.stdout)["counts"]["stored"] == 6  # the samples and the memo
        # A worker started by hand joins dev's workers on the same queue and deployment.
        worker = DevProcess(home.root, "worker", "extraction")
        worker.wait_for("is current")
        assert "using docpipe dev" in worker.stderr and "task queue docpipe-extraction" in worker.stderr
        worker.interrupt()
        assert worker.wait(60) == 0, worker.transcript()
    finally:
        dev.interrupt()
        dev.wait(60)
    _assert_nothing_left(home)


def test_a_client_with_nothing_to_reach_says_what_to_start(dev_home: Path, tmp_path: Path):
    doc = tmp_path / "a.txt"
    doc.write_text("hello")
    env = {**dev_env(dev_home), "TEMPORAL_ADDRESS": f"127.0.0.1:{_free_port()}"}
    out = subprocess.run(
        [sys.executable, "-m", "docpipe.cli", "submit", str(doc)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 1
    assert "no Temporal answers at 127.0.0.1" in out.stderr and "docpipe dev --keep-running" in out.stderr
    assert "tonic" not in out.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_failed_document_is_retried_by_the_flag_its_failure_names(dev_home: Path, tmp_path: Path):
    home = Home(dev_home)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a PDF")
    first = run_dev(home.root, str(broken))
    assert first.proc.returncode == 1, first.transcript()
    hint = next(line for line in first.stdout.splitlines() if "--retry-failed" in line)
    flag = hint.split("docpipe dev", 1)[1].split()
    assert flag == ["--retry-failed"], hint

    again = run_dev(home.root, str(broken))  # without the flag: skipped, and told how to retry
    assert "skipped: failed earlier" in again.stdout and "--retry-failed" in again.stdout, again.transcript()
    assert _rows(home)["broken.pdf"][1] == 1

    retried = run_dev(home.root, str(broken), *flag)
    assert retried.proc.returncode == 1 and "failed at extraction" in retried.stdout, retried.transcript()
    status, writes, _ = _rows(home)["broken.pdf"]
    assert (status, writes) == ("failed", 2)  # a new run, the same row
    statuses = asyncio.run(_workflow_statuses(home))
    assert list(statuses.values()) == ["FAILED"]  # the latest run of the one workflow id
    _assert_nothing_left(home)
