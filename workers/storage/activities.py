"""Storage activity: one row per document in PostgreSQL (stored, or failed with its reason)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity

from workers.storage.migrations import migrate
from workers.storage.repository import upsert_document
from workers.types import StoreInput, StoreResult

logger = logging.getLogger(__name__)


class StorageActivities:
    """Holds one connection, opened (and migrated) on first use and reopened after a failure.

    Concurrent activities take turns on it (a lock): a psycopg connection runs one transaction at a
    time, and a store is a single upsert of a few milliseconds.
    """

    def __init__(self, conninfo: Callable[[], Awaitable[str]]) -> None:
        self._conninfo = conninfo
        self._conn: Any = None
        self._migrated = False
        self._lock = asyncio.Lock()

    async def _connection(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(await self._conninfo(), autocommit=False)
            if not self._migrated:
                applied = await migrate(self._conn)
                if applied:
                    logger.info("applied schema migrations %s", applied)
                self._migrated = True
        return self._conn

    @activity.defn(name="store_document")
    async def store_document(self, inp: StoreInput) -> StoreResult:
        async with self._lock:
            conn = await self._connection()
            try:
                async with conn.transaction():
                    changed = await upsert_document(conn, inp)
            except BaseException:  # also a cancellation mid-transaction: never reuse that connection
                await self._close()  # the retry reopens it
                raise
        return StoreResult(sha256=inp.document.sha256, status=inp.status, changed=changed)

    async def close(self) -> None:
        async with self._lock:
            await self._close()

    async def _close(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()
            finally:
                self._conn = None
