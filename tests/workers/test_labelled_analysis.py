"""The offline analysis on the labelled set (tests/data/labelled): type accuracy, honest totals,
HTML without boilerplate. bench/analysis.py prints the same figures in full."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from workers.analysis.amounts_program import check_amounts, column_kind, number
from workers.analysis.heuristic import AMOUNTS_PROGRAM
from workers.documents import describe_file
from workers.extraction.elements import table_html
from workers.extraction.local import _collect, extract_local

LABELLED = Path(__file__).resolve().parents[1] / "data" / "labelled"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"labelled_{name}", LABELLED / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


evaluate = _load("evaluate")


@pytest.fixture(scope="module")
def outcomes() -> list:
    return [evaluate.run(entry) for entry in evaluate.manifest()]


def test_the_set_is_large_varied_and_split_by_type():
    entries = evaluate.manifest()
    assert len(entries) >= 40
    assert {e["format"] for e in entries} == {"txt", "md", "html", "docx", "pdf"}
    by_type = Counter(e["type"] for e in entries)
    assert set(by_type) >= {"contract", "invoice", "purchase_order", "ticket", "memo", "report", "web_page"}
    for kind in (k for k, n in by_type.items() if n >= 2):
        assert {e["split"] for e in entries if e["type"] == kind} == {"tune", "heldout"}, kind
    assert {e["batch"] for e in entries} == {"templates", "extra-1", "extra-2", "blind"}
    assert all((LABELLED / "docs" / e["file"]).is_file() for e in entries)


def test_the_generator_is_deterministic_and_the_committed_set_is_its_output(tmp_path: Path):
    _load("generate").main(tmp_path)
    made = sorted(p.name for p in (tmp_path / "docs").iterdir())
    assert made == sorted(p.name for p in (LABELLED / "docs").iterdir())
    for name in made:
        assert (tmp_path / "docs" / name).read_bytes() == (LABELLED / "docs" / name).read_bytes(), name
    assert (tmp_path / "manifest.json").read_text() == (LABELLED / "manifest.json").read_text()


def test_type_accuracy_is_at_least_90_percent_overall_and_held_out(outcomes):
    wrong = [f"{o.file}: {o.expected} → {o.predicted}" for o in outcomes if not o.correct]
    assert evaluate.accuracy(outcomes) >= 0.9, wrong
    assert evaluate.accuracy([o for o in outcomes if o.split == "heldout"]) >= 0.9, wrong


# Found by the blind batch and left as found (bench/analysis.py lists it): "Amount to pay" is not a
# total label the program knows, so the bill's sum stays "unchecked" rather than "verified".
KNOWN_TOTALS_MISSES = {"blind-electricity-bill.pdf"}


def test_every_labelled_total_is_right_and_no_amounts_are_invented(outcomes):
    problems = {o.file: o.totals_problems() for o in outcomes if o.totals_problems()}
    assert set(problems) == KNOWN_TOTALS_MISSES, problems
    for o in outcomes:  # a miss may leave a sum unchecked, but "verified" is never wrong
        r = o.enrichment
        if isinstance(r, dict) and r.get("status") == "verified":
            assert o.totals and abs(r["line_items_total"] - o.totals["items"]) < 0.005, o.file


def _outcome(outcomes, name):
    return next(o for o in outcomes if o.file == name)


def test_the_60_line_invoice_sums_only_its_amount_column(outcomes):
    o = _outcome(outcomes, "invoice-60-lines.docx")
    assert o.predicted == "invoice"
    r = o.enrichment
    assert list(r["column_totals"]) == ["Amount (USD)"]
    assert r["line_items_total"] == r["stated"]["subtotal"] == o.totals["subtotal"]
    assert r["skipped_columns"] == {"#": "row number or id", "Hours": "quantity", "Rate (USD/h)": "unit"}
    assert r["status"] == "verified" and r["items_match_subtotal"] and r["total_matches_due"]
    assert "60/60 lines qty × unit = amount" in r["check"]


def test_a_wrong_subtotal_is_reported_as_a_mismatch(outcomes):
    r = _outcome(outcomes, "invoice-bad-subtotal.md").enrichment
    assert r["status"] == "mismatch" and r["items_match_subtotal"] is False
    assert "≠ subtotal 1,820.49" in r["check"]


def test_a_table_without_money_columns_is_not_enriched(outcomes):
    o = _outcome(outcomes, "report-sustainability.md")  # kWh and % change: nothing to total
    assert o.predicted == "report" and o.enrichment is None


def test_master_services_agreement_and_purchase_order_get_their_types(outcomes):
    assert _outcome(outcomes, "contract-msa.docx").predicted == "contract"
    assert {o.predicted for o in outcomes if o.expected == "purchase_order"} == {"purchase_order"}


def test_web_pages_keep_their_content_and_lose_the_site_chrome():
    for entry in evaluate.manifest():
        if entry["format"] != "html":
            continue
        path = LABELLED / "docs" / entry["file"]
        texts = [e["text"] for e in extract_local(describe_file(path), path.read_bytes())[0]]
        joined = "\n".join(texts)
        for chrome in (
            "Sign in",
            "Privacy",
            "newsletter",
            "We use cookies",
            "All rights reserved",
            "Popular",
        ):
            assert chrome not in joined, (entry["file"], chrome)
        assert texts and len(joined) > 150, entry["file"]


def test_adjacent_links_and_buttons_are_separate_words():
    blocks = _collect("<div><a href='/'>Update</a><a href='/h'>Hello</a></div><p>Read<b>me</b> now</p>")
    assert [b[1] for b in blocks] == ["Update Hello", "Readme now"]


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Amount (USD)", "amount"),
        ("Line total", "amount"),
        ("Extended price", "amount"),
        ("Fee (EUR)", "amount"),
        ("Q3 sales", "amount"),
        ("Rate (USD/h)", "unit"),
        ("Unit price", "unit"),
        ("Price", "unit"),
        ("Hours", "quantity"),
        ("Qty", "quantity"),
        ("#", "skipped:row number or id"),
        ("Change (%)", "skipped:not an amount"),
        ("Year", "skipped:not an amount"),
        ("Notes", "skipped:header names no amount"),
    ],
)
def test_column_kinds(header, kind):
    assert column_kind(header, [1.0, 2.0]) == kind


def test_numbers_and_percentages():
    assert [number(c) for c in ["1,194.49", "$ 50.00", "(12.00)", "95.00 GBP", "12%", "7:00", "Flour"]] == [
        1194.49, 50.0, -12.0, 95.0, None, None, None,
    ]  # fmt: skip


def _table(rows: list[list[str]]) -> dict:
    return {"type": "Table", "text": "", "metadata": {"text_as_html": table_html(rows)}}


def test_total_rows_inside_a_table_are_stated_figures_not_line_items():
    rows = [["Item", "Qty", "Unit price", "Amount"], ["Boxes", "2", "5.00", "10.00"],
            ["Bags", "1", "2.50", "2.50"], ["Subtotal", "", "", "12.50"], ["VAT 20%", "", "", "2.50"],
            ["Total", "", "", "15.00"]]  # fmt: skip
    r = check_amounts([_table(rows)])
    assert r["line_items_total"] == 12.5 and r["stated"] == {"subtotal": 12.5, "tax": 2.5, "total": 15.0}
    assert r["status"] == "verified" and r["check"].startswith("items 12.50 = subtotal 12.50")


def test_no_amounts_found_says_so():
    r = check_amounts([{"type": "NarrativeText", "text": "VAT went up to 20% this year.", "metadata": {}}])
    assert r == {
        "status": "no amounts found",
        "check": "no amounts found",
        "tables": 0,
        "skipped_columns": {},
    }


async def test_the_program_runs_in_the_local_sandbox(outcomes):
    from workers.enrichment.local_sandbox import LocalSandbox, SandboxLimits

    path = LABELLED / "docs" / "invoice-60-lines.docx"
    elements, _ = extract_local(describe_file(path), path.read_bytes())
    limits = SandboxLimits(cpu_seconds=5, memory_mb=256, output_bytes=64_000, wall_seconds=30)
    _, result = await LocalSandbox(limits).run(AMOUNTS_PROGRAM, elements)
    assert result == _outcome(outcomes, "invoice-60-lines.docx").enrichment
