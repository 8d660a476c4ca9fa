"""The floor both pipeline benchmarks compare against: a bare workflow running four no-op
activities on one task queue (issue 18). One definition, so bench/pipeline.py and
bench/dev_scale.py measure the same floor. A module of its own, too, because the workflow sandbox
re-imports a workflow's module by name (a script's `__main__` is not one)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

FLOOR_QUEUE = "bench-floor"


@activity.defn(name="floor_step")
async def floor_step(x: str) -> str:
    return x


@workflow.defn(name="BenchFloorWorkflow")
class BenchFloorWorkflow:
    @workflow.run
    async def run(self, x: str) -> str:
        for _ in range(4):
            x = await workflow.execute_activity(floor_step, x, start_to_close_timeout=timedelta(seconds=30))
        return x
