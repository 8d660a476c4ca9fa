"""The offline `heuristic` analysis backend: keyword rules returning the same validated model."""

from __future__ import annotations

import re
from collections import Counter

from workers.analysis.models import DocumentAnalysis, DocumentType
from workers.types import DocumentRef, Element

_KEYWORDS: list[tuple[DocumentType, tuple[str, ...]]] = [
    ("invoice", ("invoice", "amount due", "bill to", "subtotal")),
    ("contract", ("agreement", "hereby", "the parties", "governing law")),
    ("memo", ("memo", "memorandum", "to:", "from:")),
    ("report", ("report", "findings", "quarter", "summary")),
    ("letter", ("dear ", "sincerely")),
]
_ENTITY = re.compile(r"\b[A-Z][a-zA-Z&-]+(?: [A-Z][a-zA-Z&-]+)+\b")
_MONEY = re.compile(r"(?:[$€£]\s?\d[\d,]*(?:\.\d{2})?|\b\d[\d,]*\.\d{2}\s?(?:USD|EUR|GBP)\b)")

# Sums the numeric cells of each table column: worth computing for invoices and tabular reports.
TABLE_TOTALS_CODE = """\
import re
totals = {}
tables = [e for e in elements if e.get("type") == "Table"]
for table in tables:
    html = (table.get("metadata") or {}).get("text_as_html") or ""
    rows = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html)]
    header = rows[0] if rows else []
    for row in rows[1:]:
        for index, cell in enumerate(row):
            if re.fullmatch(r"[-+]?[$€£]?\\s?[\\d,]+(\\.\\d+)?", cell.strip()):
                cleaned = re.sub(r"[^0-9.\\-]", "", cell)
                name = header[index] if index < len(header) and header[index] else f"column {index + 1}"
                totals[name] = round(totals.get(name, 0.0) + float(cleaned), 2)
result = {"tables": len(tables), "column_totals": totals}
"""


def analyse(ref: DocumentRef, elements: list[Element]) -> DocumentAnalysis:
    text = "\n".join(str(e.get("text", "")) for e in elements)
    lower = text.lower()
    doc_type: DocumentType = "web_page" if ref.content_type == "text/html" else "other"
    best = 0
    for kind, words in _KEYWORDS:
        score = sum(lower.count(w) for w in words)
        if score > best:
            doc_type, best = kind, score
    narrative = [e["text"] for e in elements if e.get("type") == "NarrativeText" and e.get("text")]
    titles = [e["text"] for e in elements if e.get("type") == "Title" and e.get("text")]
    summary_src = " ".join(narrative[:2]) or " ".join(titles[:2]) or text
    summary = (titles[0] + ": " if titles else "") + " ".join(summary_src.split())
    summary = summary[:400] or ref.filename
    counts = Counter(m.group(0) for m in _ENTITY.finditer(text))
    entities = [name for name, _ in counts.most_common(8)] + _MONEY.findall(text)[:4]
    has_numeric_table = any(
        e.get("type") == "Table" and re.search(r"\d", e.get("text", "")) for e in elements
    )
    needs = has_numeric_table or (doc_type == "invoice" and bool(_MONEY.search(text)))
    return DocumentAnalysis(
        document_type=doc_type,
        summary=summary,
        key_entities=list(dict.fromkeys(entities))[:20],
        needs_enrichment=needs,
        enrichment_code=TABLE_TOTALS_CODE if needs else None,
        enrichment_plan="total the numeric columns of each table" if needs else None,
    )
