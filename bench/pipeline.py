"""Benchmark: what five role workers cost in orchestration, against a one-queue floor.

On the real Temporal dev server, with instant no-op activities (so every millisecond is orchestration):

  pipeline  DocumentPipelineWorkflow on the real `docpipe worker workflow` process; extraction,
            analysis, enrichment and storage each on its own queue, served by its own process that
            registers a no-op function under the real activity name (with the real worker options
            and Worker Deployment versioning) — five worker processes, as `docpipe dev` runs them.
  floor     a bare workflow running four no-op activities, one worker process, one task queue.

For each size N: documents/s with N documents in flight at once (first start → last close, server
times), median and p95 start→close per document under that load, and the median for one document
at a time (the orchestration overhead a single document pays). Floor and pipeline rounds alternate
(≥ 5 by default) so machine noise hits both alike; each figure is the median (min-max) of the
rounds, and the ratio is pipeline/floor of the medians (goal ≥ 0.85). Per process (the dev server,
each worker, this client): CPU seconds per document while the N documents ran, and peak RSS during
that size's rounds. The load average is printed beside each size: compare quiet runs only.

    .venv/bin/python bench/pipeline.py [--documents 200 1000] [--rounds 5] [--json]
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(os.path.dirname(os.path.dirname(__file__)))  # __file__ is absolute since Python 3.9
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _floor import FLOOR_QUEUE, BenchFloorWorkflow, floor_step  # noqa: E402
from temporalio import activity  # noqa: E402

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
ACTIVITY_ROLES = ("extraction", "analysis", "enrichment", "storage")
SEQUENTIAL = 20  # documents run one at a time for the unloaded overhead
GOAL = 0.85  # pipeline / floor throughput (issue 18)


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
        worker = Worker(
            client, task_queue=FLOOR_QUEUE, workflows=[BenchFloorWorkflow], activities=[floor_step]
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


class Processes:
    """CPU seconds and peak RSS of the bench's processes (psutil if installed, else /proc)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        try:
            import psutil

            self._ps: dict[str, Any] | None = {n: psutil.Process(p) for n, p in pids.items()}
        except ImportError:
            self._ps = None

    def cpu(self) -> dict[str, float]:
        """user + system seconds so far, per process (this one as "client")."""
        out: dict[str, float] = {}
        for name, pid in self.pids.items():
            if self._ps is not None:
                t = self._ps[name].cpu_times()
                out[name] = t.user + t.system
            else:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                out[name] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        t = os.times()
        out["client"] = t.user + t.system
        return out

    def reset_peaks(self) -> bool:
        """Restart each process's peak-RSS count (Linux clear_refs); False where that is refused."""
        ok = True
        for pid in [*self.pids.values(), os.getpid()]:
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                ok = False
        return ok

    def peak_mb(self) -> dict[str, float]:
        """Peak RSS since the last reset (VmHWM); psutil's current RSS where /proc has none."""
        out: dict[str, float] = {}
        for name, pid in self.pids.items():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
                out[name] = kb / 1024
            except (OSError, StopIteration):
                out[name] = self._ps[name].memory_info().rss / 2**20 if self._ps is not None else float("nan")
        status = Path("/proc/self/status")
        if status.exists():
            kb = next(int(x.split()[1]) for x in status.read_text().splitlines() if x.startswith("VmHWM:"))
            out["client"] = kb / 1024
        else:
            import resource

            out["client"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # since start
        return out


async def measure(client: Any, kind: str, n: int, procs: Processes) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    before = procs.cpu()
    handles = await asyncio.gather(*(_start(client, kind, i, run) for i in range(n)))
    await asyncio.gather(*(h.result() for h in handles))
    after = procs.cpu()
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
        "cpuSecondsPerDocument": {k: (after[k] - before[k]) / n for k in after},
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


# The processes each kind runs on (the server and this client serve both).
KIND_PROCESSES = {
    "floor": ("temporal server", "bench-floor", "client"),
    "pipeline": ("temporal server", "worker-workflow", *(f"bench-{r}" for r in ACTIVITY_ROLES), "client"),
}


async def bench(
    sizes: list[int], rounds: int, address: str, procs: Processes, done: Callable[[str, dict[str, Any]], None]
) -> dict[str, Any]:
    """Every size's rounds; `done(n, figures)` as each size finishes (a long run reports as it goes)."""
    from temporalio.client import Client

    client = await Client.connect(address)
    for kind in ("floor", "pipeline"):  # warm-up: first tasks pay for caches and connections
        await measure_warmup(client, kind)
    out: dict[str, Any] = {}
    for n in sizes:
        load_before = os.getloadavg()[0]
        peaks_reset = procs.reset_peaks()
        results: dict[str, list[dict[str, Any]]] = {"floor": [], "pipeline": []}
        for _ in range(rounds):
            for kind in ("floor", "pipeline"):  # alternate, so machine noise hits both alike
                results[kind].append(await measure(client, kind, n, procs))
        rates = {k: [r["docsPerSecond"] for r in v] for k, v in results.items()}
        out[str(n)] = {
            "rounds": results,
            "medianDocsPerSecond": {k: statistics.median(v) for k, v in rates.items()},
            "throughputRatio": statistics.median(rates["pipeline"]) / statistics.median(rates["floor"]),
            "cpuSecondsPerDocument": {
                kind: {
                    p: statistics.median(r["cpuSecondsPerDocument"][p] for r in results[kind])
                    for p in KIND_PROCESSES[kind]
                }
                for kind in results
            },
            "peakRssMb": procs.peak_mb(),
            "peakRssSinceStart": not peaks_reset,
            "load": [load_before, os.getloadavg()[0]],
        }
        done(str(n), out[str(n)])
    return out


async def measure_warmup(client: Any, kind: str) -> None:
    run = uuid.uuid4().hex[:8]
    handles = await asyncio.gather(*(_start(client, kind, i, run) for i in range(5)))
    await asyncio.gather(*(h.result() for h in handles))


def _spread(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def report_size(n: str, f: dict[str, Any]) -> None:
    print()
    print(f"{n} documents in flight (load {f['load'][0]:.2f} -> {f['load'][1]:.2f})")
    print(f"  {'':9} {'docs/s':>19} {'median ms':>9} {'p95 ms':>7} {'1-at-a-time ms':>14}")
    for kind in ("floor", "pipeline"):
        rs = f["rounds"][kind]
        print(
            f"  {kind:9} {_spread([r['docsPerSecond'] for r in rs], '.1f'):>19} "
            f"{statistics.median(r['medianMsUnderLoad'] for r in rs):9.0f} "
            f"{statistics.median(r['p95MsUnderLoad'] for r in rs):7.0f} "
            f"{statistics.median(r['medianMsOneAtATime'] for r in rs):14.1f}"
        )
    print(f"  ratio pipeline/floor of the medians: {f['throughputRatio']:.2f}x (goal >= {GOAL}x)")
    since = " (since start)" if f["peakRssSinceStart"] else ""
    print(f"  CPU s per document (median of rounds) and peak RSS{since}, per process:")
    print(f"  {'process':20} {'floor':>8} {'pipeline':>8} {'peak MB':>8}")
    cpu = f["cpuSecondsPerDocument"]
    names = dict.fromkeys([*KIND_PROCESSES["floor"], *KIND_PROCESSES["pipeline"]])
    for name in names:
        cells = [f"{cpu[k][name]:8.4f}" if name in cpu[k] else f"{'-':>8}" for k in ("floor", "pipeline")]
        print(f"  {name:20} {cells[0]} {cells[1]} {f['peakRssMb'][name]:8.0f}")
    totals = [sum(cpu[k].values()) for k in ("floor", "pipeline")]
    print(f"  {'total':20} {totals[0]:8.4f} {totals[1]:8.4f}", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, nargs="+", default=[200], metavar="N", help="e.g. 200 1000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        from workers.process import leave

        asyncio.run(serve(args.serve, args.address))
        leave(0)  # the shared exit path: a worker process may abort in interpreter finalisation

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
            assert server.pid is not None
            procs = Processes({"temporal server": server.pid, **sup.pids()})
            if not args.json:
                print(f"bench/pipeline.py: no-op activities, real dev server, {args.rounds} rounds")
                print("docs/s: documents in flight / (last close - first start), median (min-max)")
            done = (lambda n, f: None) if args.json else report_size
            sizes = asyncio.run(bench(args.documents, args.rounds, server.address, procs, done))
        finally:
            sup.stop_all(5)
    figures: dict[str, Any] = {"sizes": sizes, "wallSeconds": time.monotonic() - t0}
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"\nwall time {figures['wallSeconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
