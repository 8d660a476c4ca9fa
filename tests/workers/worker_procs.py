"""Worker processes for tests: `docpipe worker ROLE` as a child, ready line awaited, stopped on exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from workers.contract import ROLES

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, role: str, env: dict[str, str], extra_args: tuple[str, ...] = ()) -> None:
        self.role = role
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "docpipe.cli", "worker", role, *extra_args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip())
            if f"docpipe worker {self.role} ready" in line:
                self._ready.set()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"worker {self.role} not ready:\n" + "\n".join(self.lines[-30:]))

    def output(self) -> str:
        return "\n".join(self.lines)

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def pipeline_env(temporal_address: str, database_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    """Environment of an isolated pipeline: own queue prefix, stack (deployments), payload dir."""
    tag = uuid.uuid4().hex[:8]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DOCPIPE_", "TEMPORAL_", "E2B_", "UNSTRUCTURED_"))
    }
    env.update(
        {
            "TEMPORAL_ADDRESS": temporal_address,
            "TEMPORAL_NAMESPACE": "default",
            "DOCPIPE_QUEUE_PREFIX": f"t{tag}",
            "DOCPIPE_STACK": f"t{tag}",
            "DOCPIPE_BUILD_ID": "test-1",
            "DOCPIPE_DATABASE_URL": database_url,
            "DOCPIPE_PAYLOAD_DIR": str(tmp / "payloads"),
            "DOCPIPE_SHUTDOWN_GRACE_SECONDS": "10",
        }
    )
    env.update(extra)
    return env


@contextmanager
def running_workers(
    env: dict[str, str], roles: tuple[str, ...] = ROLES
) -> Iterator[dict[str, WorkerProcess]]:
    procs = {role: WorkerProcess(role, env) for role in roles}
    try:
        for p in procs.values():
            p.wait_ready()
        yield procs
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            p.stop()
