"""LocalStack in-process: the handles the fault suites use (kill a worker, restart a service)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from dev_procs import describe, wait_gone

from docpipe.local.home import HOME_ENV, Home
from docpipe.local.progress import DocProgress, follow
from docpipe.local.rows import read_rows
from docpipe.local.stack import LocalStack
from docpipe.local.state import processes_of
from docpipe.plan import build_plan
from docpipe.stackfile import load_stack
from workers.documents import describe_file

pytestmark = pytest.mark.services


class _Quiet:
    def changed(self, doc: DocProgress) -> None: ...
    def tick(self) -> None: ...
    def note(self, message: str) -> None: ...


async def _run(stack: LocalStack, paths: list[Path]) -> list[DocProgress]:
    docs = [DocProgress(p, describe_file(p)) for p in paths]
    client = await stack.client()
    # Bounded: a storage fault would otherwise be retried for many minutes before the run fails.
    try:
        await asyncio.wait_for(
            follow(client, stack.settings(), docs, stack.postgres.url, display=_Quiet()), 300
        )
    except TimeoutError:
        stages = ", ".join(f"{d.ref.filename}: {d.outcome}/{d.stage}" for d in docs)
        logs = "\n".join(f"--- {n}\n{stack.supervisor[n].tail(8)}" for n in stack.supervisor.names())
        raise AssertionError(f"documents not finished after 300 s ({stages})\n{logs}") from None
    return docs


async def test_killed_worker_is_replaced_and_services_restart_in_place(
    dev_home: Path, samples_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(HOME_ENV, str(dev_home))  # LocalStack marks this process's env too
    config, _ = load_stack("dev", placeholder_secrets=True)
    home = Home(dev_home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCPIPE_", "TEMPORAL_"))}
    stack = LocalStack(home, build_plan(config), env=env)
    children: list[int] = []
    try:
        stack.start()
        children = processes_of(home)
        old = stack.kill_worker("analysis", signal.SIGKILL)
        stack.wait_workers_ready(60)
        assert stack.worker_pid("analysis") not in {None, old}
        assert stack.supervisor["worker-analysis"].exit_codes == [-signal.SIGKILL]

        address = stack.temporal.address
        stack.restart_service("temporal")  # same port, same database file
        assert stack.temporal.address == address
        stack.restart_service("postgres")

        docs = await _run(stack, [samples_dir / "memo.txt", samples_dir / "report.md"])
        assert [d.outcome for d in docs] == ["stored", "stored"], [d.reason for d in docs]
        rows = read_rows(stack.postgres.url, [d.sha256 for d in docs])
        assert {r.status for r in rows.values()} == {"stored"} and len(rows) == 2

        flip = stack.add_worker("analysis", "worker-analysis-next", {"DOCPIPE_BUILD_ID": "next"})
        stack.stop_worker("analysis")  # the old placement drains; the new one serves the queue
        docs = await _run(stack, [samples_dir / "page.html"])
        assert docs[0].outcome == "stored", docs[0].reason
        assert stack.supervisor[flip].alive()
        children += processes_of(home)
    finally:
        stack.stop()
    left = wait_gone(children)
    assert not left, describe(left)
    assert not processes_of(home)
