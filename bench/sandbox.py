"""local-sandbox benchmark: what one bubblewrap sandbox per program costs. Prints figures only.

    .venv/bin/python bench/sandbox.py

1. Worker start (interpreter inspection, ldd, the check run; a root worker's mirror if needed).
2. One trivial program (`result = 1`), sequentially: median and p95 wall time per program.
3. 20 started at once: programs per second.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workers.enrichment.local_sandbox import LocalSandbox, SandboxLimits

LIMITS = SandboxLimits(cpu_seconds=5, memory_mb=256, wall_seconds=30)
ELEMENTS = [{"type": "NarrativeText", "text": "x", "metadata": {}}]


async def main() -> None:
    t0 = time.perf_counter()
    sandbox = LocalSandbox(LIMITS)
    print(f"sandbox ready (worker start): {time.perf_counter() - t0:.2f} s")
    times = []
    for _ in range(20):
        t = time.perf_counter()
        await sandbox.run("result = 1", ELEMENTS)
        times.append(time.perf_counter() - t)
    times.sort()
    print(
        f"one program, 20 in a row: median {statistics.median(times) * 1000:.0f} ms, "
        f"p95 {times[18] * 1000:.0f} ms"
    )
    t = time.perf_counter()
    await asyncio.gather(*(sandbox.run("result = 1", ELEMENTS) for _ in range(20)))
    print(f"20 programs, all at once: {20 / (time.perf_counter() - t):.1f} programs/s")


if __name__ == "__main__":
    asyncio.run(main())
