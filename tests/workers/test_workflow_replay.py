"""Runs recorded before a workflow change replay on today's code (the workflow is AUTO_UPGRADE:
an in-flight run moves to the new build at its next task, so a change that is not behind
`workflow.patched()` would fail those runs with a non-determinism error).

The histories in histories/ were recorded from the workflow as it was before the change named in
their file name, with stand-in activities (a stored memo, a document failing at extraction)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workers.workflow import DocumentPipelineWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
def test_recorded_runs_replay_on_the_current_workflow(path: Path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = asyncio.run(
        Replayer(workflows=[DocumentPipelineWorkflow]).replay_workflow(history, raise_on_replay_failure=False)
    )
    assert result.replay_failure is None, result.replay_failure


def test_there_are_histories_to_replay():
    assert len(HISTORIES) >= 2
