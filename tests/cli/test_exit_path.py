"""The one exit path (workers/process.py `leave`, called by docpipe.cli `entry`).

Every command leaves through it: output is flushed, the handler's code is the process's code, and
interpreter teardown (atexit hooks, finalisers) does not run. In-process callers of `main()` and of
the handlers get the code back instead of losing the process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from docpipe.cli import main

ROOT = Path(__file__).resolve().parents[2]

# A handler stand-in: buffered output on a pipe, an atexit hook and a finaliser that would print
# during teardown, and exit code 3 from `main`.
PROBE = """
import atexit, logging, sys
import docpipe.cli as cli

class Finalised:
    def __del__(self):
        print("finaliser ran")

keep = Finalised()
atexit.register(lambda: print("atexit ran"))
logging.basicConfig(stream=sys.stderr, format="%(message)s")

def handler(args):
    sys.stdout.write("buffered stdout line\\n")
    logging.getLogger("probe").warning("logged line")
    return 3

cli.main = lambda argv=None: handler(None)
cli.entry()
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": ""},
    )


def test_entry_flushes_keeps_the_code_and_skips_teardown() -> None:
    done = _run("-c", PROBE)
    assert done.returncode == 3, done.stderr
    assert done.stdout == "buffered stdout line\n"  # flushed, and neither teardown hook printed
    assert "logged line" in done.stderr


def test_entry_keeps_argparse_exit_codes_and_messages() -> None:
    done = _run("-m", "docpipe.cli", "plan")  # --stack missing
    assert done.returncode == 2
    assert "--stack" in done.stderr
    done = _run("-m", "docpipe.cli", "--help")
    assert done.returncode == 0
    assert "docpipe plan --stack prod" in done.stdout


def test_entry_turns_a_system_exit_message_into_exit_1_on_stderr() -> None:
    probe = (
        "import docpipe.cli as cli\n"
        "def m(argv=None):\n    raise SystemExit('no such stack: x')\n"
        "cli.main = m\ncli.entry()\n"
    )
    done = _run("-c", probe)
    assert done.returncode == 1
    assert done.stderr.strip() == "no such stack: x"


def test_main_returns_the_code_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    # `recommend` is quick and needs no services; the test process survives and gets the code.
    assert main(["recommend", "--files-per-day", "10", "--json"]) == 0
    assert capsys.readouterr().out.lstrip().startswith("{")


def test_paused_gc_pauses_and_restores_the_collector() -> None:
    import gc

    from workers.process import paused_gc

    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
