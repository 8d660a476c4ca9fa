"""Documents by reference: describe a local file, and read a reference back (path, file://, s3://)."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from workers.extraction import DOCUMENT_TYPES
from workers.types import DocumentRef

_SURROGATE = re.compile("[\ud800-\udfff]")


def readable(name: str) -> str:
    """`name` as text any encoder accepts: a file name that is not UTF-8 (read with surrogateescape,
    'caf\udce9.txt') gets U+FFFD for each undecodable byte. The reference keeps the exact name
    (storage records its bytes); prompts, element metadata and ids use this form."""
    return _SURROGATE.sub("\ufffd", name)


def content_type_for(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    # DOCUMENT_TYPES first: mimetypes misses some of them on minimal images.
    return DOCUMENT_TYPES.get(suffix) or mimetypes.guess_type(filename)[0] or "application/octet-stream"


def describe_bytes(data: bytes, uri: str, filename: str) -> DocumentRef:
    return DocumentRef(
        uri=uri,
        sha256=hashlib.sha256(data).hexdigest(),
        filename=filename,
        content_type=content_type_for(filename),
        size=len(data),
    )


def describe_file(path: str | Path) -> DocumentRef:
    """A reference to a local file (absolute path, so any local worker can read it)."""
    p = Path(path).resolve()
    return describe_bytes(p.read_bytes(), str(p), p.name)


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, parsed.path.lstrip("/")


def _read_sync(uri: str) -> bytes:
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        from workers import aws  # boto3 loads only in workers reading from the bucket

        bucket, key = split_s3_uri(uri)
        body: bytes = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return body
    from workers.errors import bad_document  # temporalio: not for `docpipe dev`'s warm start

    path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(uri)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise bad_document(f"document not found: {uri}") from None
    except IsADirectoryError:
        raise bad_document(f"not a file: {uri}") from None


async def read_document(ref: DocumentRef) -> bytes:
    """The document's bytes; a changed document (sha256 mismatch) is a bad document, not a retry."""
    data = await asyncio.to_thread(_read_sync, ref.uri)
    digest = hashlib.sha256(data).hexdigest()
    if digest != ref.sha256:
        from workers.errors import bad_document

        raise bad_document(f"{ref.filename}: content changed since submission (sha256 {digest[:12]}…)")
    return data
