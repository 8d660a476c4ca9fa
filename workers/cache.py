"""Valkey: a result cache by content hash and a distributed semaphore (a runtime cost guard).

Valkey is optional. With no URL, or when the server cannot be reached, every call degrades to "no
cache, no cap" and the first failure is logged once per process: losing Valkey never fails a document.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

logger = logging.getLogger(__name__)

# Acquire a slot atomically: forget holders whose lease ran out, then join only if below the limit.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[3])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


class Cache:
    """Cache and semaphore on Valkey; `Cache(None)` is the no-op used when no Valkey is configured."""

    def __init__(
        self,
        url: str | None,
        prefix: str = "docpipe",
        ttl_seconds: int = 7 * 86400,
        password: str | None = None,
    ) -> None:
        self._url = url
        self._password = password
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._client: Any = None
        self._warned = False

    def _conn(self) -> Any:
        if self._client is None and self._url:
            import valkey.asyncio as valkey  # lazy: a worker without Valkey never imports it

            self._client = valkey.from_url(
                self._url, password=self._password, socket_connect_timeout=2, socket_timeout=5
            )
        return self._client

    def _degraded(self, err: Exception) -> None:
        if not self._warned:
            self._warned = True
            logger.warning("Valkey unavailable (%s); carrying on without cache or caps", type(err).__name__)

    async def get_json(self, namespace: str, key: str) -> Any | None:
        conn = self._conn()
        if conn is None:
            return None
        try:
            raw = await conn.get(f"{self._prefix}:{namespace}:{key}")
        except Exception as err:  # any Valkey fault degrades to a cache miss
            self._degraded(err)
            return None
        return None if raw is None else json.loads(raw)

    async def set_json(self, namespace: str, key: str, value: Any) -> None:
        conn = self._conn()
        if conn is None:
            return
        try:
            await conn.set(f"{self._prefix}:{namespace}:{key}", json.dumps(value), ex=self._ttl)
        except Exception as err:
            self._degraded(err)

    @asynccontextmanager
    async def slot(self, name: str, limit: int, lease_seconds: float = 30) -> AsyncIterator[None]:
        """Hold one of `limit` slots of semaphore `name` across all workers sharing this Valkey.

        The lease is short and renewed while held, so a worker killed while holding a slot frees it
        within `lease_seconds`. Callers that may wait here should be heartbeating already.
        """
        conn = self._conn()
        key, token, acquired = f"{self._prefix}:sem:{name}", uuid.uuid4().hex, False
        lease_ms = int(lease_seconds * 1000)
        if conn is not None:
            delay = 0.05
            while True:
                try:
                    got = await conn.eval(_ACQUIRE, 1, key, _now_ms(), token, lease_ms, limit)
                except Exception as err:
                    self._degraded(err)
                    break
                if got:
                    acquired = True
                    break
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
        renew = asyncio.create_task(self._renew(key, token, lease_seconds)) if acquired else None
        try:
            yield
        finally:
            if renew is not None:
                renew.cancel()
                try:
                    await conn.zrem(key, token)
                except Exception as err:
                    self._degraded(err)

    async def _renew(self, key: str, token: str, lease_seconds: float) -> None:
        conn = self._conn()
        while True:
            await asyncio.sleep(lease_seconds / 3)
            try:
                await conn.zadd(key, {token: _now_ms()}, xx=True)  # only while still a holder
                await conn.pexpire(key, int(lease_seconds * 1000))
            except Exception as err:
                self._degraded(err)

    async def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):  # closing a dead connection is not worth a log line
                await self._client.aclose()
            self._client = None
