"""The results table's enrichment cell says what enrichment checked, not only that code ran."""

from __future__ import annotations

import pytest

from docpipe.local.rows import DocumentRow


@pytest.mark.parametrize(
    ("enriched", "status", "cell"),
    [
        (False, None, "no"),
        (True, "verified", "verified"),
        (True, "mismatch", "mismatch"),
        (True, "unchecked", "unchecked"),
        (True, "no amounts found", "no amounts"),
        (True, None, "yes"),  # a model's own enrichment output, with no status of ours
    ],
)
def test_enrichment_cell(enriched: bool, status: str | None, cell: str):
    row = DocumentRow("ab" * 32, "x.pdf", "stored", None, None, "invoice", enriched, enrichment_status=status)
    assert row.enrichment_label == cell
    assert row.to_dict()["enrichmentStatus"] == status
