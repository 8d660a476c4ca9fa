"""Benchmark `docpipe plan` against its floor (issue 18; goal: prod <= 1.3x the floor).

Each figure is the wall time of a fresh process as a user runs it (`python -m docpipe.cli plan`:
Python start, the provider SDK imports, validation, the program under mocks, printing, exit).

The floor is what no plan can avoid: a process importing the provider class of every resource
type the plan declares, plus the other Pulumi modules the plan process loads (mocks, docker,
random, temporalcloud, policy), then leaving via os._exit. Both lists are taken from a real
plan run in this process. "floor, GC off" is the same process with the cyclic GC disabled first.

Rounds are interleaved (floor, then every case, repeated) so machine noise hits all alike; each
figure is the median with min-max over the rounds, with CPU seconds and peak RSS of the process
(from wait4). The load average before and after is printed: compare figures from quiet runs.
Bytecode caching is allowed (PYTHONDONTWRITEBYTECODE is dropped for the subprocesses): without
it every process recompiles the provider SDKs (~10-20 s).

    .venv/bin/python bench/plan.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from _measure import ROOT, interleaved, load, spread

sys.path.insert(0, str(ROOT))

GOAL = 1.3  # prod plan / floor
CASES: list[tuple[str, list[str]]] = [
    ("dev", []),
    ("prod", []),
    ("prod", ["--set", "activities.extraction.target=ec2"]),
]
FLOOR = """
import gc, importlib, os, sys
if sys.argv[1] == "off":
    gc.disable()
for spec in sys.argv[2:]:
    module, _, attr = spec.partition(":")
    obj = importlib.import_module(module)
    if attr:
        getattr(obj, attr)
sys.stdout.flush()
os._exit(0)
"""


def _provider_module(type_token: str) -> str | None:
    """`aws:ec2/securityGroup:SecurityGroup` -> `pulumi_aws.ec2:SecurityGroup` (None: a component)."""
    try:
        package, path, cls = type_token.split(":")
    except ValueError:
        return None
    module = path.split("/")[0]
    base = f"pulumi_{package}"
    try:
        __import__(base)
    except ImportError:
        return None  # the program's own component types (docpipe:...)
    if module == "index":
        return f"{base}:{cls}"
    if module in {"lambda", "import", "global"}:  # Python keywords get a trailing underscore
        module += "_"
    return f"{base}.{module}:{cls}"


def floor_specs() -> tuple[list[str], dict[str, int]]:
    """What the floor process imports, from one in-process `docpipe plan --stack prod`."""
    from docpipe.cli.plan import build_view, render

    view = build_view("prod", [])
    render(view)  # the policy section loads the policy modules
    specs = sorted({s for r in view.result.resources if r.custom and (s := _provider_module(r.type))})
    # The other Pulumi modules the plan loads: the mocks, and every provider package's top level.
    packages = sorted(m for m in sys.modules if m.startswith("pulumi_") and "." not in m)
    extra = ["pulumi.runtime.mocks", *packages]
    counts = {"resource types": len(specs), "resources": len(view.result.resources)}
    return specs + extra, counts


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    specs, counts = floor_specs()
    load_before = load()
    commands: dict[str, list[str]] = {
        "floor": [sys.executable, "-c", FLOOR, "on", *specs],
        "floor, GC off": [sys.executable, "-c", FLOOR, "off", *specs],
    }
    for stack, extra in CASES:
        # "plan prod (extraction=ec2)" for --set activities.extraction.target=ec2
        change = [e.removeprefix("activities.").replace(".target", "") for e in extra[1::2]]
        label = f"plan {stack}" + (f" ({', '.join(change)})" if change else "")
        commands[label] = [sys.executable, "-m", "docpipe.cli", "plan", "--stack", stack, *extra]
    runs = interleaved(commands, args.rounds)

    floor = statistics.median(r.wall for r in runs["floor"])
    floor_off = statistics.median(r.wall for r in runs["floor, GC off"])
    print(
        f"docpipe plan: wall s, median (min-max) of {args.rounds} interleaved rounds; "
        f"load {load_before} -> {load()}"
    )
    print(
        f"floor: {len(specs)} imports ({counts['resource types']} resource types of "
        f"{counts['resources']} resources + mocks/providers), os._exit"
    )
    floor_cpu = statistics.median(r.cpu for r in runs["floor"])
    print(f"{'':28} {'wall s':>18} {'xfloor':>6} {'xGCoff':>6} {'cpu s':>5} {'cpu x':>5} {'MB':>4}")
    for label, rs in runs.items():
        wall = statistics.median(r.wall for r in rs)
        cpu = statistics.median(r.cpu for r in rs)
        print(
            f"{label[:28]:28} {spread([r.wall for r in rs]):>18} {wall / floor:6.2f} "
            f"{wall / floor_off:6.2f} {cpu:5.2f} {cpu / floor_cpu:5.2f} "
            f"{statistics.median(r.rss_mb for r in rs):4.0f}"
        )
    prod = statistics.median(r.wall for r in runs["plan prod"])
    verdict = "ok" if prod <= GOAL * floor else "over goal"
    prod_cpu = statistics.median(r.cpu for r in runs["plan prod"])
    print(f"plan prod / floor (wall): {prod / floor:.2f}x (goal <= {GOAL}x): {verdict}")
    print(f"plan prod / floor (CPU):  {prod_cpu / floor_cpu:.2f}x")
    print("(x = median / floor median; under load, trust the CPU ratio over the wall one)")

    from docpipe.stackfile import load_stack
    from infra.offline import run_offline

    print("program under mocks, in-process, everything imported (what a test pays):")
    for stack in ("dev", "prod"):
        _, flat = load_stack(stack, root=ROOT, placeholder_secrets=True)
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            result = run_offline(flat, stack)
            times.append(time.perf_counter() - start)
        print(f"  {stack:5} ({len(result.resources)} resources) {spread(times)} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
