"""Valkey: cache by content hash, a semaphore shared by workers, and carrying on when it is gone."""

from __future__ import annotations

import asyncio
import logging

import pytest

from docpipe.local.services import free_port
from workers.cache import Cache

pytestmark = pytest.mark.services


async def test_cache_round_trip(valkey):
    cache = Cache(valkey.url, prefix="t-cache")
    assert await cache.get_json("extract:local", "abc") is None
    await cache.set_json("extract:local", "abc", {"elements": [1, 2]})
    assert await cache.get_json("extract:local", "abc") == {"elements": [1, 2]}
    await cache.close()


async def test_semaphore_caps_concurrent_holders_across_clients(valkey):
    caches = [Cache(valkey.url, prefix="t-sem") for _ in range(4)]  # as if four workers
    inside, peak = 0, 0

    async def hold(cache: Cache) -> None:
        nonlocal inside, peak
        async with cache.slot("sandboxes", limit=2):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.2)
            inside -= 1

    await asyncio.gather(*(hold(c) for c in caches for _ in range(2)))
    assert peak == 2
    for c in caches:
        await c.close()


async def test_unreachable_valkey_degrades_and_logs_once(caplog: pytest.LogCaptureFixture):
    cache = Cache(f"valkey://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING, logger="workers.cache"):
        assert await cache.get_json("x", "k") is None
        await cache.set_json("x", "k", 1)
        async with cache.slot("model-calls", 1):
            pass
    warnings = [r for r in caplog.records if "Valkey unavailable" in r.getMessage()]
    assert len(warnings) == 1
    await cache.close()


async def test_no_url_means_no_cache_and_no_cap():
    cache = Cache(None)
    await cache.set_json("x", "k", 1)
    assert await cache.get_json("x", "k") is None
    async with cache.slot("s", 1), cache.slot("s", 1):
        pass


HOLDER = """
import asyncio, sys
from workers.cache import Cache

async def main():
    async with Cache(sys.argv[1], prefix="t-dead").slot("model-calls", 1, lease_seconds=float(sys.argv[2])):
        print("held", flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_a_slot_of_a_killed_worker_frees_after_its_lease_and_a_live_holder_keeps_it(valkey):
    import signal
    import subprocess
    import sys
    import time

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, valkey.url, "1.5"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        cache = Cache(valkey.url, prefix="t-dead")
        # Alive and renewing: the slot stays taken well past its lease.
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(4), cache.slot("model-calls", 1, lease_seconds=1.5):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    started = time.monotonic()
    async with asyncio.timeout(10), cache.slot("model-calls", 1, lease_seconds=1.5):
        freed_after = time.monotonic() - started
    assert freed_after < 10
    await cache.close()
