"""Run a command line as a user does: its own interpreter, from the repo root, no terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_python(args: Sequence[str], env: Mapping[str, str | None] | None = None) -> str:
    """`python ARGS` with the environment changed by `env` (None unsets); its stdout, asserting exit 0."""
    full = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=full,
        stdin=subprocess.DEVNULL,  # no terminal anywhere: stdin, stdout and stderr are not TTYs
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"python {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout
