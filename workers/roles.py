"""What each role's worker registers, and the Worker options shared by every entrypoint.

Backends are imported only for the role being served and the backend chosen, which keeps the
workflow worker (and the Lambda handler import) free of strands, unstructured-client, e2b and boto3.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from workers.cache import Cache
from workers.contract import Env
from workers.settings import Settings, SettingsError


@dataclass
class RoleRegistration:
    workflows: list[type] = field(default_factory=list)
    activities: list[Callable[..., Any]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def close(self) -> None:
        for close in self.closers:
            await close()


def build_role(role: str, settings: Settings) -> RoleRegistration:
    if role == "workflow":
        from workers.workflow import DocumentPipelineWorkflow

        return RoleRegistration(workflows=[DocumentPipelineWorkflow])
    cache = Cache(settings.valkey_url, prefix=f"docpipe:{settings.stack}", password=settings.valkey_password)
    reg = RoleRegistration(closers=[cache.close])
    if role == "extraction":
        from workers.extraction.activities import ExtractionActivities, make_extractor

        extraction = ExtractionActivities(make_extractor(settings), settings.extraction_backend, cache)
        reg.activities.append(extraction.extract_document)
    elif role == "analysis":
        from workers.analysis.activities import AnalysisActivities, make_analyser

        analyser, namespace = make_analyser(settings)
        analysis = AnalysisActivities(analyser, namespace, cache, settings.max_concurrent_model_calls)
        reg.activities.append(analysis.analyze_document)
    elif role == "enrichment":
        from workers.enrichment.activities import EnrichmentActivities, make_sandbox

        sandbox = make_sandbox(settings)
        enrichment = EnrichmentActivities(
            sandbox, settings.enrichment_backend, cache, settings.max_concurrent_sandboxes
        )
        reg.activities.append(enrichment.enrich_document)
    elif role == "storage":
        if not (settings.database_url or settings.database_secret_arn):
            # Fail at start, not at the first document after a round of retries.
            raise SettingsError(f"the storage role needs {Env.DATABASE_URL} or {Env.DATABASE_SECRET_ARN}")
        from workers.storage.activities import StorageActivities
        from workers.storage.connection import conninfo

        async def get_conninfo() -> str:
            return await conninfo(settings)

        storage = StorageActivities(get_conninfo)
        reg.activities.append(storage.store_document)
        reg.closers.append(storage.close)
    else:
        raise ValueError(f"unknown role {role!r}")
    return reg


def _redacting() -> Any:
    from workers.interceptors import RedactingInterceptor

    return RedactingInterceptor()


def worker_options(role: str, settings: Settings, reg: RoleRegistration) -> dict[str, Any]:
    """Worker keyword arguments except client and versioning (which each entrypoint sets)."""
    options: dict[str, Any] = {
        "task_queue": settings.task_queue(role),
        "workflows": reg.workflows,
        "activities": reg.activities,
        "graceful_shutdown_timeout": timedelta(seconds=settings.shutdown_grace_seconds),
        # Every activity error leaves with configured secret values scrubbed (workers/redact.py).
        "interceptors": [_redacting()],
    }
    if settings.stage_key and settings.valkey_url and reg.activities:
        from workers.stages import StageReporter

        reporter = StageReporter(settings.valkey_url, settings.stage_key, settings.valkey_password)
        options["interceptors"] = [reporter]
        reg.closers.append(reporter.close)
    # Per-worker caps that hold even without Valkey (a role outside the VPC has no stack-wide
    # semaphore): one sandbox or one model conversation per activity slot.
    if role == "enrichment":
        options["max_concurrent_activities"] = settings.max_concurrent_sandboxes
    elif role == "analysis":
        options["max_concurrent_activities"] = settings.max_concurrent_model_calls
    return options
