"""The strands backend with a scripted model: Strands' own agent loop, tools and structured output."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from strands.models import Model
from temporalio.exceptions import ApplicationError

from workers.analysis.activities import AnalysisActivities
from workers.analysis.models import DocumentAnalysis
from workers.analysis.strands_agent import StrandsAnalyser
from workers.cache import Cache
from workers.settings import Settings
from workers.types import AnalyzeInput, DocumentRef

REF = DocumentRef("/x/invoice.txt", "ab" * 32, "invoice.txt", "text/plain", 10)
ELEMENTS = [
    {"type": "Title", "text": "INVOICE", "metadata": {"page_number": 1}},
    {
        "type": "NarrativeText",
        "text": "Amount due: 114.00 GBP to Northwind Paper",
        "metadata": {"page_number": 1},
    },
]
GOOD = {
    "document_type": "invoice",
    "summary": "An invoice from Northwind Paper for 114.00 GBP.",
    "key_entities": ["Northwind Paper", "114.00 GBP"],
    "needs_enrichment": True,
    "enrichment_code": "result = len(elements)",
    "enrichment_plan": "count the elements",
}


class ScriptedModel(Model):
    """Plays back turns: ("tool", name, input) or ("text", text); records what it was offered."""

    def __init__(self, turns: list[tuple[Any, ...]]) -> None:
        self.turns = list(turns)
        self.offered_tools: list[list[str]] = []
        self.saw_tool_results: list[Any] = []

    def update_config(self, **model_config: Any) -> None:
        pass

    def get_config(self) -> dict[str, Any]:
        return {}

    async def structured_output(self, output_model, prompt, system_prompt=None, **kwargs):  # type: ignore[override]
        raise NotImplementedError
        yield {}

    async def stream(self, messages, tool_specs=None, system_prompt=None, **kwargs) -> AsyncIterator[Any]:  # type: ignore[override]
        self.offered_tools.append([t["name"] for t in tool_specs or []])
        for block in messages[-1]["content"]:
            if "toolResult" in block:
                self.saw_tool_results.append(block["toolResult"])
        kind, *rest = self.turns.pop(0)
        yield {"messageStart": {"role": "assistant"}}
        if kind == "tool":
            name, tool_input = rest
            use = {"toolUseId": f"t{len(self.offered_tools)}", "name": name}
            yield {"contentBlockStart": {"start": {"toolUse": use}}}
            yield {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(tool_input)}}}}
            yield {"contentBlockStop": {}}
            yield {"messageStop": {"stopReason": "tool_use"}}
        else:
            yield {"contentBlockDelta": {"delta": {"text": rest[0]}}}
            yield {"contentBlockStop": {}}
            yield {"messageStop": {"stopReason": "end_turn"}}


def _analyser(model: ScriptedModel) -> StrandsAnalyser:
    return StrandsAnalyser(Settings(analysis_backend="strands"), model_factory=lambda: model)


async def test_agent_uses_a_tool_then_returns_validated_structured_output():
    model = ScriptedModel(
        [("tool", "find_text", {"query": "amount due"}), ("tool", "DocumentAnalysis", GOOD)]
    )
    result = await _analyser(model).analyse(REF, ELEMENTS)
    assert result == DocumentAnalysis.model_validate(GOOD)
    assert {"find_text", "element_counts", "DocumentAnalysis"} <= set(model.offered_tools[0])
    found = model.saw_tool_results[0]
    assert found["status"] == "success" and "114.00" in json.dumps(found["content"])


async def test_malformed_output_is_retried_by_the_agent_loop():
    bad = {**GOOD, "document_type": "spaceship"}
    model = ScriptedModel([("tool", "DocumentAnalysis", bad), ("tool", "DocumentAnalysis", GOOD)])
    result = await _analyser(model).analyse(REF, ELEMENTS)
    assert result.document_type == "invoice"
    assert model.saw_tool_results[0]["status"] == "error"


async def test_output_that_never_validates_fails_the_activity_without_retry():
    model = ScriptedModel([("text", "I think it is an invoice.")] * 6)
    activities = AnalysisActivities(_analyser(model), "strands:scripted", Cache(None))
    with pytest.raises(ApplicationError) as info:
        await activities.analyze_document(AnalyzeInput(REF, ELEMENTS))
    assert info.value.non_retryable and info.value.type == "BadModelOutput"
    assert "structured output" in info.value.message


async def test_rule_breaking_output_reports_the_validation_error():
    # needs_enrichment without code breaks a model rule: the agent retries, then the error surfaces.
    broken = {**GOOD, "enrichment_code": None}
    model = ScriptedModel([("tool", "DocumentAnalysis", broken)] * 8 + [("text", "giving up")] * 8)
    activities = AnalysisActivities(_analyser(model), "strands:scripted", Cache(None))
    with pytest.raises(ApplicationError) as info:
        await activities.analyze_document(AnalyzeInput(REF, ELEMENTS))
    assert info.value.type == "BadModelOutput"
    assert any("enrichment_code is empty" in str(r) for r in model.saw_tool_results)


async def test_invalid_output_is_recorded_as_a_one_line_validation_reason():
    bad = {**GOOD, "document_type": "spaceship"}
    model = ScriptedModel([("text", json.dumps(bad))] * 8)  # a JSON answer that does not validate
    activities = AnalysisActivities(_analyser(model), "strands:scripted", Cache(None))
    with pytest.raises(ApplicationError) as info:
        await activities.analyze_document(AnalyzeInput(REF, ELEMENTS))
    reason = info.value.message
    assert reason.startswith("model output failed validation: document_type: "), reason
    assert "\n" not in reason and "https://" not in reason


def test_only_the_chosen_provider_is_built():
    from workers.analysis.strands_agent import build_model

    model = build_model(Settings(analysis_backend="strands", model_provider="bedrock", model_id="m-1"))
    assert type(model).__name__ == "BedrockModel"
    assert model.get_config()["model_id"] == "m-1"
