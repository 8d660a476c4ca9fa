"""What the bench/ scripts share: one fresh process measured, and a median with its spread.

`run_process` times a subprocess as a user's shell would see it and takes its CPU seconds and
peak RSS from wait4 (the kernel's accounting of that one child, not an estimate).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    cpu: float  # user + system seconds
    rss_mb: float  # peak resident set


def run_process(argv: list[str]) -> Run:
    """One fresh process from the repo root, bytecode caching allowed (as an installed CLI)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err.read().decode()}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def interleaved(commands: dict[str, list[str]], rounds: int) -> dict[str, list[Run]]:
    """Each command once to warm caches, then `rounds` rounds of all of them in turn."""
    for argv in commands.values():
        run_process(argv)
    runs: dict[str, list[Run]] = {label: [] for label in commands}
    for _ in range(rounds):
        for label, argv in commands.items():
            runs[label].append(run_process(argv))
    return runs


def spread(values: list[float], fmt: str = ".2f") -> str:
    """`median (min-max)`."""
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def load() -> str:
    """The 1-minute load average (2 cores shared: figures from a loaded machine are slower)."""
    return f"{os.getloadavg()[0]:.2f}"
