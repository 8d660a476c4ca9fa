"""The fault suites' view of a running local stack: submit, wait, catch a role mid-activity, read rows.

The stack itself is `docpipe.local.stack.LocalStack` (embedded Temporal, PostgreSQL, Valkey and one
supervised `docpipe worker ROLE` process per role) — the same object `docpipe dev` runs. Every wait
here is bounded and says what it was waiting for when it gives up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from temporalio.api.enums.v1 import PendingActivityState, PendingWorkflowTaskState
from temporalio.client import Client

from docpipe.local.home import HOME_ENV, Home
from docpipe.local.stack import LocalStack
from docpipe.plan import build_plan
from docpipe.stackfile import load_stack
from workers.contract import Env, workflow_id
from workers.documents import describe_file
from workers.submit import result_of, start_pipeline
from workers.types import DocumentRef, PipelineResult

ROOT = Path(__file__).resolve().parents[2]
ACTIVITY_OF_ROLE = {
    "extraction": "extract_document",
    "analysis": "analyze_document",
    "enrichment": "enrich_document",
    "storage": "store_document",
}


def fault_overrides(ollama_host: str) -> list[str]:
    """The dev stack with the real `strands` backend (provider ollama) pointed at the local model server."""
    return [
        "backends.analysis.kind=strands",
        "backends.analysis.provider=ollama",
        f"backends.analysis.ollamaHost={ollama_host}",
        "backends.analysis.modelId=fake-model",
        # The local sandbox by name (the dev stack's cloud enrichment is E2B).
        "backends.enrichment.kind=local-sandbox",
        "backends.enrichment.timeoutSeconds=60",
    ]


def stack_env() -> dict[str, str]:
    """This environment without hosted-service keys (the stack's own settings are the realizer's)."""
    drop = ("DOCPIPE_", "TEMPORAL_", "E2B_", "UNSTRUCTURED_", "ANTHROPIC_", "OPENAI_", "AWS_", "OLLAMA_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def private_dir(prefix: str) -> Iterator[Path]:
    # Not under pytest's tmp_path (see tests/conftest.py): PostgreSQL runs as its own user under root
    # and needs to traverse the directory.
    with tempfile.TemporaryDirectory(prefix=prefix) as d:
        os.chmod(d, 0o755)
        yield Path(d)


@contextmanager
def running_stack(root: Path, overrides: list[str], events: list[str]) -> Iterator[LocalStack]:
    """A started LocalStack in `root`; stopped afterwards, and the caller's environment restored."""
    config, _ = load_stack("dev", overrides=overrides, placeholder_secrets=True)
    saved = os.environ.get(HOME_ENV)
    stack = LocalStack(Home(root / "home"), build_plan(config), env=stack_env(), on_event=events.append)
    try:
        with stack:
            yield stack
    finally:
        # LocalStack puts DOCPIPE_HOME in this process's environment; later tests must not inherit it.
        if saved is None:
            os.environ.pop(HOME_ENV, None)
        else:
            os.environ[HOME_ENV] = saved


@dataclass
class FaultStack:
    stack: LocalStack
    model: Any  # fault_model_server.ModelState
    root: Path
    events: list[str] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return str(self.stack.postgres.url)


# (suite, case) → {"outcome": count, ...}; printed by pytest_terminal_summary.
COUNTS: dict[tuple[str, str], dict[str, Any]] = {}


def record(suite: str, case: str, **counts: Any) -> None:
    COUNTS[(suite, case)] = counts


# --- submitting and waiting ---------------------------------------------------------------------


@dataclass
class Batch:
    refs: list[DocumentRef]
    results: dict[str, PipelineResult] = field(default_factory=dict)  # sha256 → result
    errors: dict[str, str] = field(default_factory=dict)  # sha256 → workflow failure

    @property
    def shas(self) -> list[str]:
        return list(dict.fromkeys(r.sha256 for r in self.refs))

    @property
    def ids(self) -> list[str]:
        return [workflow_id(s) for s in self.shas]


async def submit(stack: LocalStack, client: Client, docs: Iterable[Path | DocumentRef]) -> Batch:
    settings = stack.settings()
    refs = [d if isinstance(d, DocumentRef) else describe_file(d) for d in docs]
    batch = Batch(refs)
    await asyncio.gather(*(start_pipeline(client, ref, settings) for ref in refs))
    return batch


async def wait_batch(client: Client, batch: Batch, timeout: float, what: str) -> Batch:
    """Every workflow's result, or an AssertionError naming the unfinished ones and where they are."""

    async def one(sha: str) -> None:
        handle = client.get_workflow_handle(workflow_id(sha), result_type=PipelineResult)
        try:
            batch.results[sha] = await result_of(handle)  # a failed document's run ends Failed
        except Exception as err:  # a failed run (not a failed document) is a finding: keep it
            batch.errors[sha] = f"{type(err).__name__}: {getattr(err, 'cause', None) or err}"

    tasks = [asyncio.create_task(one(s)) for s in batch.shas]
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    if pending:
        for t in pending:
            t.cancel()
        stuck = [s for s in batch.shas if s not in batch.results and s not in batch.errors]
        where = await describe_runs(client, stuck[:5])
        raise AssertionError(
            f"{what}: {len(stuck)} of {len(batch.shas)} documents unfinished after {timeout:g} s; "
            f"first of them:\n{where}"
        )
    return batch


async def describe_runs(client: Client, shas: list[str]) -> str:
    lines = []
    for sha in shas:
        try:
            desc = await client.get_workflow_handle(workflow_id(sha)).describe()
            pending = desc.raw_description.pending_activities
            acts = ", ".join(
                f"{a.activity_type.name} attempt {a.attempt} {PendingActivityState.Name(a.state)}"
                f" ({a.last_failure.message[:120] if a.HasField('last_failure') else 'no failure'})"
                for a in pending
            )
            lines.append(f"  {sha[:12]} {desc.status.name if desc.status else '?'}: {acts or 'no activity'}")
        except Exception as err:
            lines.append(f"  {sha[:12]}: {err}")
    return "\n".join(lines)


# --- catching a role mid-activity ---------------------------------------------------------------


async def wait_mid_activity(client: Client, batch: Batch, role: str, pid: int, timeout: float = 60.0) -> str:
    """Until `role`'s worker process `pid` is mid-work; returns what was caught.

    Activity roles: an activity of that role started on that very process (its identity is
    `pid@host`). The workflow role: a workflow task started on it if one is caught, else at least
    ten of the batch's workflows open mid-pipeline (their state cached on that process, their next
    workflow task due there) — workflow tasks take milliseconds, too short to aim a signal at.
    """
    deadline = time.monotonic() + timeout
    prefix = f"{pid}@"
    while time.monotonic() < deadline:
        mid_pipeline = 0
        for wid in batch.ids:
            try:
                desc = (await client.get_workflow_handle(wid).describe()).raw_description
            except Exception:
                continue
            if role == "workflow":
                task = desc.pending_workflow_task
                if task.state == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED:
                    return f"workflow task of {wid[:16]} started (attempt {task.attempt})"
                mid_pipeline += bool(desc.pending_activities)
                continue
            for act in desc.pending_activities:
                if (
                    act.activity_type.name == ACTIVITY_OF_ROLE[role]
                    and act.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                    and act.last_worker_identity.startswith(prefix)
                ):
                    return f"{act.activity_type.name} of {wid[:16]} running on {act.last_worker_identity}"
        if role == "workflow" and mid_pipeline >= 10:
            return f"{mid_pipeline} workflows open mid-pipeline on workflow worker {pid}"
        await asyncio.sleep(0.02)
    raise AssertionError(f"{role} worker pid {pid} was not seen mid-work within {timeout:g} s")


def wait_new_worker(stack: LocalStack, role: str, old_pid: int | None, timeout: float = 60.0) -> int:
    """Until the supervisor has a new, ready process for `role` (after a kill); returns its pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = stack.worker_pid(role)
        if pid is not None and pid != old_pid:
            stack.wait_workers_ready(max(1.0, deadline - time.monotonic()))
            return pid
        time.sleep(0.05)
    raise AssertionError(f"the supervisor did not start a new {role} worker within {timeout:g} s")


# --- rows, status, processes --------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    sha256: str
    filename: str
    status: str
    reason: str | None
    failed_stage: str | None
    writes: int


def rows(database_url: str, shas: Iterable[str] | None = None) -> dict[str, Row]:
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            "SELECT sha256, filename, status, reason, failed_stage, writes FROM documents"
        ).fetchall()
    wanted = None if shas is None else set(shas)
    return {r[0]: Row(*r) for r in found if wanted is None or r[0] in wanted}


def duplicate_rows(database_url: str) -> list[tuple[str, int]]:
    """sha256 values with more than one row (the primary key should make this impossible)."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT sha256, count(*) FROM documents GROUP BY sha256 HAVING count(*) > 1"
        ).fetchall()


def docpipe_status(database_url: str) -> dict[str, Any]:
    """`docpipe status --json` as a user runs it, against this stack's PostgreSQL."""
    data: dict[str, Any] = json.loads(docpipe_status_text(database_url, "--json"))
    return data


def docpipe_status_text(database_url: str, *args: str) -> str:
    """The output of `docpipe status ARGS` (DOCPIPE_DATABASE_URL pointing at this stack)."""
    env = stack_env()
    env[Env.DATABASE_URL] = database_url
    # Tables fit the terminal (80 columns without one) by wrapping long reasons inside their column;
    # the bad-input suite reads one line per failure, so it asks for a width no reason reaches.
    env["COLUMNS"] = "4000"
    proc = subprocess.run(
        [sys.executable, "-m", "docpipe.cli", "status", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"docpipe status failed ({proc.returncode}):\n{proc.stderr}"
    return proc.stdout


def descendants(pid: int | None = None) -> list[int]:
    """Live descendants of `pid` (default: this process), from /proc."""
    root = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        after = stat[stat.rfind(b")") + 2 :].split()
        if after and after[0] in (b"Z", b"X"):
            continue
        with contextlib.suppress(IndexError, ValueError):
            children.setdefault(int(after[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:160]
    except OSError:
        return "?"


def wait_no_descendants(before: set[int], timeout: float = 15.0) -> list[str]:
    """Descendants of this process that were not there before, still alive after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in descendants() if p not in before]
        if not left or time.monotonic() > deadline:
            return [f"{p}: {cmdline(p)}" for p in left]
        time.sleep(0.1)
