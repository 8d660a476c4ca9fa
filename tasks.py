#!/usr/bin/env python3
"""docpipe's task runner: needs nothing but Python 3.11+.

    python3 tasks.py run      set up .venv if needed, then run the pipeline locally on samples/
    python3 tasks.py test     set up, then lint, type-check and run the whole test suite
    python3 tasks.py setup    (re)install .venv from pyproject.toml
    python3 tasks.py lint     ruff (lint + format check), mypy and the import layers (lint-imports)
    python3 tasks.py bench    run every benchmark in bench/ and print its figures

`test` runs the fast suites, then the slow fault suites as a second pytest run; extra arguments
after `test` go to a single pytest run instead (e.g. `python3 tasks.py test tests/core -k plan`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PY = BIN / "python"
STAMP = VENV / ".docpipe-installed"


def sh(*args: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    code = subprocess.call([str(a) for a in args], cwd=ROOT, env=env)
    if code:
        sys.exit(code)


def system_packages() -> None:
    """bubblewrap (bwrap) isolates the local-sandbox enrichment backend: install it where missing.

    Only root can apt-get; anyone else is told what to run. Not Linux (macOS): nothing to install,
    local enrichment then refuses to start (use backends.enrichment.kind=e2b there).
    """
    if not sys.platform.startswith("linux") or shutil.which("bwrap"):
        return
    apt = shutil.which("apt-get")
    if apt and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        sh(apt, "update", "-qq", env=env)
        sh(apt, "install", "-y", "-qq", "bubblewrap", env=env)
        return
    print(
        "bubblewrap (bwrap) is missing: the local-sandbox enrichment backend needs it.\n"
        "  Debian/Ubuntu: sudo apt-get install bubblewrap · Fedora: sudo dnf install bubblewrap\n"
        "  (or run enrichment in hosted sandboxes: backends.enrichment.kind=e2b)",
        file=sys.stderr,
        flush=True,
    )


def setup(force: bool = False) -> None:
    """Create .venv and install docpipe with every extra and the dev tools (uv does the installing)."""
    system_packages()
    pyproject = ROOT / "pyproject.toml"
    if not force and STAMP.exists() and STAMP.stat().st_mtime >= pyproject.stat().st_mtime:
        return
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    sh(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "uv>=0.8")
    # Precompiled bytecode: with PYTHONDONTWRITEBYTECODE set (as on these machines) every process
    # would otherwise recompile the Pulumi SDKs (~11 s per `docpipe plan`).
    sh(BIN / "uv", "pip", "install", "--compile-bytecode", "--python", PY, "-e", ".[all]", "--group", "dev")
    STAMP.touch()


def lint() -> None:
    sh(BIN / "ruff", "check", ".")
    sh(BIN / "ruff", "format", "--check", ".")
    sh(BIN / "mypy")
    # The layer contracts in pyproject.toml; the graph takes well under a second, so no cache dir.
    sh(BIN / "lint-imports", "--no-cache", "--no-logo")


def test(extra: list[str]) -> None:
    """Lint, then the suite: everything but the slow fault suites first, then those on their own.

    With extra arguments, pytest runs once with exactly those arguments.
    """
    lint()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    if extra:
        sh(PY, "-m", "pytest", *extra, env=env)
        return
    sh(PY, "-m", "pytest", "-m", "not slow", env=env)
    print("\n== slow suites (faults on the real local stack) ==", flush=True)
    sh(PY, "-m", "pytest", "-m", "slow", env=env)


def run(extra: list[str]) -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    # The whole pipeline on embedded services (data in .docpipe/); extra arguments go to `docpipe dev`.
    # exec, not a child: Ctrl-C must reach `docpipe dev` alone, which then stops everything it started
    # (subprocess.call would SIGKILL it a quarter of a second after the interrupt, orphaning them).
    cmd = [str(BIN / "docpipe"), "dev", *extra]
    print("+", " ".join(cmd), flush=True)
    os.chdir(ROOT)
    os.execve(cmd[0], cmd, env)  # noqa: S606 (a fixed argv, no shell)


def bench() -> None:
    for script in sorted((ROOT / "bench").glob("*.py")):
        if not script.name.startswith("_"):  # _measure.py: the scripts' shared helpers
            sh(PY, script)


def main(argv: list[str]) -> None:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return
    task, extra = argv[0], argv[1:]
    if task not in {"setup", "run", "test", "lint", "bench"}:
        sys.exit(f"unknown task {task!r}; tasks: setup, run, test, lint, bench")
    setup(force=task == "setup")
    if task == "lint":
        lint()
    elif task == "test":
        test(extra)
    elif task == "run":
        run(extra)
    elif task == "bench":
        bench()


if __name__ == "__main__":
    main(sys.argv[1:])
