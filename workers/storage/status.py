"""Read side of the documents table, for `docpipe status` and tests: counts by state, failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Failure:
    sha256: str
    filename: str
    failed_stage: str | None
    reason: str | None
    updated_at: datetime


@dataclass
class StatusReport:
    counts: dict[str, int] = field(default_factory=dict)  # status → documents
    failures: list[Failure] = field(default_factory=list)  # newest first

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def read_status(conninfo: str, failure_limit: int = 20) -> StatusReport:
    """Counts by state and the latest failures; an empty report when storage has not run yet."""
    import psycopg

    with psycopg.connect(conninfo) as conn:
        exists = conn.execute("SELECT to_regclass('documents') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return StatusReport()
        counts: dict[str, int] = dict(
            conn.execute("SELECT status, count(*) FROM documents GROUP BY status").fetchall()
        )
        rows = conn.execute(
            "SELECT sha256, filename, failed_stage, reason, updated_at FROM documents"
            " WHERE status = 'failed' ORDER BY updated_at DESC LIMIT %s",
            (failure_limit,),
        ).fetchall()
    return StatusReport(counts=counts, failures=[Failure(*row) for row in rows])


def row_statuses(conninfo: str, shas: list[str]) -> dict[str, str]:
    """sha256 → status of the rows that exist (none when the table does not exist yet)."""
    import psycopg

    with psycopg.connect(conninfo) as conn:
        exists = conn.execute("SELECT to_regclass('documents') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return {}
        found = conn.execute(
            "SELECT sha256, status FROM documents WHERE sha256 = ANY(%s)", (shas,)
        ).fetchall()
    return {sha: status for sha, status in found}
