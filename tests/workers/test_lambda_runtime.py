"""The image's Lambda entrypoint for real: `sh docker-entrypoint.sh workers.lambda_handler.handler`
(→ `python -m awslambdaric …`, the runtime interface client the image installs) as a subprocess,
against a local Lambda Runtime API (lambda_runtime_api.py) and the session's Temporal dev server.

* Every role through invocations: the real DocumentPipelineWorkflow on a document that needs every
  stage, with all five roles served by five Lambda function processes at once (nothing else polls),
  re-invoked the way Temporal's worker controller would while the run is unfinished. This checks the
  real workflow and every role's activity, registration, versioning and data converter through the
  entrypoint, and the history names the invocation (`<request id>@<function ARN>`) of every task.
  The contrib's default timing is used (no DOCPIPE_LAMBDA_* set).
* No late pickup, no retries: with DOCPIPE_LAMBDA_GRACEFUL_STOP_SECONDS / _DEADLINE_BUFFER_SECONDS
  set, an activity queued after `deadline − buffer` while the invocation is still draining another
  one is not taken by it; the next invocation runs it; every attempt is the first.
* Billed duration: every invocation is measured (handed out → answered) and printed beside what the
  cost model charges (the whole timeout).

A misconfigured buffer fails the function's init (POST /runtime/init/error), before any invocation.
The function processes are killed at the end (a process that ran a worker can abort at interpreter
exit, see ENVIRONMENT-FACTS); their exit codes are not asserted.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from lambda_runtime_api import Invocation, LambdaRuntimeAPI
from temporalio import workflow
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowHandle
from temporalio.common import RetryPolicy, WorkerDeploymentVersion
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from worker_procs import ROOT, pipeline_env

from workers.contract import ROLES, Env, deployment_name
from workers.documents import describe_file
from workers.payloads import data_converter
from workers.settings import Settings
from workers.submit import start_pipeline
from workers.types import EnrichInput, EnrichResult, PipelineResult
from workers.versioning import set_current_version

ENTRYPOINT = ROOT / "docker-entrypoint.sh"
HANDLER = "workers.lambda_handler.handler"
ACCOUNT_ARN = "arn:aws:lambda:us-east-1:123456789012:function"
# The contrib's defaults (what a function gets with DOCPIPE_LAMBDA_* unset).
DEFAULT_GRACE, DEFAULT_BUFFER = 5.0, 7.0
# Billed duration can be at most the timeout (Lambda kills the invocation there) and is at least the
# polling window (the worker never returns early when idle); this much slack for a loaded machine.
SLACK = 2.0
ACTIVITY_ROLE = {
    "extract_document": "extraction",
    "analyze_document": "analysis",
    "enrich_document": "enrichment",
    "store_document": "storage",
}


class LambdaFunction:
    """One function instance: the image's entrypoint under awslambdaric, with its own Runtime API."""

    def __init__(self, role: str, env: dict[str, str], task_root: Path) -> None:
        self.role = role
        self.arn = f"{ACCOUNT_ARN}:docpipe-{role}:1"  # a published version's qualified ARN
        self.api = LambdaRuntimeAPI(function_arn=self.arn).__enter__()
        self.lines: list[tuple[float, str]] = []
        self._new_line = threading.Condition()
        task_root.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["sh", str(ENTRYPOINT), HANDLER],
            cwd=task_root,
            env={
                **env,
                Env.ROLE: role,
                "AWS_LAMBDA_RUNTIME_API": self.api.address,
                "LAMBDA_TASK_ROOT": str(task_root),
                "AWS_LAMBDA_FUNCTION_NAME": f"docpipe-{role}",
                "AWS_LAMBDA_LOG_LEVEL": "INFO",  # the worker's shutdown line is INFO
                # The image's PATH: its venv first, so the entrypoint's `python` is this venv's.
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: the kill reaches sandbox children too
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._new_line:
                self.lines.append((time.time(), line.rstrip()))
                self._new_line.notify_all()

    def output(self, last: int = 40) -> str:
        return "\n".join(line for _, line in self.lines[-last:])

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"function {self.role} exited ({self.proc.returncode}):\n{self.output()}")

    def wait_line(self, text: str, since: float, timeout: float) -> float:
        """Epoch time of the first output line containing `text` printed at or after `since`."""
        end = time.monotonic() + timeout
        with self._new_line:
            while True:
                for at, line in self.lines:
                    if at >= since and text in line:
                        return at
                self.check_alive()
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.role}: no {text!r} line in {timeout} s:\n{self.output()}")
                self._new_line.wait(min(left, 0.5))

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.api.close()


@contextmanager
def lambda_functions(
    roles: tuple[str, ...], env: dict[str, str], root: Path
) -> Iterator[dict[str, LambdaFunction]]:
    with ExitStack() as stack:
        functions = {}
        for role in roles:
            functions[role] = fn = LambdaFunction(role, env, root / f"task-{role}")
            stack.callback(fn.kill)
        yield functions


def function_env(temporal_address: str, database_url: str, work_dir: Path, **extra: str) -> dict[str, str]:
    """What a placement gives a Lambda worker, with the offline backends."""
    env = pipeline_env(temporal_address, database_url, work_dir, **extra)
    env.update(
        {
            Env.EXTRACTION_BACKEND: "local",
            Env.ANALYSIS_BACKEND: "heuristic",
            Env.ENRICHMENT_BACKEND: "local-sandbox",
            "TEMPORAL_NAMESPACE": "default",
        }
    )
    return env


async def make_current(client: Client, env: dict[str, str], roles: tuple[str, ...]) -> None:
    """As a deployment does: each role's version is current before its first invocation polls."""
    for role in roles:
        version = WorkerDeploymentVersion(deployment_name(env[Env.STACK], role), env[Env.BUILD_ID])
        await set_current_version(client, version)


async def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, functions: Iterable[LambdaFunction] = ()
) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        for fn in functions:
            fn.check_alive()
        if time.monotonic() > end:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.1)


@dataclass
class Started:
    """An activity's (or workflow task's) run, from history: who ran it and which attempt it was."""

    name: str
    identity: str
    attempt: int
    scheduled_at: float


async def history_runs(handle: WorkflowHandle) -> tuple[list[Started], list[str], list[str]]:
    """(activity runs, workflow-task identities, failure-ish event names) of a workflow's history."""
    scheduled: dict[int, tuple[str, float]] = {}
    runs: list[Started] = []
    wft: list[str] = []
    bad: list[str] = []
    async for e in handle.fetch_history_events():
        if e.HasField("activity_task_scheduled_event_attributes"):
            name = e.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[e.event_id] = (name, e.event_time.ToDatetime().timestamp())
        elif e.HasField("activity_task_started_event_attributes"):
            s = e.activity_task_started_event_attributes
            name, at = scheduled[s.scheduled_event_id]
            runs.append(Started(name, s.identity, s.attempt, at))
        elif e.HasField("workflow_task_completed_event_attributes"):
            wft.append(e.workflow_task_completed_event_attributes.identity)
        if e.event_type in (
            EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
            EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
            EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
            EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
        ):
            bad.append(EventType.Name(e.event_type))
    return runs, wft, bad


def identity(inv: Invocation, fn: LambdaFunction) -> str:
    """The worker identity the contrib gives an invocation."""
    return f"{inv.request_id}@{fn.arn}"


def report_billing(functions: dict[str, LambdaFunction], buffers: dict[str, float], note: str) -> None:
    """Print measured billed duration per invocation beside the cost model's charge (whole timeout)."""
    from docpipe.cost.pricebook import load_price_book

    rate = load_price_book().get("lambda.gbSecond.arm64")
    print(f"\n{note}: billed duration per invocation (cost model: the whole timeout), at 1 GB arm64")
    print(f"{'function':<12}{'request':<10}{'timeout s':>10}{'poll s':>8}{'billed s':>10}{'model/billed':>14}"
          f"{'model USD':>12}{'billed USD':>12}")  # fmt: skip
    for role, fn in functions.items():
        for inv in fn.api.invocations:
            if inv.billed_seconds is None:
                continue
            t, b = inv.timeout_seconds, inv.billed_seconds
            print(f"{role:<12}{inv.request_id[:8]:<10}{t:>10g}{t - buffers[role]:>8g}{b:>10.3f}{t / b:>14.2f}"
                  f"{t * rate:>12.8f}{b * rate:>12.8f}")  # fmt: skip


def assert_billed_within_the_timeout(fn: LambdaFunction, buffer: float) -> None:
    for inv in fn.api.invocations:
        assert inv.outcome == "response", f"{fn.role} {inv.request_id}: {inv.outcome} {inv.body!r}"
        billed = inv.billed_seconds
        assert billed is not None
        # Lambda would have killed it at the timeout; the worker polls until deadline − buffer.
        assert billed <= inv.timeout_seconds, (
            f"{fn.role}: billed {billed} s > timeout {inv.timeout_seconds} s"
        )
        assert billed >= inv.timeout_seconds - buffer - SLACK, f"{fn.role}: returned early ({billed} s)"


# ---- every role through invocations -------------------------------------------------------------

ROUND_TIMEOUT = 25.0  # seconds per invocation: an 18 s polling window with the default 7 s buffer


@pytest.mark.services
async def test_every_role_runs_its_task_through_an_invocation(
    temporal_server, database_url, samples_dir: Path, work_dir: Path
):
    started = time.monotonic()
    env = function_env(temporal_server.address, database_url, work_dir)
    settings = Settings.from_env(env)
    client = await Client.connect(temporal_server.address, data_converter=data_converter(settings))
    await make_current(client, env, ROLES)
    # The report has a numeric table: analysis asks for enrichment, so all four activities run.
    # Unique content (one workflow per content hash on the shared dev server).
    doc = work_dir / "report.md"
    doc.write_text((samples_dir / "report.md").read_text() + f"\nReference {uuid.uuid4().hex}.\n")

    with lambda_functions(ROLES, env, work_dir) as functions:
        for fn in functions.values():
            fn.api.invoke(ROUND_TIMEOUT)
        submission = await start_pipeline(client, describe_file(doc), settings)
        assert submission.started
        handle = client.get_workflow_handle(submission.workflow_id, result_type=PipelineResult)
        result_task = asyncio.ensure_future(handle.result())
        # Temporal's worker controller invokes a function again while tasks wait; here: re-invoke any
        # function whose invocation ended while the run is unfinished (a few rounds at most).
        end = time.monotonic() + 150
        while not result_task.done():
            for fn in functions.values():
                fn.check_alive()
                if fn.api.invocations[-1].answered:
                    assert len(fn.api.invocations) < 5, f"{fn.role}: 4 invocations did not finish the run"
                    fn.api.invoke(ROUND_TIMEOUT)
            assert time.monotonic() < end, "the pipeline did not finish in 150 s"
            await asyncio.wait({result_task}, timeout=0.2)
        result = result_task.result()
        # Let the open invocations end (they poll until their deadline − buffer) to bill them.
        await wait_until(
            lambda: all(i.answered for f in functions.values() for i in f.api.invocations),
            ROUND_TIMEOUT + 30,
            "every invocation answered",
            functions.values(),
        )
        for fn in functions.values():
            fn.check_alive()
        runs, wft_identities, bad = await history_runs(handle)

    assert result.status == "stored", result
    assert result.needs_enrichment and result.enrichment_output["column_totals"]["Q3 sales"] == 103950
    assert [t.stage for t in result.timings] == ["extraction", "analysis", "enrichment", "storage"]
    assert bad == [], "no activity or workflow task failed, timed out or was retried"
    # Every task ran in an invocation of its own role's function, at the first attempt.
    assert sorted(ACTIVITY_ROLE[r.name] for r in runs) == sorted(ACTIVITY_ROLE.values())
    for run in runs:
        fn = functions[ACTIVITY_ROLE[run.name]]
        assert run.identity in {identity(i, fn) for i in fn.api.invocations}, run
        assert run.attempt == 1, run
    workflow_fn = functions["workflow"]
    assert wft_identities and set(wft_identities) <= {
        identity(i, workflow_fn) for i in workflow_fn.api.invocations
    }
    for fn in functions.values():
        assert fn.api.protocol_errors == [] and fn.api.init_errors == []
        assert_billed_within_the_timeout(fn, DEFAULT_BUFFER)
    report_billing(functions, dict.fromkeys(ROLES, DEFAULT_BUFFER), "every role")
    print(f"test runtime {time.monotonic() - started:.1f} s")


# ---- no late pickup, no retries -----------------------------------------------------------------

LATE_TIMEOUT, LATE_GRACE, LATE_BUFFER = 36.0, 10.0, 12.0  # 24 s polling window, drain ≤ 10 s
HOLD_AFTER_POLL_STOP = 6.0  # the first activity runs this long past the moment polling stops
LONG_ACTIVITY = 8.0  # the late one (longest activity of this setup: < the graceful stop)
STOP_MARGIN = 1.0  # L is queued this long after the worker logs that it stops polling

HOLD_CODE = """\
import time
while time.time() < {until!r}:
    time.sleep(0.1)
result = {{"held_until": {until!r}}}
"""
SLEEP_CODE = """\
import time
time.sleep({seconds!r})
result = {{"slept": {seconds!r}}}
"""


@workflow.defn(sandboxed=False)
class EnrichOnceWorkflow:
    @workflow.run
    async def run(self, inp: EnrichInput, queue: str) -> EnrichResult:
        return await workflow.execute_activity(
            "enrich_document", inp, result_type=EnrichResult, task_queue=queue,
            start_to_close_timeout=timedelta(seconds=120),
            # A cut activity would come back as attempt 2 (WorkerShutdown is retryable).
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
        )  # fmt: skip


@pytest.mark.services
async def test_an_activity_queued_after_polling_stops_waits_for_the_next_invocation(
    temporal_server, database_url, samples_dir: Path, work_dir: Path
):
    started = time.monotonic()
    env = function_env(
        temporal_server.address,
        database_url,
        work_dir,
        **{
            Env.LAMBDA_GRACEFUL_STOP_SECONDS: f"{LATE_GRACE:g}",
            Env.LAMBDA_DEADLINE_BUFFER_SECONDS: f"{LATE_BUFFER:g}",
        },
    )
    settings = Settings.from_env(env)
    client = await Client.connect(temporal_server.address, data_converter=data_converter(settings))
    await make_current(client, env, ("enrichment",))
    queue, test_queue = settings.task_queue("enrichment"), f"{settings.queue_prefix}-test-wf"
    ref = describe_file(samples_dir / "memo.txt")
    tag = uuid.uuid4().hex[:8]

    async def enrich(name: str, code: str) -> WorkflowHandle:
        return await client.start_workflow(
            EnrichOnceWorkflow.run, args=[EnrichInput(ref, code, []), queue], id=f"late-{name}-{tag}",
            task_queue=test_queue,
        )  # fmt: skip

    worker = Worker(
        client,
        task_queue=test_queue,
        workflows=[EnrichOnceWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    with lambda_functions(("enrichment",), env, work_dir) as functions:
        async with worker:
            fn = functions["enrichment"]
            first = fn.api.invoke(LATE_TIMEOUT)
            await wait_until(
                lambda: first.handed_out_at is not None, 60, "the first invocation handed out", [fn]
            )
            poll_stop = first.deadline - LATE_BUFFER
            # A: runs across the moment polling stops and ends inside the drain, keeping the invocation open.
            hold = await enrich("hold", HOLD_CODE.format(until=poll_stop + HOLD_AFTER_POLL_STOP))

            async def hold_running() -> bool:
                pending = (await hold.describe()).raw_description.pending_activities
                return (
                    bool(pending) and pending[0].state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                )

            end = time.monotonic() + 60
            while not await hold_running():
                fn.check_alive()
                assert time.time() < poll_stop and time.monotonic() < end, "the first invocation never took A"
                await asyncio.sleep(0.1)
            # The worker says when it stops polling (the contrib cancels its run at deadline − buffer).
            stopped_at = await asyncio.to_thread(
                fn.wait_line, "Beginning worker shutdown", first.handed_out_at or 0, LATE_TIMEOUT
            )
            assert stopped_at >= poll_stop - 0.5, "polling stopped before deadline − buffer"
            # The line is logged just before the worker tells core (and the server) to stop polling; a
            # second's margin keeps this test from racing that call on a loaded machine.
            await asyncio.sleep(max(0.0, stopped_at + STOP_MARGIN - time.time()))
            # L: queued late in the first invocation (after deadline − buffer, while it drains A).
            late = await enrich("late", SLEEP_CODE.format(seconds=LONG_ACTIVITY))
            late_queued_at = time.time()
            assert not first.answered, "the first invocation ended before L was queued: nothing was tested"
            await wait_until(lambda: first.answered, LATE_GRACE + 20, "the first invocation answered", [fn])
            # Temporal's controller invokes the function again for the waiting task.
            second = fn.api.invoke(LATE_TIMEOUT)
            hold_result = await asyncio.wait_for(hold.result(), 60)
            late_result = await asyncio.wait_for(late.result(), LATE_TIMEOUT + 30)
            await wait_until(
                lambda: second.answered, LATE_TIMEOUT + 30, "the second invocation answered", [fn]
            )
            fn.check_alive()
            (hold_run,), _, hold_bad = await history_runs(hold)
            (late_run,), _, late_bad = await history_runs(late)

    assert hold_result.output == {"held_until": poll_stop + HOLD_AFTER_POLL_STOP}
    assert late_result.output == {"slept": LONG_ACTIVITY}
    assert hold_run.identity == identity(first, fn), "A ran in the first invocation"
    assert late_run.identity == identity(second, fn), "L was not taken by the first invocation"
    assert late_run.scheduled_at >= stopped_at - 0.5 and late_queued_at < (first.answered_at or 0)
    assert (hold_run.attempt, late_run.attempt) == (1, 1) and hold_bad == late_bad == [], "nothing retried"
    # The first invocation ran until A finished in its drain; both answered within the timeout.
    assert (first.answered_at or 0) >= poll_stop + HOLD_AFTER_POLL_STOP
    assert fn.api.protocol_errors == []
    assert_billed_within_the_timeout(fn, LATE_BUFFER)
    report_billing(functions, {"enrichment": LATE_BUFFER}, "late activity")
    print(
        f"polling stopped {stopped_at - first.deadline:+.2f} s from the deadline (buffer {LATE_BUFFER:g} s); "
        f"L queued {late_queued_at - stopped_at:.2f} s later; test runtime {time.monotonic() - started:.1f} s"
    )


# ---- a buffer that cannot hold the drain fails the init -----------------------------------------


def test_a_buffer_shorter_than_the_graceful_stop_fails_the_functions_init(work_dir: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCPIPE_", "TEMPORAL_"))} | {
        Env.LAMBDA_GRACEFUL_STOP_SECONDS: "30",
        Env.LAMBDA_DEADLINE_BUFFER_SECONDS: "20",
    }
    with lambda_functions(("extraction",), env, work_dir) as functions:
        fn = functions["extraction"]
        fn.api.invoke(30)
        error = fn.api.wait_init_error(60)
        assert error is not None, fn.output()
        assert fn.proc.wait(30) != 0
    assert error.error_type == "SettingsError"
    message = error.body["errorMessage"]
    assert (
        f"{Env.LAMBDA_DEADLINE_BUFFER_SECONDS}=20 must exceed {Env.LAMBDA_GRACEFUL_STOP_SECONDS}=30"
        in message
    )
    assert fn.api.invocations[0].handed_out_at is None, "no invocation reached a function that cannot start"
