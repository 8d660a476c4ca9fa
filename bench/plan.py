"""Benchmark `docpipe plan`: seconds per stack file and for a --set diff (goal: <= 3 s a stack).

Each figure is the wall time of `docpipe plan` as a user runs it (a fresh process: Python start,
Pulumi and provider SDK imports, validation, the program under mocks, printing), best of a few
runs, plus the in-process time of one more program run once everything is imported (what the tests
and a long-lived caller pay). Bytecode caching is allowed (PYTHONDONTWRITEBYTECODE is dropped for
the subprocesses): without it every process recompiles the provider SDKs (~10-20 s).

    .venv/bin/python bench/plan.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REPEAT = 3
CASES: list[tuple[str, list[str]]] = [
    ("dev", []),
    ("prod", []),
    ("prod", ["--set", "activities.extraction.target=ec2"]),
]


def _cli_seconds(stack: str, extra: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    best = float("inf")
    for _ in range(REPEAT):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "docpipe.cli", "plan", "--stack", stack, *extra],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"docpipe plan --stack {stack} {' '.join(extra)} failed:\n{done.stderr}")
        best = min(best, elapsed)
    return best


def _in_process_seconds() -> dict[str, float]:
    from docpipe.stackfile import load_stack
    from infra.offline import run_offline

    figures: dict[str, float] = {}
    start = time.perf_counter()
    _, flat = load_stack("dev", root=ROOT, placeholder_secrets=True)
    run_offline(flat, "dev")
    figures["first run in a process (imports included)"] = time.perf_counter() - start
    for stack in ("dev", "prod"):
        _, flat = load_stack(stack, root=ROOT, placeholder_secrets=True)
        start = time.perf_counter()
        result = run_offline(flat, stack)
        figures[f"{stack} warm ({len(result.resources)} resources)"] = time.perf_counter() - start
    return figures


def main() -> None:
    # Warm the bytecode cache once so the figures are steady-state, not a first install.
    _cli_seconds("dev", [])
    print(f"docpipe plan, wall seconds per command (best of {REPEAT}):")
    for stack, extra in CASES:
        label = " ".join(["--stack", stack, *extra])
        seconds = _cli_seconds(stack, extra)
        verdict = "ok" if seconds <= 3.0 * (2 if extra else 1) else "over goal"
        print(f"  {label:<60} {seconds:6.2f} s  {verdict}")
    print("program under mocks, in-process:")
    for label, seconds in _in_process_seconds().items():
        print(f"  {label:<60} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
