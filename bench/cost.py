"""Cost-model benchmarks against floors: prints figures, asserts nothing.

    .venv/bin/python bench/cost.py [--rounds 5]

1. `docpipe cost --stack prod` and `docpipe recommend --files-per-day 300` as a user runs them
   (fresh processes), beside their floor: a process that imports the same modules and reads the
   same files (price book, stack files, build context) as that command did, then leaves via
   os._exit. What is above the floor is the computation, validation and printing. Interleaved
   rounds; median (min-max), CPU seconds and peak RSS from wait4.
2. In-process: `recommend` over every placement (goal < 1 s) and 30 simulated days at 500
   files/day through the prod stack's placement (goal < 10 s), median (min-max) of the rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from _measure import ROOT, interleaved, load, spread

sys.path.insert(0, str(ROOT))

from docpipe.cost.placements import default_config
from docpipe.cost.recommend import recommend
from docpipe.cost.simulate import simulate
from docpipe.stackfile import load_stack
from workers.contract import ROLES

T = TypeVar("T")
COMMANDS = {  # label: argv of `docpipe`
    "cost --stack prod": ["cost", "--stack", "prod"],
    "recommend --files-per-day 300": ["recommend", "--files-per-day", "300"],
}
# Runs a command in-process and records what it imported and which files it read (audit hook).
RECORD = """
import json, os, sys
read = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and (args[1] in (None, "r", "rb")):
        if os.path.isfile(args[0]) and not args[0].endswith((".py", ".pyc", ".so")):
            read.append(os.path.abspath(args[0]))
sys.addaudithook(hook)
from docpipe.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    json.dump({"modules": list(sys.modules), "files": list(dict.fromkeys(read))}, f)
sys.exit(code)
"""
FLOOR = """
import importlib, json, os, sys
spec = json.load(open(sys.argv[1]))
for name in spec["modules"]:
    try:
        importlib.import_module(name)
    except Exception:
        pass  # a module that only imports as a side effect of its parent (or __main__)
for path in spec["files"]:
    with open(path, "rb") as f:
        f.read()
os._exit(0)
"""


def _record(argv: list[str], out: Path) -> dict[str, int]:
    subprocess.run([sys.executable, "-c", RECORD, str(out), *argv], cwd=ROOT, check=True, capture_output=True)
    spec = json.loads(out.read_text())
    return {"modules": len(spec["modules"]), "files": len(spec["files"])}


def timed(fn: Callable[[], T], repeat: int) -> tuple[list[float], T]:
    times: list[float] = []
    result: T | None = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    assert result is not None
    return times, result


def processes(rounds: int, tmp: Path) -> None:
    commands: dict[str, list[str]] = {}
    sizes: dict[str, dict[str, int]] = {}
    for label, argv in COMMANDS.items():
        spec = tmp / f"{argv[0]}.json"
        sizes[label] = _record(argv, spec)
        commands[f"{label}: floor"] = [sys.executable, "-c", FLOOR, str(spec)]
        commands[label] = [sys.executable, "-m", "docpipe.cli", *argv]
    before = load()
    runs = interleaved(commands, rounds)
    print(f"commands: wall s, median (min-max) of {rounds} interleaved rounds; load {before} -> {load()}")
    for label in COMMANDS:
        print(
            f"{label}  (floor: {sizes[label]['modules']} modules imported, "
            f"{sizes[label]['files']} files read)"
        )
        floor = runs[f"{label}: floor"]
        floor_wall = statistics.median(r.wall for r in floor)
        floor_cpu = statistics.median(r.cpu for r in floor)
        print(f"  {'':8} {'wall s':>17} {'x floor':>7} {'cpu s':>5} {'cpu x':>5} {'MB':>4}")
        for name, rs in (("floor", floor), ("command", runs[label])):
            wall = statistics.median(r.wall for r in rs)
            cpu = statistics.median(r.cpu for r in rs)
            print(
                f"  {name:8} {spread([r.wall for r in rs]):>17} {wall / floor_wall:7.2f} "
                f"{cpu:5.2f} {cpu / floor_cpu:5.2f} {statistics.median(r.rss_mb for r in rs):4.0f}"
            )


def in_process(rounds: int) -> None:
    recommend(default_config(10))  # warm: price book parsed once per process
    print(f"in-process, median (min-max) of {rounds} rounds; load {load()}")
    print(f"recommend (goal < 1000 ms); best placement of {'/'.join(ROLES)}:")
    for files in (10, 300, 2000):
        times, rec = timed(lambda f=files: recommend(default_config(f)), rounds)
        ms = [t * 1000 for t in times]
        per = statistics.median(ms) / rec.searched
        print(f"  {files:>4}/day: {rec.searched} placements {spread(ms, '.0f')} ms, {per:.2f} ms each")
        print(
            f"  {'':9} {rec.best.total_monthly_usd:.2f} USD/month: "
            f"{'/'.join(rec.best.placement[r] for r in ROLES)}"
        )
    config, _ = load_stack("prod", root=ROOT, overrides=["traffic.filesPerDay=500"], placeholder_secrets=True)
    for profile in ("steady", "diurnal", "bursty"):
        times, result = timed(lambda p=profile: simulate(config, days=30, profile=p, seed=1), rounds)
        print(f"simulate 30 d x 500/day {profile:7}: {result.files:,} files {spread(times)} s (goal < 10 s)")
        print(
            f"  {result.total_monthly_usd:.2f} USD/month (closed form "
            f"{result.estimate.total_monthly_usd:.2f}); latency p50/p95/p99 "
            f"{result.latency_p50:,.0f}/{result.latency_p95:,.0f}/{result.latency_p99:,.0f} s"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="docpipe-bench-cost-") as tmp:
        processes(args.rounds, Path(tmp))
    in_process(args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
