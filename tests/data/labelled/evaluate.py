"""Run the offline analysis on the labelled set: local extraction → heuristic analysis → the
enrichment program the analysis wrote. Shared by bench/analysis.py and its test.

The enrichment code runs in-process here (it is the heuristic's own code, not a model's): the
sandbox's limits and isolation are tested elsewhere; this measures what the code computes.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@dataclass
class Outcome:
    file: str
    split: str
    batch: str
    expected: str
    predicted: str
    enrichment: Any  # the program's `result`, None when analysis asked for none
    totals: dict[str, Any] = field(default_factory=dict)  # the manifest's expectations

    @property
    def correct(self) -> bool:
        return self.expected == self.predicted

    def totals_problems(self) -> list[str]:
        """What the enrichment got wrong against the labels (empty: right)."""
        return totals_problems(self.totals, self.enrichment)


def manifest() -> list[dict[str, Any]]:
    return json.loads((HERE / "manifest.json").read_text())


def run(entry: dict[str, Any]) -> Outcome:
    from workers.analysis.heuristic import analyse
    from workers.documents import describe_file
    from workers.extraction.local import extract_local

    path = HERE / "docs" / entry["file"]
    ref = describe_file(path)
    elements, _ = extract_local(ref, path.read_bytes())
    elements = json.loads(json.dumps(elements))  # as the sandbox receives them
    analysis = analyse(ref, elements)
    result = None
    if analysis.needs_enrichment and analysis.enrichment_code:
        namespace: dict[str, Any] = {"elements": elements, "__name__": "__enrichment__"}
        exec(compile(analysis.enrichment_code, "<enrichment>", "exec"), namespace)
        result = namespace.get("result")
    return Outcome(
        file=entry["file"],
        split=entry["split"],
        batch=entry["batch"],
        expected=entry["type"],
        predicted=analysis.document_type,
        enrichment=result,
        totals=entry.get("totals", {}),
    )


def totals_problems(expected: dict[str, Any], result: Any) -> list[str]:
    problems: list[str] = []
    status = (result or {}).get("status") if isinstance(result, dict) else None
    if not expected:
        # No money in the document: either no enrichment, or one that says it found no amounts.
        if result is not None and status != "no amounts found":
            problems.append(f"reports amounts where none are labelled ({status})")
        return problems
    if not isinstance(result, dict):
        return [f"no enrichment (expected items {expected['items']:,.2f})"]
    items = result.get("line_items_total")
    if items is None or abs(items - expected["items"]) > 0.005:
        problems.append(f"items {items} != {expected['items']}")
    for key in ("subtotal", "total"):
        if key in expected and (result.get("stated") or {}).get(key) != expected[key]:
            problems.append(f"stated {key} {(result.get('stated') or {}).get(key)} != {expected[key]}")
    want = {"match": "verified", "mismatch": "mismatch", "unchecked": "unchecked"}[expected["check"]]
    if status != want:
        problems.append(f"status {status!r} != {want!r}")
    return problems


def confusion(outcomes: list[Outcome]) -> tuple[list[str], Counter[tuple[str, str]]]:
    labels = sorted({o.expected for o in outcomes} | {o.predicted for o in outcomes})
    return labels, Counter((o.expected, o.predicted) for o in outcomes)


def accuracy(outcomes: list[Outcome]) -> float:
    return sum(o.correct for o in outcomes) / len(outcomes) if outcomes else 0.0
