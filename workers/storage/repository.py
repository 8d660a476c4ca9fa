"""The documents table: an idempotent upsert keyed by sha256, of values PostgreSQL can hold."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from workers.redact import scrub
from workers.storage.clean import Notes, clean, clean_text, raw_bytes
from workers.types import StoreInput

_UPSERT = """
INSERT INTO documents AS d (
    sha256, filename, uri, content_type, size_bytes, status, reason, failed_stage, document_type,
    summary, key_entities, extraction, analysis, enrichment, timings, workflow_id, run_id,
    cleaned, filename_bytes, uri_bytes)
VALUES (%(sha256)s, %(filename)s, %(uri)s, %(content_type)s, %(size)s, %(status)s, %(reason)s,
    %(failed_stage)s, %(document_type)s, %(summary)s, %(key_entities)s, %(extraction)s, %(analysis)s,
    %(enrichment)s, %(timings)s, %(workflow_id)s, %(run_id)s, %(cleaned)s, %(filename_bytes)s,
    %(uri_bytes)s)
ON CONFLICT (sha256) DO UPDATE SET
    filename = EXCLUDED.filename, uri = EXCLUDED.uri, status = EXCLUDED.status,
    reason = EXCLUDED.reason, failed_stage = EXCLUDED.failed_stage,
    document_type = EXCLUDED.document_type, summary = EXCLUDED.summary,
    key_entities = EXCLUDED.key_entities, extraction = EXCLUDED.extraction,
    analysis = EXCLUDED.analysis, enrichment = EXCLUDED.enrichment, timings = EXCLUDED.timings,
    workflow_id = EXCLUDED.workflow_id, run_id = EXCLUDED.run_id, cleaned = EXCLUDED.cleaned,
    filename_bytes = EXCLUDED.filename_bytes, uri_bytes = EXCLUDED.uri_bytes,
    writes = d.writes + 1, updated_at = now()
-- A retried store of the same run changes nothing: one row, one write.
WHERE (d.run_id, d.status) IS DISTINCT FROM (EXCLUDED.run_id, EXCLUDED.status)
RETURNING sha256
"""


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def _plain_tree(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_plain))


def upsert_params(inp: StoreInput) -> dict[str, Any]:
    ref = inp.document
    analysis = inp.analysis
    notes = Notes()

    repeated = Notes()  # columns that repeat part of `analysis`: noted once, under analysis

    def text(value: str | None, path: str, into: Notes = notes) -> str | None:
        return None if value is None else clean_text(value, path, into)

    def tree(value: Any, path: str, into: Notes = notes) -> str | None:
        # allow_nan=False: jsonb has no NaN/Infinity, a model's NaN would fail every retry.
        return None if value is None else json.dumps(clean(_plain_tree(value), path, into), allow_nan=False)

    params = {
        "sha256": ref.sha256,
        "filename": text(ref.filename, "filename"),
        "uri": text(ref.uri, "uri"),
        "content_type": text(ref.content_type, "contentType"),
        "size": ref.size,
        "status": inp.status,
        # Defence in depth: activity errors are scrubbed where they are raised, this catches the rest.
        "reason": text(scrub(inp.reason), "reason") if inp.reason else inp.reason,
        "failed_stage": inp.failed_stage,
        "document_type": text(analysis.document_type if analysis else None, "", repeated),
        "summary": text(analysis.summary if analysis else None, "", repeated),
        "key_entities": tree(analysis.key_entities if analysis else [], "", repeated),
        "extraction": tree(inp.extraction, "extraction"),
        "analysis": tree(analysis, "analysis"),
        "enrichment": tree(inp.enrichment, "enrichment"),
        "timings": tree(inp.timings, "timings") or "[]",
        "workflow_id": inp.workflow_id,
        "run_id": inp.run_id,
        "filename_bytes": raw_bytes(ref.filename),
        "uri_bytes": raw_bytes(ref.uri),
    }
    cleaned = notes.to_json()
    params["cleaned"] = json.dumps(cleaned) if cleaned else None
    return params


async def upsert_document(conn: Any, inp: StoreInput) -> bool:
    """Write the document's row; False when the row already held exactly this result."""
    cur = await conn.execute(_UPSERT, upsert_params(inp))
    return await cur.fetchone() is not None
