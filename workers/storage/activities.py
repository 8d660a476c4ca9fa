"""Storage activity: one row per document in PostgreSQL (stored, or failed with its reason)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity

from workers.storage.migrations import migrate
from workers.storage.repository import upsert_document
from workers.types import StoreInput, StoreResult

logger = logging.getLogger(__name__)


class StorageActivities:
    """Holds one connection, opened (and migrated) on first use and reopened after a failure."""

    def __init__(self, conninfo: Callable[[], Awaitable[str]]) -> None:
        self._conninfo = conninfo
        self._conn: Any = None
        self._migrated = False

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
        conn = await self._connection()
        try:
            async with conn.transaction():
                changed = await upsert_document(conn, inp)
        except Exception:
            await self.close()  # a broken connection is reopened by the retry
            raise
        return StoreResult(sha256=inp.document.sha256, status=inp.status, changed=changed)

    async def close(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()
            finally:
                self._conn = None
