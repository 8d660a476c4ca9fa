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
