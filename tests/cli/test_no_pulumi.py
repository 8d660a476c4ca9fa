"""`docpipe cost`, `recommend`, `simulate` and `status` load no Pulumi module (issue 10, item 4).

Each command runs as a user runs it, in its own interpreter; a tiny wrapper runs `main()` and then
writes the names in `sys.modules`, so lazy imports inside handlers count too. `docpipe plan` does
run the Pulumi program, so it is the control that shows the check can fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from docpipe.local.home import HOME_ENV
from workers.contract import Env

ROOT = Path(__file__).resolve().parents[2]

WRAPPER = """
import json, sys
from docpipe.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    json.dump(sorted(sys.modules), f)
sys.exit(code)
"""


def _modules_loaded_by(argv: list[str], tmp_path: Path) -> list[str]:
    out = tmp_path / "modules.json"
    env = {**os.environ, HOME_ENV: str(tmp_path / "home")}  # `status`: an empty local stack
    env.pop(Env.DATABASE_URL, None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # `plan` imports the large provider SDKs
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(out), *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"docpipe {' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}"
    modules: list[str] = json.loads(out.read_text())
    return modules


def _pulumi(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0].startswith("pulumi")]


@pytest.mark.parametrize(
    ("argv", "handler"),
    [
        (["cost", "--stack", "prod"], "docpipe.cli.cost"),
        (["recommend", "--files-per-day", "100"], "docpipe.cli.cost"),
        (["simulate", "--stack", "dev", "--days", "1"], "docpipe.cli.cost"),
        (["status"], "docpipe.cli.status"),
    ],
    ids=["cost", "recommend", "simulate", "status"],
)
def test_command_loads_no_pulumi_module(argv: list[str], handler: str, tmp_path: Path) -> None:
    modules = _modules_loaded_by(argv, tmp_path)
    assert handler in modules  # the command really ran its handler
    assert _pulumi(modules) == []


def test_plan_does_load_pulumi_so_the_check_can_fail(tmp_path: Path) -> None:
    modules = _modules_loaded_by(["plan", "--stack", "dev"], tmp_path)
    assert "pulumi" in _pulumi(modules)
