"""Stage reports for `docpipe dev`'s live view, outside Temporal.

With DOCPIPE_STAGE_KEY set (only `docpipe dev` sets it), every activity, as it starts, writes
`HSET <key> <workflow id> "<stage> <unix seconds>"` to the stack's Valkey. The view reads the hash
once per refresh, so following thousands of documents costs the Temporal server nothing: a memo
upsert per stage cost it ~25% more CPU per document and a query per document per refresh starved
the workers (bench/dev_scale.py). A report that cannot be written is dropped, never an error.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

logger = logging.getLogger(__name__)

PAUSE_AFTER_FAILURE_SECONDS = 10.0

# Activity name → the stage (role) it is.
STAGE_OF_ACTIVITY = {
    "extract_document": "extraction",
    "analyze_document": "analysis",
    "enrich_document": "enrichment",
    "store_document": "storage",
}


def stage_value(stage: str, at: float | None = None) -> str:
    return f"{stage} {time.time() if at is None else at:.3f}"


def parse_stage_value(raw: bytes | str | None) -> tuple[str, float] | None:
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    stage, _, at = text.partition(" ")
    try:
        return stage, float(at)
    except ValueError:
        return None


class StageReporter(Interceptor):
    def __init__(self, valkey_url: str, key: str, password: str | None = None) -> None:
        self.key = key
        self._url, self._password = valkey_url, password
        self._client: Any = None
        self._warned = False
        self._paused_until = 0.0  # after a failure, no report for a while: an activity never waits on it

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ReportStage(next, self)

    async def report(self, workflow_id: str, stage: str) -> None:
        if time.monotonic() < self._paused_until:
            return
        try:
            if self._client is None:
                import valkey.asyncio as valkey

                self._client = valkey.from_url(
                    self._url, password=self._password, socket_connect_timeout=1, socket_timeout=1
                )
            await self._client.hset(self.key, workflow_id, stage_value(stage))
        except Exception as err:  # the live view shows less; the document is unaffected
            self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_SECONDS
            if not self._warned:
                self._warned = True
                logger.warning("stage reports to Valkey failed (%s); the live view shows less", err)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


class _ReportStage(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, reporter: StageReporter) -> None:
        super().__init__(next)
        self._reporter = reporter

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        stage = STAGE_OF_ACTIVITY.get(info.activity_type)
        if stage is not None and info.workflow_id:
            await self._reporter.report(info.workflow_id, stage)
        return await super().execute_activity(input)
