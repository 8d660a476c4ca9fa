"""A zero-loss target flip, rehearsed locally: analysis moves from cloudrun to ec2 while 100 flow.

`pulumi up` of a flip creates the new placement's component and deletes the old one; the task queue
and the Worker Deployment are derived from the role, never from the target, so both placements poll
the same queue. Here: the new target's worker (realized from the flipped plan, exactly as the local
realizer would run it) starts and is ready first, then the old target's worker gets SIGTERM and
drains (in-flight activities finish within the grace period or are handed back to Temporal). All
100 documents must be stored exactly once, and both workers must have served some of them.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections import Counter

import pytest
from fault_documents import good_documents
from fault_stack import (
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

from docpipe.local.home import HOME_ENV
from docpipe.local.realize import realize
from docpipe.local.stack import ROOT, worker_name
from docpipe.local.supervisor import ProcessSpec
from docpipe.plan import build_plan
from docpipe.stackfile import load_stack
from workers.contract import workflow_id

pytestmark = [pytest.mark.slow, pytest.mark.services]

ROLE, OLD_TARGET, NEW_TARGET = "analysis", "cloudrun", "ec2"
DOCS = 100


async def _analysis_identities(client: Client, shas: list[str]) -> Counter[str]:
    """Which worker (pid@host identity) started each document's analysis activity attempt."""
    seen: Counter[str] = Counter()
    scheduled: dict[int, str] = {}
    for sha in shas:
        scheduled.clear()
        async for event in client.get_workflow_handle(workflow_id(sha)).fetch_history_events():
            if event.HasField("activity_task_scheduled_event_attributes"):
                scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
            elif event.HasField("activity_task_started_event_attributes"):
                attrs = event.activity_task_started_event_attributes
                if scheduled.get(attrs.scheduled_event_id) == "analyze_document":
                    seen[attrs.identity.split("@")[0]] += 1
    return seen


async def test_flip_analysis_target_while_100_documents_flow(fault_stack: FaultStack, fault_client: Client):
    stack = fault_stack.stack
    old = next(r for r in stack.roles if r.role == ROLE)
    assert old.target == OLD_TARGET
    host = old.env["OLLAMA_HOST"]  # the local model server the stack was realized with
    flipped, _ = load_stack(
        "dev",
        overrides=[*fault_overrides(host), f"activities.{ROLE}.target={NEW_TARGET}"],
        placeholder_secrets=True,
    )
    new = next(r for r in realize(build_plan(flipped), stack.endpoints(), stack_env()) if r.role == ROLE)
    assert new.target == NEW_TARGET
    # What makes a flip invisible to running workflows: same task queue prefix, same deployment.
    for key in ("DOCPIPE_DEPLOYMENT_NAME", "DOCPIPE_STACK", "DOCPIPE_BUILD_ID"):
        assert new.env.get(key) == old.env.get(key), key

    tag = uuid.uuid4().hex[:8]
    docs = good_documents(fault_stack.root / "flip" / tag, tag, DOCS, enrich_every=4, slow_ms=100)
    batch = await submit(stack, fault_client, docs)
    old_pid = stack.worker_pid(ROLE)
    assert old_pid is not None
    caught = await wait_mid_activity(fault_client, batch, ROLE, old_pid)

    # 1. The new placement comes up on the same task queue (pulumi creates before it deletes).
    env = new.full_env(stack_env())
    env[HOME_ENV] = str(stack.home.root)
    env["PYTHONUNBUFFERED"] = "1"
    name = f"{worker_name(ROLE)}-{NEW_TARGET}"
    stack.supervisor.add(
        ProcessSpec(
            name=name,
            argv=[sys.executable, "-m", "docpipe.cli", "worker", ROLE],
            env=env,
            log_path=stack.home.log_dir / f"{name}.log",
            ready_text=f"docpipe worker {ROLE} ready",
            cwd=ROOT,
        )
    )
    stack.supervisor.start(name)
    await asyncio.to_thread(stack.supervisor.wait_ready, [name], 60)
    new_pid = stack.supervisor[name].pid
    # 2. The old placement goes: SIGTERM, drain within the grace period, then it is gone.
    await asyncio.to_thread(stack.supervisor.stop, worker_name(ROLE), stack.grace_seconds + 5)
    old_exit = stack.supervisor[worker_name(ROLE)].exit_codes[-1]

    await wait_batch(fault_client, batch, 240, f"target flip ({caught})")
    found = rows(fault_stack.database_url, batch.shas)
    stored = [r for r in found.values() if r.status == "stored" and r.writes == 1]
    served = await _analysis_identities(fault_client, batch.shas)
    record(
        "flip",
        f"{ROLE} {OLD_TARGET} -> {NEW_TARGET}",
        documents=len(batch.shas),
        stored_once=len(stored),
        analysed_by_old=served.get(str(old_pid), 0),
        analysed_by_new=served.get(str(new_pid), 0),
        old_exit=old_exit,
    )
    assert not duplicate_rows(fault_stack.database_url)
    assert len(stored) == DOCS, {
        s[:12]: found.get(s) for s in batch.shas if s not in {r.sha256 for r in stored}
    }
    assert old_exit == 0, f"the old worker did not drain cleanly (exit {old_exit})"
    assert served.get(str(old_pid)) and served.get(str(new_pid)), f"analysis attempts by worker: {served}"
