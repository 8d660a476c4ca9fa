"""The dataclasses that travel between the workflow and its activities (one in, one out each).

Documents travel by reference (`DocumentRef`), never as bytes. Extracted elements are plain dicts in
Unstructured's element schema; when a list of them is large, the data converter moves it to external
storage (see `workers.payloads`), so workflow history only holds a claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workers.contract import DEFAULT_QUEUE_PREFIX

Element = dict[str, Any]


@dataclass
class DocumentRef:
    """Where a document is and what it is: `uri` is a local path, file:// URI or s3://bucket/key."""

    uri: str
    sha256: str
    filename: str
    content_type: str
    size: int


@dataclass
class PipelineInput:
    document: DocumentRef
    # Activities go to `<queue_prefix>-<role>`; tests use their own prefix to stay isolated.
    queue_prefix: str = DEFAULT_QUEUE_PREFIX
    # Start-to-close seconds per stage, overriding the workflow's defaults (see Env.STAGE_TIMEOUTS).
    stage_timeouts: dict[str, float] = field(default_factory=dict)
    # The namespace has docpipe's search attributes (workers.contract.SEARCH_ATTRIBUTES).
    search_attributes: bool = False


@dataclass
class ExtractInput:
    document: DocumentRef


@dataclass
class ExtractResult:
    elements: list[Element]
    backend: str
    page_count: int = 0
    cached: bool = False


@dataclass
class AnalyzeInput:
    document: DocumentRef
    elements: list[Element]


@dataclass
class AnalyzeResult:
    document_type: str
    summary: str
    key_entities: list[str]
    needs_enrichment: bool
    backend: str
    enrichment_code: str | None = None
    enrichment_plan: str | None = None
    cached: bool = False


@dataclass
class EnrichInput:
    document: DocumentRef
    code: str
    elements: list[Element]


@dataclass
class EnrichResult:
    backend: str
    output: Any = None  # the JSON the code printed last (or its text when not JSON)
    stdout: str = ""


@dataclass
class StageTiming:
    stage: str
    milliseconds: int


@dataclass
class StoreInput:
    document: DocumentRef
    status: str  # stored | failed
    reason: str | None = None
    failed_stage: str | None = None
    extraction: dict[str, Any] | None = None  # summary, not the elements themselves
    analysis: AnalyzeResult | None = None
    enrichment: EnrichResult | None = None
    timings: list[StageTiming] = field(default_factory=list)
    workflow_id: str = ""
    run_id: str = ""


@dataclass
class StoreResult:
    sha256: str
    status: str
    # False when the row already held this run's result (a retried store writes one row).
    changed: bool = True
    # Set when storage recorded a failure instead of the result (a result PostgreSQL cannot hold).
    reason: str | None = None
    failed_stage: str | None = None


@dataclass
class PipelineResult:
    sha256: str
    filename: str
    status: str  # stored | failed
    reason: str | None = None
    failed_stage: str | None = None
    element_count: int = 0
    document_type: str | None = None
    summary: str | None = None
    needs_enrichment: bool = False
    enrichment_output: Any = None
    timings: list[StageTiming] = field(default_factory=list)
