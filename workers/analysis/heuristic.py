"""The offline `heuristic` analysis backend: keyword rules returning the same validated model."""

from __future__ import annotations

import re
from collections import Counter

from workers.analysis.models import DocumentAnalysis, DocumentType
from workers.documents import readable
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

# Cross-checks an invoice laid out as text: line items against the subtotal, subtotal + tax against
# the amount due.
INVOICE_CHECK_CODE = """\
import re
labelled, items = {}, []
for element in elements:
    for line in element.get("text", "").splitlines():
        found = re.match(r"^\\s*([A-Za-z][^:]*):\\s*[$€£]?\\s?([\\d,]+\\.\\d{2})", line)
        if found:
            labelled[found.group(1).strip().lower()] = float(found.group(2).replace(",", ""))
        elif re.search(r"[A-Za-z].*\\s([\\d,]+\\.\\d{2})\\s*$", line):
            items.append(float(line.split()[-1].replace(",", "")))
subtotal = labelled.get("subtotal")
tax = next((v for k, v in labelled.items() if k.startswith(("vat", "tax", "gst"))), 0.0)
due = next((v for k, v in labelled.items() if "due" in k or k == "total"), None)
result = {
    "line_items_total": round(sum(items), 2),
    "amounts": labelled,
    "items_match_subtotal": subtotal is not None and abs(sum(items) - subtotal) < 0.005,
    "total_matches_due": None if due is None or subtotal is None else abs(subtotal + tax - due) < 0.005,
}
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
    summary = summary[:400] or readable(ref.filename)
    counts = Counter(m.group(0) for m in _ENTITY.finditer(text))
    entities = [name for name, _ in counts.most_common(8)] + _MONEY.findall(text)[:4]
    has_numeric_table = any(
        e.get("type") == "Table" and re.search(r"\d", e.get("text", "")) for e in elements
    )
    code, plan = None, None
    if has_numeric_table:
        code, plan = TABLE_TOTALS_CODE, "total the numeric columns of each table"
    elif doc_type == "invoice" and re.search(r"\d\.\d{2}\b", text):
        code, plan = INVOICE_CHECK_CODE, "check line items against the subtotal and the amount due"
    return DocumentAnalysis(
        document_type=doc_type,
        summary=summary,
        key_entities=list(dict.fromkeys(entities))[:20],
        needs_enrichment=code is not None,
        enrichment_code=code,
        enrichment_plan=plan,
    )
