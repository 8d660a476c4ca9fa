"""Benchmark: what five role workers cost in orchestration, against a one-queue floor.

On the real Temporal dev server, with instant no-op activities (so every millisecond is orchestration):

  pipeline  DocumentPipelineWorkflow on the real `docpipe worker workflow` process; extraction,
            analysis, enrichment and storage each on its own queue, served by its own process that
            registers a no-op function under the real activity name (with the real worker options
            and Worker Deployment versioning) — five worker processes, as `docpipe dev` runs them.
  floor     a bare workflow running four no-op activities, one worker process, one task queue.

For each: documents/s with N documents in flight at once (first start → last close, server times),
median and p95 start→close per document under that load, and the median for one document at a
time (the orchestration overhead a single document pays). Prints the throughput ratio pipeline/floor
(goal ≥ 0.8).

    .venv/bin/python bench/pipeline.py [--documents 200] [--rounds 2] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

# Plain string operations: this module is also imported inside the workflow sandbox (the floor).
ROOT = Path(os.path.dirname(os.path.dirname(__file__)))  # __file__ is absolute since Python 3.9
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from temporalio import activity, workflow  # noqa: E402

from workers.types import (  # noqa: E402
    AnalyzeInput,
    AnalyzeResult,
    EnrichInput,
    EnrichResult,
    ExtractInput,
    ExtractResult,
    StoreInput,
    StoreResult,
)

PREFIX = "bench"
STACK = "bench"
BUILD_ID = "bench-1"
FLOOR_QUEUE = "bench-floor"
ACTIVITY_ROLES = ("extraction", "analysis", "enrichment", "storage")
SEQUENTIAL = 20  # documents run one at a time for the unloaded overhead


# --- the floor: a bare workflow, four no-op activities, one queue ---------------------------------


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


# --- no-op activities under the pipeline's real names ----------------------------------------------


def noop_activities(role: str) -> list[Any]:
    @activity.defn(name="extract_document")
    async def extract_document(inp: ExtractInput) -> ExtractResult:
        return ExtractResult(elements=[{"type": "NarrativeText", "text": "x"}], backend="noop", page_count=1)

    @activity.defn(name="analyze_document")
    async def analyze_document(inp: AnalyzeInput) -> AnalyzeResult:
        # Always enriched, so each document runs four activities, like the floor.
        return AnalyzeResult(
            document_type="memo",
            summary="x",
            key_entities=[],
            needs_enrichment=True,
            backend="noop",
            enrichment_code="print(1)",
        )

    @activity.defn(name="enrich_document")
    async def enrich_document(inp: EnrichInput) -> EnrichResult:
        return EnrichResult(backend="noop", output=1)

    @activity.defn(name="store_document")
    async def store_document(inp: StoreInput) -> StoreResult:
        return StoreResult(sha256=inp.document.sha256, status=inp.status)

    return {
        "extraction": [extract_document],
        "analysis": [analyze_document],
        "enrichment": [enrich_document],
        "storage": [store_document],
    }[role]


async def serve(kind: str, address: str) -> None:
    """Worker process body: `floor`, or one activity role with no-op activities."""
    import signal

    from temporalio.client import Client
    from temporalio.common import WorkerDeploymentVersion
    from temporalio.worker import Worker, WorkerDeploymentConfig

    client = await Client.connect(address)
    if kind == "floor":
        # The workflow sandbox re-imports a workflow's module by name, which `__main__` is not:
        # serve the floor from this file imported as the module `pipeline`.
        sys.path.insert(0, os.path.dirname(__file__))
        import pipeline

        worker = Worker(
            client,
            task_queue=FLOOR_QUEUE,
            workflows=[pipeline.BenchFloorWorkflow],
            activities=[pipeline.floor_step],
        )
    else:
        from workers.roles import RoleRegistration, worker_options
        from workers.settings import Settings
        from workers.versioning import promote

        settings = Settings(stack=STACK, queue_prefix=PREFIX, build_id=BUILD_ID)
        reg = RoleRegistration(activities=noop_activities(kind))
        version = WorkerDeploymentVersion(deployment_name=settings.deployment_name(kind), build_id=BUILD_ID)
        worker = Worker(
            client,
            **worker_options(kind, settings, reg),
            deployment_config=WorkerDeploymentConfig(version=version, use_worker_versioning=True),
        )
        await promote(client, version, "always")
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with worker:
        print(f"bench worker {kind} ready", flush=True)
        await stop.wait()


# --- the measurement -------------------------------------------------------------------------------


def _doc(i: int, run: str) -> Any:
    from workers.types import DocumentRef

    sha = uuid.uuid4().hex + uuid.uuid4().hex
    return DocumentRef(
        uri=f"bench://{run}/{i}", sha256=sha, filename=f"doc{i}.txt", content_type="text/plain", size=1
    )


async def _start(client: Any, kind: str, i: int, run: str) -> Any:
    from workers.contract import WORKFLOW_TYPE, workflow_id
    from workers.types import PipelineInput

    if kind == "floor":
        return await client.start_workflow(
            BenchFloorWorkflow.run, f"{run}-{i}", id=f"floor-{run}-{i}", task_queue=FLOOR_QUEUE
        )
    doc = _doc(i, run)
    return await client.start_workflow(
        WORKFLOW_TYPE,
        PipelineInput(document=doc, queue_prefix=PREFIX),
        id=workflow_id(doc.sha256),
        task_queue=f"{PREFIX}-workflow",
    )


async def _timings(handles: list[Any]) -> list[tuple[float, float]]:
    """(start, close) server times of each finished run."""
    out = []
    for h in handles:
        d = await h.describe()
        out.append((d.start_time.timestamp(), d.close_time.timestamp()))
    return out


async def measure(client: Any, kind: str, n: int) -> dict[str, float]:
    run = uuid.uuid4().hex[:8]
    handles = await asyncio.gather(*(_start(client, kind, i, run) for i in range(n)))
    await asyncio.gather(*(h.result() for h in handles))
    spans = await _timings(handles)
    window = max(c for _, c in spans) - min(s for s, _ in spans)
    lat = sorted((c - s) * 1000 for s, c in spans)
    one = []
    for i in range(SEQUENTIAL):
        h = await _start(client, kind, n + i, run)
        await h.result()
        one.append(h)
    single = [(c - s) * 1000 for s, c in await _timings(one)]
    return {
        "documents": n,
        "docsPerSecond": n / window,
        "medianMsUnderLoad": statistics.median(lat),
        "p95MsUnderLoad": lat[int(0.95 * (len(lat) - 1))],
        "medianMsOneAtATime": statistics.median(single),
    }


def _worker_specs(address: str, tmp: Path) -> list[Any]:
    from docpipe.local.supervisor import ProcessSpec

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCPIPE_", "TEMPORAL_"))}
    env.update({"PYTHONUNBUFFERED": "1", "TEMPORAL_ADDRESS": address, "TEMPORAL_NAMESPACE": "default"})
    wf_env = {
        **env,
        "DOCPIPE_QUEUE_PREFIX": PREFIX,
        "DOCPIPE_STACK": STACK,
        "DOCPIPE_BUILD_ID": BUILD_ID,
        "DOCPIPE_SHUTDOWN_GRACE_SECONDS": "2",
    }
    specs = [
        ProcessSpec(
            "worker-workflow",
            [sys.executable, "-m", "docpipe.cli", "worker", "workflow"],
            wf_env,
            tmp / "worker-workflow.log",
            ready_text="docpipe worker workflow ready",
            cwd=ROOT,
        )
    ]
    for kind in (*ACTIVITY_ROLES, "floor"):
        specs.append(
            ProcessSpec(
                f"bench-{kind}",
                [sys.executable, __file__, "--serve", kind, "--address", address],
                env,
                tmp / f"bench-{kind}.log",
                ready_text=f"bench worker {kind} ready",
                cwd=ROOT,
            )
        )
    return specs


async def bench(n: int, rounds: int, address: str) -> dict[str, Any]:
    from temporalio.client import Client

    client = await Client.connect(address)
    for kind in ("floor", "pipeline"):  # warm-up: first tasks pay for caches and connections
        await measure_warmup(client, kind)
    results: dict[str, list[dict[str, float]]] = {"floor": [], "pipeline": []}
    for _ in range(rounds):
        for kind in ("floor", "pipeline"):  # alternate, so machine noise hits both alike
            results[kind].append(await measure(client, kind, n))
    best = {k: max(v, key=lambda r: r["docsPerSecond"]) for k, v in results.items()}
    mean = {k: statistics.mean(r["docsPerSecond"] for r in v) for k, v in results.items()}
    return {
        "rounds": results,
        "best": best,
        "throughputRatio": best["pipeline"]["docsPerSecond"] / best["floor"]["docsPerSecond"],
        "throughputRatioOfMeans": mean["pipeline"] / mean["floor"],
    }


async def measure_warmup(client: Any, kind: str) -> None:
    run = uuid.uuid4().hex[:8]
    handles = await asyncio.gather(*(_start(client, kind, i, run) for i in range(5)))
    await asyncio.gather(*(h.result() for h in handles))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve(args.serve, args.address))
        os._exit(0)  # see ENVIRONMENT-FACTS: a worker process may abort in interpreter finalisation

    from docpipe.local.services import FAST_SQLITE_PRAGMAS, TemporalDevServer
    from docpipe.local.supervisor import Supervisor

    t0 = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="docpipe-bench-") as tmp,
        TemporalDevServer(
            Path(tmp),
            sqlite_pragmas=FAST_SQLITE_PRAGMAS,  # the dev server as `docpipe dev` runs it, minus the UI
        ) as server,
    ):
        sup = Supervisor()
        specs = _worker_specs(server.address, Path(tmp))
        try:
            for spec in specs:
                sup.add(spec)
                sup.start(spec.name)
            sup.wait_ready([s.name for s in specs], 120)
            figures = asyncio.run(bench(args.documents, args.rounds, server.address))
        finally:
            sup.stop_all(5)
    figures["wallSeconds"] = time.monotonic() - t0
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"bench/pipeline.py: {args.documents} documents in flight, no-op activities, real dev server")
    print(f"{'':10} {'docs/s':>8} {'median ms':>10} {'p95 ms':>8} {'1-at-a-time median ms':>22}")
    for kind in ("floor", "pipeline"):
        for i, r in enumerate(figures["rounds"][kind]):
            print(
                f"{kind + f' #{i + 1}':10} {r['docsPerSecond']:8.1f} {r['medianMsUnderLoad']:10.0f} "
                f"{r['p95MsUnderLoad']:8.0f} {r['medianMsOneAtATime']:22.1f}"
            )
    b = figures["best"]
    overhead = b["pipeline"]["medianMsOneAtATime"] - b["floor"]["medianMsOneAtATime"]
    print(
        f"throughput ratio pipeline/floor: {figures['throughputRatio']:.2f}x best rounds, "
        f"{figures['throughputRatioOfMeans']:.2f}x mean of rounds (goal >= 0.8x)"
    )
    print(f"five-worker overhead per document, one at a time: {overhead:+.1f} ms median")
    print(f"wall time {figures['wallSeconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
