"""Fixtures of the fault suites: the local model server, one LocalStack per module, the counts table.

Each module starts its own stack once (services + five supervised worker processes) and checks at
the end that every process it started is gone. The counts each test records are printed as one
table at the end of the run (`pytest tests/faults`), which is what the issue asks to report.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_documents import good_documents
from fault_model_server import ModelState, ollama_server
from fault_stack import (
    COUNTS,
    FaultStack,
    descendants,
    fault_overrides,
    private_dir,
    running_stack,
    submit,
    wait_batch,
    wait_no_descendants,
)
from temporalio.client import Client

from docpipe.local.state import processes_of


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not COUNTS:
        return
    tr = terminalreporter
    tr.section("fault suites: outcomes per fault / per bad-document kind")
    for (suite, case), counts in COUNTS.items():
        text = ", ".join(f"{k} {v}" for k, v in counts.items())
        tr.write_line(f"{suite:<12} {case:<40} {text}")


@pytest.fixture(scope="module")
def fault_stack(request: pytest.FixtureRequest) -> Iterator[FaultStack]:
    """A LocalStack on the dev plan with the real strands backend talking to a local model server."""
    module_name = request.module.__name__
    before = set(descendants())
    dirs_before = set(Path(tempfile.gettempdir()).glob("docpipe-sandbox-*"))
    state = ModelState()
    with ollama_server(state) as url, private_dir("docpipe-faults-") as root:
        events: list[str] = []
        with running_stack(root, fault_overrides(url), events) as stack:
            fs = FaultStack(stack, state, root, events)
            try:
                yield fs
            finally:
                keep = os.environ.get("DOCPIPE_FAULT_LOGS")  # where to keep the worker logs, if anywhere
                if keep:
                    shutil.copytree(stack.home.log_dir, Path(keep) / root.name, dirs_exist_ok=True)
            home = stack.home
        left = wait_no_descendants(before)
        strays = processes_of(home)
    leftover = sandbox_dirs_left(dirs_before)
    for d in leftover:  # never leave them behind, whatever the outcome
        shutil.rmtree(d, ignore_errors=True)
    # A killed enrichment worker cannot remove its sandbox's directory; its replacement sweeps it.
    assert not leftover, f"sandbox directories left behind ({module_name}): {leftover}"
    assert not left, "processes left behind by the fault suite:\n" + "\n".join(left)
    assert not strays, f"processes still carrying this stack's data dir: {strays}"


def sandbox_dirs_left(before: set[Path]) -> list[Path]:
    """Sandbox working directories created since `before` that no live process works in."""
    in_use = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                in_use.add(os.readlink(f"/proc/{entry}/cwd"))
    new = set(Path(tempfile.gettempdir()).glob("docpipe-sandbox-*")) - before
    return sorted(d for d in new if str(d) not in in_use)


@pytest.fixture(scope="module")
async def fault_client(fault_stack: FaultStack) -> AsyncIterator[Client]:
    """A client with the workers' data converter, after a warm-up batch went through every stage
    (so the schema exists and each worker has served once before any fault)."""
    client = await fault_stack.stack.client()
    docs = good_documents(fault_stack.root / "warm-up", "warm-up", 3, enrich_every=1)
    batch = await wait_batch(client, await submit(fault_stack.stack, client, docs), 120, "warm-up")
    assert {r.status for r in batch.results.values()} == {"stored"}, batch.results
    yield client
