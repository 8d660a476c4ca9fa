"""A zero-loss target flip, rehearsed locally: a role moves to another target while 100 flow.

`pulumi up` of a flip creates the new placement's component and deletes the old one; the task queue
and the Worker Deployment are derived from the role, never from the target, so both placements poll
the same queue. Here: the new target's worker (realized from the flipped plan, exactly as the local
realizer would run it) starts and is ready first, then the old target's worker gets SIGTERM and
drains (in-flight activities finish within the grace period or are handed back to Temporal). All
100 documents must be stored exactly once, and both workers must have served some of them. Two
flips, one after the other on one stack: analysis (cloudrun → ec2) and the workflow role
(lambda → ec2).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
from fault_documents import good_documents
from fault_stack import (
    ACTIVITY_OF_ROLE,
    FaultStack,
    duplicate_rows,
    fault_overrides,
    record,
    rows,
    stack_env,
    submit,
    wait_batch,
    wait_mid_activity,
)
from temporalio.client import Client

from docpipe.local.realize import realize
from docpipe.local.stack import worker_name
from docpipe.plan import build_plan
from docpipe.stackfile import load_stack
from workers.contract import workflow_id

pytestmark = [pytest.mark.slow, pytest.mark.services]

DOCS = 100
# (role, its target in the dev stack, the target it flips to). The workflow role is the subtle one:
# its workers hold running workflows in their cache, and the new ones must replay them from history.
FLIPS = [("analysis", "cloudrun", "ec2"), ("workflow", "lambda", "ec2")]


async def _identities(client: Client, shas: list[str], role: str) -> Counter[str]:
    """Which worker process (pid of its `pid@host` identity) served each task of `role`."""
    seen: Counter[str] = Counter()
    scheduled: dict[int, str] = {}
    for sha in shas:
        scheduled.clear()
        async for event in client.get_workflow_handle(workflow_id(sha)).fetch_history_events():
            if role == "workflow":
                if event.HasField("workflow_task_completed_event_attributes"):
                    seen[event.workflow_task_completed_event_attributes.identity.split("@")[0]] += 1
            elif event.HasField("activity_task_scheduled_event_attributes"):
                scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
            elif event.HasField("activity_task_started_event_attributes"):
                attrs = event.activity_task_started_event_attributes
                if scheduled.get(attrs.scheduled_event_id) == ACTIVITY_OF_ROLE[role]:
                    seen[attrs.identity.split("@")[0]] += 1
    return seen


@pytest.mark.parametrize(
    ("role", "old_target", "new_target"), FLIPS, ids=[f"{r}-{o}-to-{n}" for r, o, n in FLIPS]
)
async def test_flip_a_role_target_while_100_documents_flow(
    fault_stack: FaultStack, fault_client: Client, role: str, old_target: str, new_target: str
):
    stack = fault_stack.stack
    old = next(r for r in stack.roles if r.role == role)
    assert old.target == old_target
    host = next(r for r in stack.roles if r.role == "analysis").env["OLLAMA_HOST"]  # the model server
    flipped, _ = load_stack(
        "dev",
        overrides=[*fault_overrides(host), f"activities.{role}.target={new_target}"],
        placeholder_secrets=True,
    )
    new = next(r for r in realize(build_plan(flipped), stack.endpoints(), stack_env()) if r.role == role)
    assert new.target == new_target
    # What makes a flip invisible to running workflows: same task queue prefix, same deployment.
    for key in ("DOCPIPE_DEPLOYMENT_NAME", "DOCPIPE_STACK", "DOCPIPE_BUILD_ID"):
        assert new.env.get(key) == old.env.get(key), key

    tag = uuid.uuid4().hex[:8]
    docs = good_documents(fault_stack.root / "flip" / tag, tag, DOCS, enrich_every=4, slow_ms=100)
    batch = await submit(stack, fault_client, docs)
    old_pid = stack.worker_pid(role)
    assert old_pid is not None
    caught = await wait_mid_activity(fault_client, batch, role, old_pid)

    # 1. The new placement comes up on the same task queue (pulumi creates before it deletes).
    name = await asyncio.to_thread(
        stack.add_worker, role, f"{worker_name(role)}-{new_target}", realized=new, ready_timeout=60
    )
    new_pid = stack.supervisor[name].pid
    # 2. The old placement goes: SIGTERM, drain within the grace period, then it is gone.
    await asyncio.to_thread(stack.supervisor.stop, worker_name(role), stack.grace_seconds + 5)
    old_exit = stack.supervisor[worker_name(role)].exit_codes[-1]

    await wait_batch(fault_client, batch, 240, f"target flip ({caught})")
    found = rows(fault_stack.database_url, batch.shas)
    stored = [r for r in found.values() if r.status == "stored" and r.writes == 1]
    served = await _identities(fault_client, batch.shas, role)
    record(
        "flip",
        f"{role} {old_target} -> {new_target}",
        documents=len(batch.shas),
        stored_once=len(stored),
        served_by_old=served.get(str(old_pid), 0),
        served_by_new=served.get(str(new_pid), 0),
        old_exit=old_exit,
    )
    assert not duplicate_rows(fault_stack.database_url)
    assert len(stored) == DOCS, {
        s[:12]: found.get(s) for s in batch.shas if s not in {r.sha256 for r in stored}
    }
    assert old_exit == 0, f"the old worker did not drain cleanly (exit {old_exit})"
    assert served.get(str(old_pid)) and served.get(str(new_pid)), f"{role} tasks by worker: {served}"


async def test_a_workflow_rollout_with_a_new_build_id_finishes_the_runs_in_flight(
    fault_stack: FaultStack, fault_client: Client
):
    """The workflow role's worker is replaced by one with a new build id while runs are in flight
    (a rolling restart of a new image): every run must still finish."""
    stack = fault_stack.stack
    current = next(n for n in stack.supervisor.pids() if n.startswith(worker_name("workflow")))
    old_pid = stack.supervisor[current].pid
    assert old_pid is not None
    tag = uuid.uuid4().hex[:8]
    docs = good_documents(fault_stack.root / "rollout" / tag, tag, 30, enrich_every=0, slow_ms=1500)
    batch = await submit(stack, fault_client, docs)
    await wait_mid_activity(fault_client, batch, "workflow", old_pid)
    # A new image: another build id; the worker makes itself current at start.
    await asyncio.to_thread(
        stack.add_worker,
        "workflow",
        f"{worker_name('workflow')}-rollout",
        {"DOCPIPE_BUILD_ID": f"rollout-{tag}"},
        ready_timeout=60,
    )
    await asyncio.to_thread(stack.supervisor.stop, current, stack.grace_seconds + 5)
    await wait_batch(fault_client, batch, 60, "runs in flight during a workflow rollout")
    assert {r.status for r in batch.results.values()} == {"stored"}
