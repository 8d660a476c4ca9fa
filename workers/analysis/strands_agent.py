"""The `strands` analysis backend: a Strands agent whose structured output is `DocumentAnalysis`.

Only the chosen provider's module is imported (anthropic, openai and ollama each need their extra,
in a checkout `.venv/bin/uv pip install --python .venv/bin/python -e '.[anthropic]'` etc.; bedrock
needs none). The agent gets two read-only tools over the extracted elements, so it can look things
up instead of reading everything at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from workers.analysis.models import ENRICHMENT_CONTRACT, DocumentAnalysis, elements_as_text
from workers.documents import readable
from workers.settings import Settings
from workers.types import DocumentRef, Element

SYSTEM_PROMPT = (
    "You analyse business documents that were split into elements (Title, NarrativeText, ListItem, "
    "Table, ...). Decide the document type, write a short factual summary, list key entities, and say "
    "whether computing over the content (totals, dates, cross-checks) would add value. If it would, set "
    "needs_enrichment and write the enrichment code. " + ENRICHMENT_CONTRACT
)
DEFAULT_MODELS = {
    "bedrock": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "anthropic": "claude-sonnet-4-5",
    "openai": "gpt-4.1-mini",
    "ollama": "llama3.1",
}


def build_model(settings: Settings) -> Any:
    """The provider's Strands model (its module imported only here)."""
    provider = settings.model_provider
    model_id = settings.model_id or DEFAULT_MODELS[provider]
    if provider == "bedrock":
        from strands.models.bedrock import BedrockModel

        from workers import aws

        # The session carries web-identity credentials on Cloud Run (workers/aws.py).
        return BedrockModel(model_id=model_id, boto_session=aws.session())
    if provider == "anthropic":
        import os

        from strands.models.anthropic import AnthropicModel

        key = os.environ.get("ANTHROPIC_API_KEY")
        return AnthropicModel(client_args={"api_key": key}, model_id=model_id, max_tokens=4096)
    if provider == "openai":
        import os

        from strands.models.openai import OpenAIModel

        return OpenAIModel(client_args={"api_key": os.environ.get("OPENAI_API_KEY")}, model_id=model_id)
    from strands.models.ollama import OllamaModel

    return OllamaModel(settings.ollama_host, model_id=model_id)


def _tools(elements: list[Element]) -> list[Any]:
    from strands import tool

    @tool
    def element_counts() -> dict[str, int]:
        """How many elements of each type (Title, NarrativeText, Table, ...) the document has."""
        counts: dict[str, int] = {}
        for e in elements:
            counts[str(e.get("type"))] = counts.get(str(e.get("type")), 0) + 1
        return counts

    @tool
    def find_text(query: str) -> list[str]:
        """Elements whose text contains `query` (case-insensitive), at most 20."""
        q = query.lower()
        return [str(e.get("text")) for e in elements if q in str(e.get("text", "")).lower()][:20]

    return [element_counts, find_text]


class StrandsAnalyser:
    """Runs one agent per document; `model_factory` lets tests hand in a scripted model."""

    def __init__(self, settings: Settings, model_factory: Any = None, attempts: int = 2) -> None:
        self._settings = settings
        self._model_factory = model_factory or (lambda: build_model(settings))
        self._attempts = attempts

    async def analyse(self, ref: DocumentRef, elements: list[Element]) -> DocumentAnalysis:
        """The validated analysis; malformed output is retried, then the last error is raised."""
        from pydantic import ValidationError
        from strands import Agent
        from strands.types.exceptions import StructuredOutputException

        prompt = f"Document {readable(ref.filename)} ({ref.content_type}):\n\n{elements_as_text(elements)}"
        last: Exception | None = None
        for _ in range(self._attempts):
            agent = Agent(
                model=self._model_factory(),
                tools=_tools(elements),
                system_prompt=SYSTEM_PROMPT,
                callback_handler=None,
            )
            try:
                result = await agent.invoke_async(prompt, structured_output_model=DocumentAnalysis)
                out = result.structured_output
                if isinstance(out, DocumentAnalysis):
                    return out
                return DocumentAnalysis.model_validate(out)
            except (StructuredOutputException, ValidationError) as err:
                last = err
                await asyncio.sleep(0)
        assert last is not None
        raise last
