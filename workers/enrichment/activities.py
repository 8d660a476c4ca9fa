"""Enrichment activity: run the analysis's code over the elements in a sandbox, never in-process."""

from __future__ import annotations

from typing import Protocol

from temporalio import activity

from workers.cache import Cache
from workers.heartbeat import heartbeating
from workers.settings import Settings
from workers.types import Element, EnrichInput, EnrichResult


class Sandbox(Protocol):
    async def run(self, code: str, elements: list[Element]) -> tuple[str, object]: ...


def make_sandbox(settings: Settings) -> Sandbox:
    if settings.enrichment_backend == "e2b":
        from workers.enrichment.e2b_sandbox import E2BSandbox

        return E2BSandbox(settings.enrichment_timeout_seconds, settings.sandbox_output_bytes)
    from workers.enrichment.local_sandbox import LocalSandbox, SandboxLimits

    return LocalSandbox(
        SandboxLimits(
            cpu_seconds=settings.sandbox_cpu_seconds,
            memory_mb=settings.sandbox_memory_mb,
            output_bytes=settings.sandbox_output_bytes,
            wall_seconds=settings.enrichment_timeout_seconds,
        )
    )


class EnrichmentActivities:
    def __init__(
        self, sandbox: Sandbox, backend: str, cache: Cache, max_concurrent_sandboxes: int = 4
    ) -> None:
        self._sandbox = sandbox
        self._backend = backend
        self._cache = cache
        self._limit = max_concurrent_sandboxes

    @activity.defn(name="enrich_document")
    async def enrich_document(self, inp: EnrichInput) -> EnrichResult:
        # The semaphore caps concurrent sandboxes across all enrichment workers (a cost guard).
        # Heartbeat first: waiting for a slot must not look like a dead worker.
        async with heartbeating(), self._cache.slot("sandboxes", self._limit):
            stdout, output = await self._sandbox.run(inp.code, inp.elements)
        return EnrichResult(backend=self._backend, output=output, stdout=stdout[-4000:])
