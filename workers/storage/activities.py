"""Storage activity: one row per document in PostgreSQL (stored, or failed with its reason)."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity

from workers.errors import unstorable
from workers.storage.migrations import migrate
from workers.storage.repository import upsert_document
from workers.types import StoreInput, StoreResult

logger = logging.getLogger(__name__)


@functools.cache
def _unstorable_errors() -> tuple[type[BaseException], ...]:
    import psycopg  # at the first store, not at import: a Lambda's INIT loads no backend SDK

    # DataError: a value PostgreSQL refuses (bad encoding, out of range, too long); ProgramLimitExceeded:
    # a row or value beyond its limits; UnicodeEncodeError / ValueError: a value that cannot even be sent.
    return (psycopg.DataError, psycopg.errors.ProgramLimitExceeded, UnicodeEncodeError, ValueError)


_BIGINT_MAX = 2**63 - 1


def _short(err: BaseException, limit: int = 200) -> str:
    return " ".join(str(err).split())[:limit]


class StorageActivities:
    """Holds one connection, opened (and migrated) on first use and reopened after a failure.

    Concurrent activities take turns on it (a lock): a psycopg connection runs one transaction at a
    time, and a store is a single upsert of a few milliseconds.
    """

    def __init__(self, conninfo: Callable[[], Awaitable[str]]) -> None:
        self._conninfo = conninfo
        self._conn: Any = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(await self._conninfo(), autocommit=False)
            # On every new connection, not once per process: a database that lost its data (a wiped
            # data dir, a restore) comes back without the table, and every store would fail.
            applied = await migrate(self._conn)
            if applied:
                logger.info("applied schema migrations %s", applied)
        return self._conn

    @activity.defn(name="store_document")
    async def store_document(self, inp: StoreInput) -> StoreResult:
        """Store the row. A result PostgreSQL can never hold (a value out of range, a row too large)
        is not retried: the document's failure is recorded instead, within this attempt."""
        async with self._lock:
            try:
                changed = await self._upsert(inp)
                return StoreResult(sha256=inp.document.sha256, status=inp.status, changed=changed)
            except _unstorable_errors() as err:
                reason = (
                    f"storage could not store the result ({type(err).__name__}: {_short(err)}); "
                    "its failure is recorded instead"
                )
                logger.warning("document %s: %s", inp.document.sha256[:12], reason)
            # Only the reference and the reason: what refused is in the result. The size is kept in
            # bigint's range (a hand-made reference may carry any number).
            ref = dataclasses.replace(inp.document, size=min(max(inp.document.size, 0), _BIGINT_MAX))
            fallback = StoreInput(
                document=ref,
                status="failed",
                reason=reason,
                failed_stage="storage",
                timings=inp.timings,
                workflow_id=inp.workflow_id,
                run_id=inp.run_id,
            )
            try:
                changed = await self._upsert(fallback)
            except _unstorable_errors() as err:
                raise unstorable(f"storage could not record the document at all: {_short(err)}") from None
        return StoreResult(
            sha256=inp.document.sha256,
            status="failed",
            changed=changed,
            reason=reason,
            failed_stage="storage",
        )

    async def _upsert(self, inp: StoreInput) -> bool:
        conn = await self._connection()
        try:
            async with conn.transaction():
                return await upsert_document(conn, inp)
        except BaseException:  # also a cancellation mid-transaction: never reuse that connection
            await self._close()  # the retry reopens it
            raise

    async def close(self) -> None:
        async with self._lock:
            await self._close()

    async def _close(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()
            finally:
                self._conn = None
