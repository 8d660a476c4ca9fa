"""Lambda for bucket uploads: an S3 ObjectCreated event starts DocumentPipelineWorkflow.

Handler: `workers.starter.handler`. The workflow id is `doc-<sha256>` of the object's content, so a
re-upload, a duplicate event or a retried invocation finds the existing run and counts as success.
Only keys under the stack's upload prefix (`bucket.uploadPrefix`, DOCPIPE_UPLOAD_PREFIX) start a
workflow: the bucket notification filters on it, and the starter checks it again, so an event from a
wider notification (or a payload the workers wrote) is skipped, never run as a document.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from workers.types import DocumentRef

logger = logging.getLogger(__name__)

Describe = Callable[[str, str], DocumentRef]


def describe_s3_object(bucket: str, key: str) -> DocumentRef:
    """Reference to an S3 object: its SHA-256 checksum when S3 has a whole-object one, else hashed."""
    from workers import aws
    from workers.documents import content_type_for

    s3 = aws.client("s3")
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    checksum = head.get("ChecksumSHA256") or ""
    if checksum and "-" not in checksum and head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT":
        digest = base64.b64decode(checksum).hex()
    else:
        h = hashlib.sha256()
        for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1 << 20):
            h.update(chunk)
        digest = h.hexdigest()
    filename = key.rsplit("/", 1)[-1]
    return DocumentRef(
        uri=f"s3://{bucket}/{key}",
        sha256=digest,
        filename=filename,
        content_type=head.get("ContentType") or content_type_for(filename),
        size=int(head.get("ContentLength", 0)),
    )


def records(event: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """(bucket, key) of each ObjectCreated record whose key is under `prefix` (keys arrive URL-encoded)."""
    out = []
    for rec in event.get("Records", []):
        if not str(rec.get("eventName", "ObjectCreated")).startswith("ObjectCreated"):
            continue
        s3 = rec.get("s3", {})
        key = unquote_plus(s3["object"]["key"])
        if not key.startswith(prefix):
            logger.warning("skipped %s: not under the upload prefix %r", key, prefix)
            continue
        out.append((s3["bucket"]["name"], key))
    return out


def make_handler(describe: Describe = describe_s3_object) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return asyncio.run(_start_all(event, describe))

    return handler


async def _start_all(event: dict[str, Any], describe: Describe) -> dict[str, Any]:
    from workers.connect import connect
    from workers.secrets import resolve_secret_refs
    from workers.settings import Settings
    from workers.submit import start_pipeline

    resolve_secret_refs()
    settings = Settings.from_env()
    client = await connect(settings)
    results = []
    for bucket, key in records(event, settings.upload_prefix):
        ref = await asyncio.to_thread(describe, bucket, key)
        sub = await start_pipeline(client, ref, settings)
        logger.info(
            "%s s3://%s/%s as %s", "started" if sub.started else "duplicate", bucket, key, sub.workflow_id
        )
        results.append({"key": key, "workflowId": sub.workflow_id, "started": sub.started})
    return {"started": sum(r["started"] for r in results), "results": results}


handler = make_handler()
