"""Extraction activity: a document reference in, elements in Unstructured's schema out."""

from __future__ import annotations

from typing import Any, Protocol

from temporalio import activity

from workers.cache import Cache
from workers.documents import read_document
from workers.errors import bad_document
from workers.heartbeat import heartbeating
from workers.settings import Settings
from workers.types import DocumentRef, Element, ExtractInput, ExtractResult


class Extractor(Protocol):
    async def extract(self, ref: DocumentRef, data: bytes) -> tuple[list[Element], int]: ...


class LocalExtractor:
    async def extract(self, ref: DocumentRef, data: bytes) -> tuple[list[Element], int]:
        import asyncio

        from workers.extraction.local import extract_local

        return await asyncio.to_thread(extract_local, ref, data)


def make_extractor(settings: Settings) -> Extractor:
    if settings.extraction_backend == "unstructured-api":
        from workers.extraction.unstructured_api import UnstructuredApiExtractor

        return UnstructuredApiExtractor(settings)
    return LocalExtractor()


class ExtractionActivities:
    def __init__(self, extractor: Extractor, backend: str, cache: Cache) -> None:
        self._extractor = extractor
        self._backend = backend
        self._cache = cache

    @activity.defn(name="extract_document")
    async def extract_document(self, inp: ExtractInput) -> ExtractResult:
        ref = inp.document
        cached: dict[str, Any] | None = await self._cache.get_json(f"extract:{self._backend}", ref.sha256)
        if cached is not None:
            return ExtractResult(cached["elements"], self._backend, cached["page_count"], cached=True)
        data = await read_document(ref)
        async with heartbeating():
            elements, pages = await self._extractor.extract(ref, data)
        if not any(str(e.get("text", "")).strip() for e in elements):
            raise bad_document(f"{ref.filename}: no text found in the document")
        await self._cache.set_json(
            f"extract:{self._backend}", ref.sha256, {"elements": elements, "page_count": pages}
        )
        activity.logger.info("extracted %s: %d elements, %d pages", ref.filename, len(elements), pages)
        return ExtractResult(elements, self._backend, pages)
