"""`docpipe cost`, `recommend`, `simulate` and `status` load no Pulumi module (issue 10, item 4).

Each command runs as a user runs it, in its own interpreter; a tiny wrapper runs `main()` and then
writes the names in `sys.modules`, so lazy imports inside handlers count too. `docpipe plan` does
run the Pulumi program, so it is the control that shows the check can fail.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from docpipe.local.home import HOME_ENV
from workers.contract import Env

from .helpers import run_python

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
    env = {
        HOME_ENV: str(tmp_path / "home"),  # `status`: an empty local stack
        Env.DATABASE_URL: None,
        "PYTHONDONTWRITEBYTECODE": None,  # `plan` imports the large provider SDKs
    }
    run_python(["-c", WRAPPER, str(out), *argv], env)
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
