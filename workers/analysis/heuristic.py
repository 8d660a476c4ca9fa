"""The offline `heuristic` analysis backend: weighted cue rules returning the same validated model.

Measured on the labelled set in tests/data/labelled (bench/analysis.py prints the accuracy).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import cast

from workers.analysis.models import DocumentAnalysis, DocumentType
from workers.documents import readable
from workers.types import DocumentRef, Element

# Each type's cues: (pattern, weight). A cue counts up to three times, so one repeated word cannot
# outvote the rest. Cues in the document's heading (its first title) count _HEADING_WEIGHT times more:
# a document usually says what it is at the top ("Invoice", "Purchase order", "... Agreement").
_Cue = tuple[str, float]
_HEADING: dict[DocumentType, str] = {
    "invoice": r"\binvoice\b",
    "purchase_order": r"\bpurchase\s+order\b",
    "contract": r"\b(agreement|contract|lease|licen[cs]e|statement of work|terms and conditions|addendum)\b",
    "memo": r"\b(memo|memorandum|staff notice|notice to staff)\b",
    "report": r"\b((?<!bug )report|review|results|analysis|survey|assessment|audit|study)\b"
    r"|\b(monthly|weekly|quarterly|annual|operations|performance|progress|status)\s+(update|overview|summary)\b",
    "ticket": r"\b(ticket|case|issue|bug)\s*#?\s*\d+|\b(support|request|incident)\s*#\s*\d+|\bticket\b"
    r"|\bbug report\b|\b(feature|support|service) request\b",
}
_HEADING_WEIGHT = 6.0
_CUES: dict[DocumentType, list[_Cue]] = {
    "invoice": [
        (r"\binvoice\s*(number|no\.?|#|date|[A-Z]*-?\d)", 3), (r"\bbill(ed)?\s+to\b", 2),
        (r"\b(amount|balance|total)\s+(due|payable)\b", 2),
        (r"\b(remit|pay by|payable|payment terms|due date)\b", 1),
        (r"\bsub-?\s?total\b", 1), (r"\b(vat|sales tax|gst)\b", 1), (r"\binvoice\b", 1),
    ],
    "purchase_order": [
        (r"\bpurchase\s+order\b", 3), (r"\bpo\s*(number|no\.?|#)|\bpo-\d", 3), (r"\border\s+total\b", 2),
        (r"\b(ship|deliver)\s+to\b", 1), (r"\b(supplier|vendor)\b", 1), (r"\bbuyer\b", 1),
        (r"\b(required by|delivery date|delivery note)\b", 1), (r"\bplease (supply|deliver)\b", 2),
    ],
    "contract": [
        (r"\bagreement\b", 1), (r"\b(the|each|either|both|neither|other)\s+part(y|ies)\b", 2),
        (r"\b(hereby|hereto|herein|hereof|whereas)\b", 2), (r"\bshall\b", 1),
        (r"\bgoverned by the laws?\b", 3), (r"\bterminat(e|ion|ed)\b", 1), (r"\bin witness whereof\b", 3),
        (r"\bconfidential information\b", 1), (r"\beffective date\b", 1),
        (r"\b(licen[cs]ee|licen[cs]or|tenant|landlord|employee|employer|lessee|lessor)\b", 1),
    ],
    "ticket": [
        (r"\bticket\b", 2), (r"\bstatus:\s*(open|pending|closed|resolved|new|on hold|in progress)\b", 3),
        (r"\bpriority:", 3), (r"\b(requester|reporter|assignee|assigned to)\b", 2),
        (r"\bsteps to reproduce\b", 3), (r"\b(agent|customer|support)\s+(reply|response|comment)\b", 2),
        (r"\b(case|ticket|request) status\b", 3), (r"\breply above this line\b", 3),
        (r"\b(reproduce|workaround|roll back)\b", 1), (r"\b(expected|actual) (behaviou?r|result)\b", 2),
        (r"\b(error|bug|crash(es|ed)?|not working|does not work|nothing happens)\b", 1),
        (r"\bescalat", 1), (r"^\s*tags:", 1),
    ],
    "memo": [
        (r"^\s*(to|from|date|subject|re|cc):", 2), (r"\bmemo(randum)?\b", 2),
        (r"\b(all staff|line manager|shop managers|team)\b", 0.5),
    ],
    "report": [
        (r"\bexecutive summary\b", 3), (r"\bsummary\b", 1), (r"\b(findings|recommend(ation)?s?)\b", 2),
        (r"\bmethodolog(y|ies)\b", 2), (r"\b(analysis|results)\b", 1), (r"\bprepared (by|for)\b", 2),
        (r"\b(quarter(ly)?|q[1-4]|year[- ]on[- ]year|compared with)\b", 1), (r"\breport\b", 2),
        (r"\bnext steps\b", 1), (r"\b(key metrics|kpis?|highlights|risks)\b", 1),
    ],
    "letter": [
        (r"^\s*dear\s+\w+", 4), (r"\b(yours (sincerely|faithfully|truly)|kind regards|best regards)\b", 4),
        (r"\b(i am writing|further to|i enclose|enclosed)\b", 2),
    ],
    "web_page": [
        (r"\b(subscribe|newsletter|share this|posted by|comments?|read more|sign up)\b", 1),
        (r"\badd to (basket|cart)\b", 1), (r"\b(faq|frequently asked questions)\b", 3),
        (r"\b(release notes|what's new)\b", 2), (r"\bblog\b", 1),
    ],
}  # fmt: skip
_COMPILED = {
    kind: [(re.compile(p, re.IGNORECASE | re.MULTILINE), w) for p, w in cues] for kind, cues in _CUES.items()
}
_HEADINGS = {kind: re.compile(p, re.IGNORECASE) for kind, p in _HEADING.items()}
# A page fetched from the web is a web page unless its content says clearly what else it is.
_WEB_PRIOR = 4.0
_MIN_SCORE = 3.0
_ENTITY = re.compile(r"\b[A-Z][a-zA-Z&-]+(?: [A-Z][a-zA-Z&-]+)+\b")
# The enrichment program, as the sandbox runs it (see amounts_program.py for what it sums and checks).
AMOUNTS_PROGRAM = (Path(__file__).parent / "amounts_program.py").read_text(encoding="utf-8")
_MONEY = re.compile(r"(?:[$€£]\s?\d[\d,]*(?:\.\d{2})?|\b\d[\d,]*\.\d{2}\s?(?:USD|EUR|GBP)\b)")


# How much of the document's text the rules read: the type (first pages) and the entities.
_CLASSIFY_CHARS = 20_000
_ENTITY_CHARS = 200_000


def _head(elements: list[Element], limit: int) -> str:
    parts, size = [], 0
    for e in elements:
        if size >= limit:
            break
        part = str(e.get("text", ""))[: limit - size]
        parts.append(part)
        size += len(part) + 1
    return "\n".join(parts)


def classify(ref: DocumentRef, elements: list[Element]) -> tuple[DocumentType, dict[str, float]]:
    """(type, every type's score): cue weights summed over the text's head, heading cues counting
    more. A document says what it is in its first pages; reading only those keeps a 50 MB one fast."""
    text = _head(elements, _CLASSIFY_CHARS)
    heading = next((str(e.get("text", "")) for e in elements[:3] if e.get("type") == "Title"), "")
    heading = heading or (str(elements[0].get("text", ""))[:120] if elements else "")
    scores: dict[str, float] = {}
    for kind, cues in _COMPILED.items():
        scores[kind] = sum(w * min(len(p.findall(text)), 3) for p, w in cues)
    for kind, pattern in _HEADINGS.items():
        if pattern.search(heading):
            scores[kind] += _HEADING_WEIGHT
    if ref.content_type in {"text/html", "application/xhtml+xml"}:
        scores["web_page"] += _WEB_PRIOR
    best = max(scores, key=lambda k: scores[k])
    doc_type = cast(DocumentType, best) if scores[best] >= _MIN_SCORE else "other"
    return doc_type, scores


def analyse(ref: DocumentRef, elements: list[Element]) -> DocumentAnalysis:
    from workers.analysis import amounts_program

    text = _head(elements, _ENTITY_CHARS)
    doc_type, _ = classify(ref, elements)
    narrative = [e["text"] for e in elements if e.get("type") == "NarrativeText" and e.get("text")]
    titles = [e["text"] for e in elements if e.get("type") == "Title" and e.get("text")]
    summary_src = " ".join(narrative[:2]) or " ".join(titles[:2]) or text
    summary = (titles[0] + ": " if titles else "") + " ".join(summary_src.split())
    summary = summary[:400] or readable(ref.filename)
    counts = Counter(m.group(0) for m in _ENTITY.finditer(text))
    entities = [name for name, _ in counts.most_common(8)] + _MONEY.findall(text)[:4]
    # The enrichment program's own rules decide whether the document has amounts at all: a sandbox
    # run is worth it only when there is something to total or to check.
    found = amounts_program.check_amounts(elements)
    code, plan = None, None
    if found["status"] != "no amounts found":
        code = AMOUNTS_PROGRAM
        plan = "total the amount columns and check them against the stated subtotal and total"
    return DocumentAnalysis(
        document_type=doc_type,
        summary=summary,
        key_entities=list(dict.fromkeys(entities))[:20],
        needs_enrichment=code is not None,
        enrichment_code=code,
        enrichment_plan=plan,
    )
