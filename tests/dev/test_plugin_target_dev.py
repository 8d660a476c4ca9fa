"""`docpipe dev` runs a stack whose extraction is on a plug-in target (tests/core/fake_target.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dev_procs import ROOT, run_dev

pytestmark = pytest.mark.services


def test_dev_runs_a_role_placed_on_a_plugin_target(dev_home: Path) -> None:
    plugin = {"DOCPIPE_TARGETS": "fake_target", "PYTHONPATH": str(ROOT / "tests" / "core")}
    run = run_dev(
        dev_home,
        "--json",
        "--set",
        "activities.extraction.target=fargate",
        str(ROOT / "samples" / "memo.txt"),
        env=plugin,
    )
    assert run.proc.returncode == 0, run.transcript()
    result = run.json()
    assert result["workers"]["extraction"]["target"] == "fargate"
    assert [d["outcome"] for d in result["documents"]] == ["stored"], run.transcript()
