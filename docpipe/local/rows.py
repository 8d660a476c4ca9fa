"""Read the documents table for `docpipe dev`: which documents are already stored, and their rows.

The worker runtime owns the table (workers/storage); this module only reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STAGES = ("extraction", "analysis", "enrichment", "storage")


@dataclass
class DocumentRow:
    sha256: str
    filename: str
    status: str  # stored | failed
    reason: str | None
    failed_stage: str | None
    document_type: str | None
    enriched: bool
    timings: dict[str, int] = field(default_factory=dict)  # stage → milliseconds
    writes: int = 1
    updated_at: datetime | None = None
    # What enrichment's own check found, when its output says (the heuristic's amounts program:
    # verified | mismatch | unchecked | no amounts found); None for output without a status.
    enrichment_status: str | None = None

    @property
    def enrichment_label(self) -> str:
        """The results table's cell: what was checked, not just that code ran."""
        if not self.enriched:
            return "no"
        status = self.enrichment_status or "yes"
        return "no amounts" if status == "no amounts found" else status

    @property
    def row_id(self) -> str:
        """The row's key as a user would quote it (the table is keyed by sha256)."""
        return self.sha256[:12]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "filename": self.filename,
            "status": self.status,
            "reason": self.reason,
            "failedStage": self.failed_stage,
            "documentType": self.document_type,
            "enriched": self.enriched,
            "enrichmentStatus": self.enrichment_status,
            "timingsMs": self.timings,
            "writes": self.writes,
            "updatedAt": self.updated_at.isoformat() if self.updated_at else None,
        }


_SELECT = """
SELECT sha256, filename, status, reason, failed_stage, document_type,
       enrichment IS NOT NULL AND enrichment <> 'null'::jsonb, timings, writes, updated_at,
       CASE WHEN jsonb_typeof(enrichment->'output') = 'object' THEN enrichment->'output'->>'status' END
FROM documents WHERE sha256 = ANY(%s)
"""


# Rows written before workers/storage serialised StageTiming as objects hold their repr instead.
_TIMING_REPR = re.compile(r"stage='(\w+)', milliseconds=(\d+)")


def _timings(raw: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in raw or []:
        if isinstance(t, dict) and "stage" in t:
            out[str(t["stage"])] = int(t.get("milliseconds") or 0)
        elif isinstance(t, str) and (m := _TIMING_REPR.search(t)):
            out[m.group(1)] = int(m.group(2))
    return out


def read_rows(conninfo: str, sha256s: list[str]) -> dict[str, DocumentRow]:
    """Rows for these documents (an empty map before storage has created the table)."""
    import psycopg

    if not sha256s:
        return {}
    with psycopg.connect(conninfo) as conn:
        exists = conn.execute("SELECT to_regclass('documents') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return {}
        rows = conn.execute(_SELECT, (sha256s,)).fetchall()
    return {
        r[0]: DocumentRow(
            sha256=r[0],
            filename=r[1],
            status=r[2],
            reason=r[3],
            failed_stage=r[4],
            document_type=r[5],
            enriched=bool(r[6]),
            timings=_timings(r[7]),
            writes=int(r[8]),
            updated_at=r[9],
            enrichment_status=r[10],
        )
        for r in rows
    }
