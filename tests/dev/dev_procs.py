"""`docpipe dev` as a child process for tests: its own data dir, output collected, no orphans."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from docpipe.local.home import HOME_ENV, Home
from docpipe.local.state import pid_alive, processes_of

ROOT = Path(__file__).resolve().parents[2]


def dev_env(home: Path) -> dict[str, str]:
    """This environment without docpipe/Temporal settings or hosted-backend keys, plus the data dir."""
    drop = ("DOCPIPE_", "TEMPORAL_", "E2B_", "UNSTRUCTURED_", "ANTHROPIC_", "OPENAI_", "AWS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env[HOME_ENV] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    # Tables fit the terminal (80 columns without one) by wrapping cells; these tests read one line
    # per document (its outcome whole), so they ask for a width no line reaches.
    env["COLUMNS"] = "4000"
    return env


class DevProcess:
    """`python -m docpipe.cli ARGS` in its own session (as a shell runs a foreground job)."""

    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.home = Home(home)
        self.out: list[str] = []
        self.err: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "docpipe.cli", *args],
            cwd=ROOT,
            env={**dev_env(home), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    @staticmethod
    def _pump(stream: Any, sink: list[str]) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))

    @property
    def stdout(self) -> str:
        return "\n".join(self.out)

    @property
    def stderr(self) -> str:
        return "\n".join(self.err)

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.out + self.err):
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the pumps drain
                if any(text in line for line in self.out + self.err):
                    return
                raise AssertionError(f"exited ({self.proc.returncode}) before {text!r}:\n{self.transcript()}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"no {text!r} after {timeout} s:\n{self.transcript()}")
            time.sleep(0.05)

    def wait(self, timeout: float = 180) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"docpipe did not finish in {timeout} s:\n{self.transcript()}") from None
        time.sleep(0.1)
        return code

    def interrupt(self) -> None:
        """Ctrl-C at a terminal: SIGINT to the foreground process group."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def kill(self) -> None:
        """Last resort for a hung test: everything that carries this data dir goes."""
        for pid in [self.proc.pid, *processes_of(self.home)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.stdout)
        return data

    def transcript(self) -> str:
        return f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def run_dev(home: Path, *args: str, timeout: float = 180, env: dict[str, str] | None = None) -> DevProcess:
    p = DevProcess(home, "dev", *args, env=env)
    p.wait(timeout)
    return p


def wait_gone(pids: list[int], timeout: float = 15) -> list[int]:
    """The pids still alive after `timeout` seconds (an empty list is the goal)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in pids if pid_alive(p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def describe(pids: list[int]) -> str:
    out = []
    for pid in pids:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            cmd = "?"
        out.append(f"{pid}: {cmd[:120]}")
    return "\n".join(out)
