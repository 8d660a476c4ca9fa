"""Extraction: a document's bytes → Unstructured's elements (backends: local, unstructured-api).

`DOCUMENT_TYPES` is the one declaration of what the pipeline reads: every extraction backend reads
these suffixes, `docpipe dev` and `docpipe submit` submit only them, and a document's content type
comes from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

# Suffix → the content type the document is described (and sent to the backend) as.
DOCUMENT_TYPES: dict[str, str] = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".txt": "text/plain",
    ".html": "text/html",
    ".htm": "text/html",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(sorted(DOCUMENT_TYPES))


def is_supported(path: str | Path) -> bool:
    return Path(path).suffix.lower() in DOCUMENT_TYPES


def unsupported_note(paths: Iterable[str | Path]) -> str:
    """ "not submitted, not a document type the pipeline reads: a.xlsx, b.png (supported: …)"."""
    names = ", ".join(str(p) for p in paths)
    return (
        f"not submitted, not a document type the pipeline reads: {names} "
        f"(supported: {' '.join(SUPPORTED_SUFFIXES)})"
    )
