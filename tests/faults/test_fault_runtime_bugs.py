"""Minimal tests for runtime bugs the fault suites ran into.

A bug still open is a strict xfail whose reason names the file, the cause and the fix: when the
runtime is fixed the test passes, strict xfail turns that into a failure, and the marker comes off.
Bugs already fixed keep their test as a plain regression test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time

import psycopg
import pytest
from fault_model_server import ModelState, ollama_server
from temporalio.exceptions import ApplicationError

from docpipe.local.services import Valkey
from workers.analysis.activities import AnalysisActivities
from workers.analysis.strands_agent import StrandsAnalyser
from workers.cache import Cache
from workers.settings import Settings
from workers.storage.activities import StorageActivities
from workers.types import AnalyzeInput, DocumentRef, StoreInput

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _store_input(i: int) -> StoreInput:
    sha = f"{i:064x}"
    ref = DocumentRef(f"/docs/{i}.txt", sha, f"{i}.txt", "text/plain", 10)
    return StoreInput(document=ref, status="stored", workflow_id=f"doc-{sha}", run_id=f"run-{i}")


async def test_concurrent_stores_on_one_storage_worker_all_commit(database_url):
    """Found by the fault suites (stores nested as savepoints, a stored document without a row);
    fixed in 96d2b68 (a lock). Kept: every fault below relies on it."""

    async def conninfo() -> str:
        return database_url

    storage = StorageActivities(conninfo)
    try:
        results = await asyncio.wait_for(
            asyncio.gather(
                *(storage.store_document(_store_input(i)) for i in range(20)), return_exceptions=True
            ),
            60,
        )
    finally:
        await storage.close()
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    with psycopg.connect(database_url) as conn:
        stored = {r[0] for r in conn.execute("SELECT sha256 FROM documents").fetchall()}
    succeeded = {r.sha256 for r in results if not isinstance(r, BaseException)}
    assert not succeeded - stored, f"stores reported success without a row: {len(succeeded - stored)}"
    assert not errors, f"{len(errors)} of 20 concurrent stores failed, e.g. {errors[:3]}"


HOLDER = """
import asyncio, sys
from workers.cache import Cache

async def main():
    cache = Cache(sys.argv[1], prefix="bugtest")
    async with cache.slot("model-calls", 1):
        print("held", flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_a_slot_held_by_a_killed_worker_is_released_soon(valkey: Valkey):
    """Found by the analysis-worker SIGKILL fault: slots were leased for 15 minutes and never renewed,
    and activities waited for one without heartbeating, so 48 of 50 good documents ended failed with
    "activity Heartbeat timeout". Fixed in e581dcf (30 s lease renewed while held; heartbeat first)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, valkey.url], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    cache = Cache(valkey.url, prefix="bugtest")
    started = time.monotonic()
    try:
        # A generous bound: a renewed lease of tens of seconds would free it well within this.
        async with asyncio.timeout(40):
            async with cache.slot("model-calls", 1):
                pass
    except TimeoutError:
        pytest.fail(f"the dead worker's slot was still held after {time.monotonic() - started:.0f} s")
    finally:
        await cache.close()


async def test_invalid_model_output_is_recorded_as_a_one_line_validation_reason():
    """Found by the malformed-output document: Strands wraps the ValidationError, so the reason said
    "model gave no structured output" plus pydantic's multi-line dump. Fixed in e581dcf."""
    state = ModelState()
    with ollama_server(state) as url:
        settings = Settings(analysis_backend="strands", model_provider="ollama", ollama_host=url)
        analysis = AnalysisActivities(StrandsAnalyser(settings), "strands", Cache(None))
        ref = DocumentRef("/docs/m.txt", "cd" * 32, "m.txt", "text/plain", 10)
        elements = [
            {"type": "NarrativeText", "text": "DOCPIPE-FAULT:malformed", "metadata": {"page_number": 1}}
        ]
        with pytest.raises(ApplicationError) as caught:
            await analysis.analyze_document(AnalyzeInput(ref, elements))
    reason = caught.value.message
    assert reason.startswith("model output failed validation: "), reason
    assert "\n" not in reason and "https://" not in reason, reason
    assert "document_type" in reason


SANDBOXED_SLEEPER = """
import asyncio, sys
from workers.enrichment.local_sandbox import LocalSandbox, SandboxLimits

async def main():
    sandbox = LocalSandbox(SandboxLimits(cpu_seconds=5, memory_mb=256, wall_seconds=120))
    print("running", flush=True)
    await sandbox.run("import time\\ntime.sleep(120)\\nresult = 1", [])

asyncio.run(main())
"""


def test_a_sandbox_does_not_outlive_its_killed_worker():
    """A process running the local sandbox (as the enrichment worker does) is SIGKILLed as a group,
    the way LocalStack.kill_worker and the platforms do it; its sandboxed child must go with it.

    Found by the enrichment-worker SIGKILL fault: the sandbox has its own process group and its
    wall-clock limit lived in the worker, so sleeping model code outlived it. Fixed in 547d8f7."""
    from fault_stack import cmdline, descendants

    worker = subprocess.Popen(
        [sys.executable, "-c", SANDBOXED_SLEEPER],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    sandbox: list[int] = []
    workdirs: list[str] = []  # the dead worker cannot remove its sandbox's temporary directory
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "running"
        deadline = time.monotonic() + 30
        while not sandbox and time.monotonic() < deadline:
            sandbox = [p for p in descendants(worker.pid) if "RESULT" in cmdline(p) or "-I -S" in cmdline(p)]
            time.sleep(0.05)
        assert sandbox, "the sandbox child never started"
        for pid in sandbox:
            with contextlib.suppress(OSError):
                workdirs.append(os.readlink(f"/proc/{pid}/cwd"))
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in sandbox):
            time.sleep(0.1)
        survivors = [p for p in sandbox if _alive(p)]
        assert not survivors, f"sandbox processes outlived their worker: {[cmdline(p) for p in survivors]}"
    finally:
        for pid in sandbox:  # never leave the orphan behind, whatever the outcome
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        for workdir in workdirs:
            if "docpipe-sandbox-" in workdir:
                shutil.rmtree(workdir, ignore_errors=True)
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def _alive(pid: int) -> bool:
    from docpipe.local.state import pid_alive

    return pid_alive(pid)
