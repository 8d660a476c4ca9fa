"""`docpipe plan --json` and `docpipe cost --json` against committed golden files.

The files pin what users and scripts see for both stacks and one target flip per role, so a
refactor that should not change behaviour proves it does not. Regenerate after an intended change
with `DOCPIPE_UPDATE_GOLDEN=1 python3 tasks.py test tests/golden` and say in the commit why the
figures moved. JSON is compared with sorted keys (the resources section's grouping order follows
registration order, which Pulumi does not keep stable). The plan runs with a fixed
`imageTag` (the derived build id changes with every edit of the code) and its `steps` — every
resource's inputs, tested in tests/cli/test_plan_json.py — are left out.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest

from docpipe.cli import main

HERE = Path(__file__).resolve().parent
FLIPS = {
    "workflow": "ec2",
    "extraction": "lambda",
    "analysis": "ec2",
    "enrichment": "cloudrun",
    "storage": "ec2",
}
CASES = [
    (stack, [] if role is None else [f"activities.{role}.target={FLIPS[role]}"])
    for stack in ("dev", "prod")
    for role in (None, *FLIPS)
]


def _name(command: str, stack: str, sets: list[str]) -> str:
    flip = sets[0].split("=")[0].split(".")[1] + "-" + sets[0].split("=")[1] if sets else "stack"
    return f"{command}-{stack}-{flip}.json"


def _run(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*argv, "--set", "imageTag=golden-build"] if argv[0] == "plan" else argv)
    assert code == 0, f"docpipe {' '.join(argv)} exited {code}"
    data = json.loads(out.getvalue())
    data.pop("steps", None)
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("command", ["plan", "cost"])
@pytest.mark.parametrize(("stack", "sets"), CASES, ids=[_name("", s, x)[1:-5] for s, x in CASES])
def test_json_matches_golden(command: str, stack: str, sets: list[str]) -> None:
    argv = [command, "--stack", stack, "--json", *(a for s in sets for a in ("--set", s))]
    got = _run(argv)
    path = HERE / _name(command, stack, sets)
    if os.environ.get("DOCPIPE_UPDATE_GOLDEN") == "1":
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"{path.name} is missing; generate it with DOCPIPE_UPDATE_GOLDEN=1"
    want = path.read_text(encoding="utf-8")
    assert got == want, f"docpipe {' '.join(argv)} differs from {path.name}"
