"""Benchmark: `docpipe dev` at scale, against the bare-Temporal floor, and its start/stop times.

  scale   `docpipe dev DIR --json` on N generated tiny documents (fresh data dir, live view on: its
          stderr is a pseudo-terminal, so the rich table runs), then every outcome checked against
          PostgreSQL: lost = documents without a row, misreported = outcome ≠ row status.
          Prints documents/s (first start → last outcome, from the run's JSON), Temporal calls the
          progress view made, CPU seconds per document and peak RSS per process (sampled).
  floor   the same dev server (same flags), one worker process, a bare workflow running four no-op
          activities on one task queue; N workflows started 8 at a time; documents/s from the
          first start to the last close (server times). Printed beside the scale figure with the
          ratio, and the server's CPU per document in both.
  start   `docpipe dev` on samples/: cold (fresh data dir) and warm (everything already stored),
          interleaved rounds, wall time of the whole process (median, min–max).

    .venv/bin/python bench/dev_scale.py [--documents 200,1000] [--kind memo|table]
        [--no-floor] [--start-rounds 5] [--no-start] [--json]

Load matters on a shared machine: `uptime` is printed beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pty
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(os.path.dirname(os.path.dirname(__file__)))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _floor import FLOOR_QUEUE, BenchFloorWorkflow, floor_step  # noqa: E402


async def _floor_worker(address: str) -> None:
    import signal

    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(address)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    worker = Worker(client, task_queue=FLOOR_QUEUE, workflows=[BenchFloorWorkflow], activities=[floor_step])
    async with worker:
        print("floor worker ready", flush=True)
        await stop.wait()


async def _run_floor(address: str, n: int) -> float:
    from temporalio.client import Client

    client = await Client.connect(address)
    starts = asyncio.Semaphore(8)
    tag = f"floor-{time.time_ns()}"

    async def start(i: int) -> None:
        async with starts:
            await client.start_workflow(BenchFloorWorkflow.run, "x", id=f"{tag}-{i}", task_queue=FLOOR_QUEUE)

    await asyncio.gather(*(start(i) for i in range(n)))
    query = f'WorkflowType = "BenchFloorWorkflow" AND WorkflowId STARTS_WITH "{tag}"'
    while (await client.count_workflows(query + ' AND ExecutionStatus = "Completed"')).count < n:
        await asyncio.sleep(0.2)
    first = last = None
    async for wf in client.list_workflows(query):
        first = wf.start_time if first is None or wf.start_time < first else first
        if wf.close_time is not None:
            last = wf.close_time if last is None or wf.close_time > last else last
    assert first is not None and last is not None
    return n / (last - first).total_seconds()


def floor(n: int) -> dict[str, Any]:
    import psutil

    from docpipe.local.services import FAST_SQLITE_PRAGMAS, TemporalDevServer

    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        server = TemporalDevServer(Path(tmp), headless=False, sqlite_pragmas=FAST_SQLITE_PRAGMAS).start()
        worker = subprocess.Popen(
            [sys.executable, __file__, "--floor-worker", server.address], stdout=subprocess.PIPE, text=True
        )
        try:
            assert worker.stdout is not None and "ready" in worker.stdout.readline()
            assert server.pid is not None
            proc = psutil.Process(server.pid)
            cpu0 = sum(proc.cpu_times()[:2])
            docs_per_s = asyncio.run(_run_floor(server.address, n))
            cpu = sum(proc.cpu_times()[:2]) - cpu0
        finally:
            worker.terminate()
            worker.wait(30)
            server.stop(kill=True)
    return {"documents": n, "docsPerSecond": round(docs_per_s, 2), "serverCpuPerDoc": round(cpu / n, 4)}


# --- docpipe dev at scale ---------------------------------------------------------------------------

_TABLE = "| item | amount |\n|---|---|\n| flour | {a} |\n| sugar | {b} |\n"


def make_documents(directory: Path, n: int, kind: str) -> None:
    """`memo`: plain memos (extraction, analysis, storage); `table`: markdown with a numeric table,
    which the heuristic analyser sends through enrichment too (four activities, like the floor)."""
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        if kind == "memo":
            text = f"MEMO\n\nTo: All shop managers\nSubject: rota {i}\n\nPlease send the rota for week {i}.\n"
            (directory / f"memo-{i:05d}.txt").write_text(text)
        else:
            text = f"# Order {i}\n\n" + _TABLE.format(a=i, b=i + 1)
            (directory / f"order-{i:05d}.md").write_text(text)


def _role_of(p: Any) -> str:
    try:
        cmd = p.cmdline()
    except Exception:
        return "?"
    text = " ".join(cmd)
    if "start-dev" in text:
        return "temporal"
    if " worker " in f" {text} " and "docpipe.cli" in text:
        return f"worker-{cmd[-1]}"
    if "postgres" in text:
        return "postgres"
    if "valkey" in text:
        return "valkey"
    if "docpipe.cli" in text and " dev" in text:
        return "docpipe-dev"
    return p.name()


class Sampler:
    """Peak RSS and CPU seconds per process (by role) of a process tree, sampled every 0.2 s."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.rss: dict[str, int] = {}
        self.cpu: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except Exception:
                return
            for p in procs:
                try:
                    # A role is named at first sight: an exited process (a zombie) has no cmdline.
                    role = self.cpu[p.pid][0] if p.pid in self.cpu else _role_of(p)
                    if role == "?":
                        continue
                    if role == "postgres":
                        role = "postgres (all)"
                    elif role.startswith("python"):
                        role = "sandboxes (all)"  # the enrichment worker's programs
                    mem = p.memory_info().rss
                    t = p.cpu_times()
                    self.cpu[p.pid] = (role, t.user + t.system)
                except Exception:
                    continue
                self.rss[role] = max(self.rss.get(role, 0), mem)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def cpu_by_role(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for role, seconds in self.cpu.values():
            out[role] = out.get(role, 0.0) + seconds
        return out


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCPIPE_", "TEMPORAL_"))}
    env["DOCPIPE_HOME"] = str(home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _count_rows(home: Path) -> dict[str, str]:
    """sha256 → status of every row, read with the data dir's own PostgreSQL."""
    import psycopg

    from docpipe.local.services import Postgres

    pg = Postgres(home / "postgres").start()
    try:
        with psycopg.connect(pg.url) as conn:
            return dict(conn.execute("SELECT sha256, status FROM documents").fetchall())  # type: ignore[arg-type]
    finally:
        pg.stop()


def scale(n: int, kind: str, live: bool = True) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-dev-") as tmp:
        docs, home = Path(tmp) / "docs", Path(tmp) / "home"
        make_documents(docs, n, kind)
        master, slave = pty.openpty() if live else (None, None)
        err: Any = slave if live else subprocess.DEVNULL
        t0 = time.monotonic()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.Popen(
            [sys.executable, "-m", "docpipe.cli", "dev", str(docs), "--json"],
            cwd=ROOT,
            env=_env(home),
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        if slave is not None:
            os.close(slave)

        tail = bytearray()

        def drain() -> None:  # the live view writes to the terminal: keep reading it
            assert master is not None
            try:
                while chunk := os.read(master, 65536):
                    tail.extend(chunk)
                    del tail[:-8192]
            except OSError:
                pass

        reader = threading.Thread(target=drain, daemon=True)
        if master is not None:
            reader.start()
        sampler = Sampler(proc.pid)
        out, _ = proc.communicate(timeout=7200)
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        sampler.stop()
        if master is not None:
            reader.join(5)
            os.close(master)
        if proc.returncode not in {0, 1} or not out:
            raise SystemExit(
                f"docpipe dev exited {proc.returncode}:\n{tail.decode(errors='replace')[-3000:]}"
            )
        result = json.loads(out)
        rows = _count_rows(home)
    outcomes = {d["sha256"]: d["outcome"] for d in result["documents"]}
    lost = sum(1 for sha in outcomes if sha not in rows)
    misreported = sum(
        1
        for sha, outcome in outcomes.items()
        if (sha in rows and (outcome == "stored") != (rows[sha] == "stored"))
        or (sha not in rows and outcome in {"stored", "failed"})
    )
    seconds = result["pipelineSeconds"]
    cpu = sampler.cpu_by_role()
    return {
        "documents": n,
        "kind": kind,
        "docsPerSecond": round(n / seconds, 2),
        "pipelineSeconds": seconds,
        "wallSeconds": round(wall, 2),
        "stored": sum(v == "stored" for v in outcomes.values()),
        "rows": len(rows),
        "lost": lost,
        "misreported": misreported,
        "temporalCalls": result.get("temporalCalls"),
        # Every process of the run (each was waited for by its parent), start-up and stop included.
        "cpuPerDocTotal": round((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / n, 4),
        # Sampled every 0.2 s: right for the long-lived processes, low for short-lived sandboxes.
        "cpuPerDoc": {k: round(v / n, 4) for k, v in sorted(cpu.items())},
        "peakRssMb": {k: round(v / 2**20) for k, v in sorted(sampler.rss.items())},
        "exit": proc.returncode,
    }


# --- start / stop on the samples ------------------------------------------------------------------


def start_times(rounds: int) -> dict[str, Any]:
    cold: list[float] = []
    warm: list[float] = []
    for _ in range(rounds):
        home = Path(tempfile.mkdtemp(prefix="bench-start-")) / "home"
        try:
            for bucket in (cold, warm):
                t0 = time.monotonic()
                done = subprocess.run(
                    [sys.executable, "-m", "docpipe.cli", "dev"],
                    cwd=ROOT,
                    env=_env(home),
                    capture_output=True,
                    timeout=300,
                    check=False,
                )
                bucket.append(time.monotonic() - t0)
                if done.returncode != 0:
                    raise SystemExit(f"docpipe dev exited {done.returncode}:\n{done.stdout.decode()[-2000:]}")
        finally:
            shutil.rmtree(home.parent, ignore_errors=True)

    def figures(xs: list[float]) -> dict[str, float]:
        return {"median": round(statistics.median(xs), 2), "min": round(min(xs), 2), "max": round(max(xs), 2)}

    return {"rounds": rounds, "cold": figures(cold), "warm": figures(warm)}


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--documents", default="200,1000", help="comma-separated document counts (0: none)")
    ap.add_argument("--kind", choices=["memo", "table"], default="table")
    ap.add_argument("--no-floor", action="store_true")
    ap.add_argument("--no-start", action="store_true")
    ap.add_argument("--no-live", action="store_true", help="plain output instead of the live view")
    ap.add_argument("--start-rounds", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--floor-worker", metavar="ADDRESS", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.floor_worker:
        asyncio.run(_floor_worker(args.floor_worker))
        sys.stdout.flush()
        os._exit(0)  # a process that ran a worker can abort in finalisation (ENVIRONMENT-FACTS)
    report: dict[str, Any] = {"scale": [], "floor": {}}
    for n in [int(x) for x in args.documents.split(",") if x.strip() and int(x) > 0]:
        load = _load()
        s = scale(n, args.kind, live=not args.no_live)
        s["load"] = load
        report["scale"].append(s)
        line = (
            f"dev {n:>6} {args.kind:<5} {s['docsPerSecond']:7.2f} docs/s  lost {s['lost']} "
            f"misreported {s['misreported']}  rows {s['rows']}  calls {s['temporalCalls']}  load {load}"
        )
        if not args.no_floor:
            f = floor(n)
            f["load"] = _load()
            report["floor"][n] = f
            ratio = s["docsPerSecond"] / f["docsPerSecond"]
            line += (
                f"\n      floor {f['docsPerSecond']:7.2f} docs/s  ratio {ratio:.2f}"
                f"  server CPU/doc {s['cpuPerDoc'].get('temporal', 0):.4f} s vs floor "
                f"{f['serverCpuPerDoc']:.4f} s"
            )
        if not args.json:
            print(line, flush=True)
            print(
                f"      CPU s/doc: all processes {s['cpuPerDocTotal']}, sampled {s['cpuPerDoc']}", flush=True
            )
            print(f"      peak RSS MB: {s['peakRssMb']}", flush=True)
    if not args.no_start:
        load = _load()
        st = start_times(args.start_rounds)
        st["load"] = load
        report["start"] = st
        if not args.json:
            c, w = st["cold"], st["warm"]
            print(
                f"start on samples/ ({st['rounds']} rounds): cold {c['median']:.2f} s "
                f"({c['min']:.2f}–{c['max']:.2f}), warm {w['median']:.2f} s ({w['min']:.2f}–{w['max']:.2f})"
                f"  load {load}"
            )
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
