"""Versioned schema migrations: numbered SQL files applied once each, in order, under a lock.

Every storage worker runs `migrate()` at start; the advisory lock makes concurrent starts safe and
`schema_migrations` records what is applied, so a new file is all a schema change needs.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

_LOCK_ID = 0x646F6370  # "docp"


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) for each `NNN_name.sql`, sorted by version."""
    out = []
    for entry in resources.files("workers.storage").joinpath("migrations").iterdir():
        m = re.fullmatch(r"(\d+)_(\w+)\.sql", entry.name)
        if m:
            out.append((int(m.group(1)), m.group(2), entry.read_text()))
    return sorted(out)


async def migrate(conn: Any) -> list[int]:
    """Apply pending migrations on an autocommit=False AsyncConnection; returns the versions applied."""
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in await cur.fetchall()}
        for version, name, sql in migration_files():
            if version in done:
                continue
            await conn.execute(sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name)
            )
            applied.append(version)
    return applied
