"""The validated analysis result every analysis backend returns, and how it reads the elements."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from workers.types import Element

DocumentType = Literal[
    "invoice", "purchase_order", "contract", "report", "memo", "ticket", "web_page", "letter", "other"
]

ENRICHMENT_CONTRACT = (
    "Enrichment code is Python 3 run in a sandbox with no network and no files. A list `elements` "
    "(dicts with type, text, metadata) is already defined; assign the JSON-serialisable output to a "
    "variable named `result`. Only the standard library is available."
)


class DocumentAnalysis(BaseModel):
    """What analysis concludes about a document."""

    document_type: DocumentType = Field(description="the kind of document")
    summary: str = Field(min_length=1, max_length=2000, description="two or three sentences")
    key_entities: list[str] = Field(default_factory=list, max_length=50, description="people, orgs, amounts")
    needs_enrichment: bool = Field(description="true when computing over the content adds value")
    enrichment_code: str | None = Field(None, description=ENRICHMENT_CONTRACT)
    enrichment_plan: str | None = Field(None, description="one sentence on what the code computes")

    @model_validator(mode="after")
    def _code_when_needed(self) -> DocumentAnalysis:
        if self.needs_enrichment and not (self.enrichment_code or "").strip():
            raise ValueError("needs_enrichment is true but enrichment_code is empty")
        return self


def elements_as_text(elements: list[Element], limit: int = 30_000) -> str:
    """The document as the model sees it: one line per element, tagged with its type and page."""
    lines = []
    for e in elements:
        page = (e.get("metadata") or {}).get("page_number", 1)
        lines.append(f"[{e.get('type')} p{page}] {e.get('text', '')}")
    text = "\n".join(lines)
    return text if len(text) <= limit else text[:limit] + "\n[… truncated]"
