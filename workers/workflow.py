"""DocumentPipelineWorkflow: extraction → analysis → (enrichment) → storage, each on its role's queue.

Activities are called by name, so the workflow worker never imports a backend. A bad document, bad
model output or failed enrichment is non-retryable: the run stores a `failed` row with the reason,
then ends Failed with a `DocumentFailed` error that carries the reason and the PipelineResult (so the
Temporal UI shows it as failed, and `docpipe submit --retry-failed` may start a new run of it). A
storage fault that outlives its retries fails the run too, with no row.

The run's memo carries the document's name and, after analysis, its type; where the namespace has
docpipe's search attributes (`PipelineInput.search_attributes`) they carry the same.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, VersioningBehavior
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workers.contract import DOCUMENT_FAILED, HEARTBEAT_TIMEOUT_SECONDS, TYPE_ATTRIBUTE, WORKFLOW_TYPE
    from workers.errors import NON_RETRYABLE, UNSTORABLE
    from workers.types import (
        AnalyzeInput,
        AnalyzeResult,
        EnrichInput,
        EnrichResult,
        ExtractInput,
        ExtractResult,
        PipelineInput,
        PipelineResult,
        StageTiming,
        StoreInput,
        StoreResult,
    )

_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=5,
    non_retryable_error_types=NON_RETRYABLE,
)
# Storage is the record of truth: it retries longer, and its upsert makes every retry safe. A result
# PostgreSQL cannot hold is recorded as a failure by the activity itself; only when even that
# cannot be written does it raise Unstorable, which no retry fixes.
_STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=20,
    non_retryable_error_types=[UNSTORABLE],
)


# Stage (= role and task-queue suffix) → activity name and start-to-close timeout.
_STAGES = {
    "extraction": ("extract_document", timedelta(minutes=10)),
    "analysis": ("analyze_document", timedelta(minutes=5)),
    "enrichment": ("enrich_document", timedelta(minutes=5)),
}


TYPE_KEY = SearchAttributeKey.for_keyword(TYPE_ATTRIBUTE)
# workflow.patched() ids: histories recorded before a change replay without it.
PATCH_FAIL_AND_LABEL = "fail-failed-documents-and-label-runs"


class StageFailed(Exception):
    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(reason)
        self.stage, self.reason = stage, reason


# AUTO_UPGRADE: a run moves to the deployment's current version at its next workflow task. Workers
# are replaced by SIGTERM (ASG instance refresh, Cloud Run revision, a new Lambda version), so no
# worker of an old build stays behind to finish runs pinned to it: PINNED stranded them (the fault
# suite's rollout test). Changes to this class must therefore replay old histories: guard them with
# workflow.patched().
@workflow.defn(name=WORKFLOW_TYPE, versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class DocumentPipelineWorkflow:
    def __init__(self) -> None:
        self._timings: list[StageTiming] = []
        self._stage = "pending"

    @workflow.query
    def stage(self) -> str:
        return self._stage

    async def _call(self, stage: str, arg: Any, result_type: type, inp: PipelineInput) -> Any:
        """Run one stage's activity on its role's queue; a failure becomes StageFailed(reason)."""
        name, timeout = _STAGES[stage]
        if stage in inp.stage_timeouts:
            timeout = timedelta(seconds=inp.stage_timeouts[stage])
        prefix = inp.queue_prefix
        self._stage = stage
        started = workflow.now()
        try:
            return await workflow.execute_activity(
                name,
                arg,
                result_type=result_type,
                task_queue=f"{prefix}-{stage}",
                start_to_close_timeout=timeout,
                heartbeat_timeout=timedelta(seconds=HEARTBEAT_TIMEOUT_SECONDS),
                retry_policy=_RETRY,
            )
        except ActivityError as err:
            cause = err.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
            raise StageFailed(stage, reason) from err
        finally:
            elapsed = workflow.now() - started
            self._timings.append(StageTiming(stage, int(elapsed.total_seconds() * 1000)))

    @workflow.run
    async def run(self, inp: PipelineInput) -> PipelineResult:
        doc, prefix = inp.document, inp.queue_prefix
        extract: ExtractResult | None = None
        analysis: AnalyzeResult | None = None
        enrichment: EnrichResult | None = None
        failure: StageFailed | None = None
        try:
            extract = await self._call("extraction", ExtractInput(doc), ExtractResult, inp)
            analysis = await self._call("analysis", AnalyzeInput(doc, extract.elements), AnalyzeResult, inp)
            if workflow.patched(PATCH_FAIL_AND_LABEL):
                workflow.upsert_memo({"type": analysis.document_type})
                if inp.search_attributes and analysis.document_type:
                    workflow.upsert_search_attributes([TYPE_KEY.value_set(analysis.document_type)])
            if analysis.needs_enrichment and analysis.enrichment_code:
                enrichment = await self._call(
                    "enrichment",
                    EnrichInput(doc, analysis.enrichment_code, extract.elements),
                    EnrichResult,
                    inp,
                )
        except StageFailed as err:
            failure = err
        status = "failed" if failure else "stored"
        info = workflow.info()
        store_input = StoreInput(
            document=doc,
            status=status,
            reason=failure.reason if failure else None,
            failed_stage=failure.stage if failure else None,
            extraction=_extraction_summary(extract),
            analysis=analysis,
            enrichment=enrichment,
            timings=list(self._timings),
            workflow_id=info.workflow_id,
            run_id=info.run_id,
        )
        self._stage = "storage"
        started = workflow.now()
        stored: StoreResult = await workflow.execute_activity(
            "store_document",
            store_input,
            result_type=StoreResult,
            task_queue=f"{prefix}-storage",
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=_STORE_RETRY,
        )
        self._timings.append(StageTiming("storage", int((workflow.now() - started).total_seconds() * 1000)))
        self._stage = stored.status
        result = PipelineResult(
            sha256=doc.sha256,
            filename=doc.filename,
            status=stored.status,
            # Storage may have recorded a failure instead of the result (stored.reason says why).
            reason=stored.reason or store_input.reason,
            failed_stage=stored.failed_stage or store_input.failed_stage,
            element_count=len(extract.elements) if extract else 0,
            document_type=analysis.document_type if analysis else None,
            summary=analysis.summary if analysis else None,
            needs_enrichment=bool(analysis and analysis.needs_enrichment),
            enrichment_output=enrichment.output if enrichment else None,
            timings=list(self._timings),
        )
        if failure is not None and workflow.patched(PATCH_FAIL_AND_LABEL):
            # The row is stored; the run itself ends Failed so the UI, `temporal workflow list` and
            # the id reuse policy see a failed document as failed.
            raise ApplicationError(
                f"{failure.stage}: {failure.reason}", result, type=DOCUMENT_FAILED, non_retryable=True
            )
        return result


def _extraction_summary(extract: ExtractResult | None) -> dict[str, Any] | None:
    if extract is None:
        return None
    types: dict[str, int] = {}
    for e in extract.elements:
        types[str(e.get("type"))] = types.get(str(e.get("type")), 0) + 1
    return {
        "backend": extract.backend,
        "elements": len(extract.elements),
        "pages": extract.page_count,
        "types": types,
        "cached": extract.cached,
    }
