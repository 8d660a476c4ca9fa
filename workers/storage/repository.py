"""The documents table: an idempotent upsert keyed by sha256."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from workers.redact import scrub
from workers.types import StoreInput

_UPSERT = """
INSERT INTO documents AS d (
    sha256, filename, uri, content_type, size_bytes, status, reason, failed_stage, document_type,
    summary, key_entities, extraction, analysis, enrichment, timings, workflow_id, run_id)
VALUES (%(sha256)s, %(filename)s, %(uri)s, %(content_type)s, %(size)s, %(status)s, %(reason)s,
    %(failed_stage)s, %(document_type)s, %(summary)s, %(key_entities)s, %(extraction)s, %(analysis)s,
    %(enrichment)s, %(timings)s, %(workflow_id)s, %(run_id)s)
ON CONFLICT (sha256) DO UPDATE SET
    filename = EXCLUDED.filename, uri = EXCLUDED.uri, status = EXCLUDED.status,
    reason = EXCLUDED.reason, failed_stage = EXCLUDED.failed_stage,
    document_type = EXCLUDED.document_type, summary = EXCLUDED.summary,
    key_entities = EXCLUDED.key_entities, extraction = EXCLUDED.extraction,
    analysis = EXCLUDED.analysis, enrichment = EXCLUDED.enrichment, timings = EXCLUDED.timings,
    workflow_id = EXCLUDED.workflow_id, run_id = EXCLUDED.run_id,
    writes = d.writes + 1, updated_at = now()
-- A retried store of the same run changes nothing: one row, one write.
WHERE (d.run_id, d.status) IS DISTINCT FROM (EXCLUDED.run_id, EXCLUDED.status)
RETURNING sha256
"""


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=_plain)


def upsert_params(inp: StoreInput) -> dict[str, Any]:
    ref = inp.document
    analysis = inp.analysis
    return {
        "sha256": ref.sha256,
        "filename": ref.filename,
        "uri": ref.uri,
        "content_type": ref.content_type,
        "size": ref.size,
        "status": inp.status,
        # Defence in depth: activity errors are scrubbed where they are raised, this catches the rest.
        "reason": scrub(inp.reason) if inp.reason else inp.reason,
        "failed_stage": inp.failed_stage,
        "document_type": analysis.document_type if analysis else None,
        "summary": analysis.summary if analysis else None,
        "key_entities": json.dumps(analysis.key_entities if analysis else []),
        "extraction": _json(inp.extraction),
        "analysis": _json(analysis),
        "enrichment": _json(inp.enrichment),
        "timings": _json(inp.timings) or "[]",
        "workflow_id": inp.workflow_id,
        "run_id": inp.run_id,
    }


async def upsert_document(conn: Any, inp: StoreInput) -> bool:
    """Write the document's row; False when the row already held exactly this result."""
    cur = await conn.execute(_UPSERT, upsert_params(inp))
    return await cur.fetchone() is not None
