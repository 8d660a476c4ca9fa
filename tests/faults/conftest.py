"""Fixtures of the fault suites: the local model server, one LocalStack per module, the counts table.

Each module starts its own stack once (services + five supervised worker processes) and checks at
the end that every process it started is gone. The counts each test records are printed as one
table at the end of the run (`pytest tests/faults`), which is what the issue asks to report.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fault_model_server import ModelState, ollama_server
from fault_stack import (
    COUNTS,
    FaultStack,
    descendants,
    fault_overrides,
    private_dir,
    running_stack,
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
def fault_stack() -> Iterator[FaultStack]:
    """A LocalStack on the dev plan with the real strands backend talking to a local model server."""
    before = set(descendants())
    state = ModelState()
    with ollama_server(state) as url, private_dir("docpipe-faults-") as root:
        events: list[str] = []
        with running_stack(root, fault_overrides(url), events) as stack:
            fs = FaultStack(stack, state, root, events)
            yield fs
            home = stack.home
        left = wait_no_descendants(before)
        strays = processes_of(home)
    assert not left, "processes left behind by the fault suite:\n" + "\n".join(left)
    assert not strays, f"processes still carrying this stack's data dir: {strays}"


@pytest.fixture(scope="module")
async def fault_client(fault_stack: FaultStack) -> AsyncIterator[Client]:
    yield await fault_stack.stack.client()
