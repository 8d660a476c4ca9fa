"""Analysis activity: elements in, a validated `DocumentAnalysis` out (as `AnalyzeResult`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from temporalio import activity

from workers.cache import Cache
from workers.errors import bad_model_output
from workers.heartbeat import heartbeating
from workers.settings import Settings
from workers.types import AnalyzeInput, AnalyzeResult, DocumentRef, Element

if TYPE_CHECKING:  # pydantic loads with the first document, not at worker start (Lambda cold starts)
    from workers.analysis.models import DocumentAnalysis


class Analyser(Protocol):
    async def analyse(self, ref: DocumentRef, elements: list[Element]) -> DocumentAnalysis: ...


class HeuristicAnalyser:
    async def analyse(self, ref: DocumentRef, elements: list[Element]) -> DocumentAnalysis:
        from workers.analysis.heuristic import analyse

        return analyse(ref, elements)


def make_analyser(settings: Settings) -> tuple[Analyser, str]:
    """(analyser, cache namespace): the namespace names backend, provider and model."""
    if settings.analysis_backend == "strands":
        from workers.analysis.strands_agent import DEFAULT_MODELS, StrandsAnalyser

        model = settings.model_id or DEFAULT_MODELS[settings.model_provider]
        return StrandsAnalyser(settings), f"strands:{settings.model_provider}:{model}"
    return HeuristicAnalyser(), "heuristic"


class AnalysisActivities:
    def __init__(self, analyser: Analyser, backend: str, cache: Cache, max_concurrent_calls: int = 4) -> None:
        self._analyser = analyser
        self._backend = backend
        self._cache = cache
        self._limit = max_concurrent_calls

    @activity.defn(name="analyze_document")
    async def analyze_document(self, inp: AnalyzeInput) -> AnalyzeResult:
        ref = inp.document
        cached = await self._cache.get_json(f"analysis:{self._backend}", ref.sha256)
        from pydantic import ValidationError

        from workers.analysis.models import DocumentAnalysis

        if cached is not None:
            return _result(DocumentAnalysis.model_validate(cached), self._backend, cached=True)

        try:
            # The semaphore caps concurrent model calls across every analysis worker (a cost guard).
            # Heartbeat first: waiting for a slot must not look like a dead worker.
            async with heartbeating(), self._cache.slot("model-calls", self._limit):
                analysis = await self._analyser.analyse(ref, inp.elements)
        except ValidationError as err:
            raise bad_model_output(f"model output failed validation: {_first_errors(err)}") from None
        except Exception as err:
            if type(err).__name__ != "StructuredOutputException":
                raise
            invalid = _validation_cause(err)
            if invalid is not None:  # Strands wraps the output's ValidationError
                raise bad_model_output(f"model output failed validation: {_first_errors(invalid)}") from None
            raise bad_model_output(f"model gave no structured output: {_one_line(str(err))}") from None
        await self._cache.set_json(f"analysis:{self._backend}", ref.sha256, analysis.model_dump())
        return _result(analysis, self._backend)


def _validation_cause(err: BaseException) -> BaseException | None:
    from pydantic import ValidationError

    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ValidationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]


def _first_errors(err: BaseException) -> str:
    errors = getattr(err, "errors", None)
    if callable(errors):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'model'}: {e['msg']}" for e in errors()[:3])
    return _one_line(str(err))


def _result(a: DocumentAnalysis, backend: str, cached: bool = False) -> AnalyzeResult:
    return AnalyzeResult(
        document_type=a.document_type,
        summary=a.summary,
        key_entities=a.key_entities,
        needs_enrichment=a.needs_enrichment,
        backend=backend,
        enrichment_code=a.enrichment_code,
        enrichment_plan=a.enrichment_plan,
        cached=cached,
    )
