"""The command line's one table renderer: fits the width it is given (80 without a terminal), cuts
nothing, prints cell text verbatim."""

from __future__ import annotations

import pytest

from docpipe.cli.status import render as render_status
from docpipe.cli.table import render_table

from .helpers import run_python

LONG = (
    "3,000 files × (1 start + 3.3 activities) = 12,900 actions, 1,000,000 included → billable 0; "
    "storage 0.01875 active + 25.20 retained GB-h"
)


def column(lines: list[str], at: int) -> str:
    """A left-aligned column's cells from character `at` on, joined over the lines they wrap to."""
    return " ".join(line[at:].strip() for line in lines[1:] if line[at:].strip())


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_a_table_fits_the_width_and_keeps_every_word(width: int) -> None:
    lines = render_table(["component", "USD/month", "working"], [["temporal", "100.03", LONG]], width=width)
    assert max(len(line) for line in lines) <= width
    assert column(lines, lines[0].index("working")) == LONG
    assert lines[1].startswith("temporal") and "100.03" in lines[1]


def test_the_widest_column_wraps_first_and_no_word_is_split() -> None:
    header = ["role", "target", "compute USD/month", "working"]
    lines = render_table(header, [["extraction", "cloudrun", "22.99", LONG]], align="<<><", width=60)
    assert max(len(line) for line in lines) <= 60
    # "compute USD/month" may wrap at its space, never inside "USD/month"; role and target stay whole.
    assert any("USD/month" in line for line in lines[:2])
    assert any(line.startswith("extraction  cloudrun") for line in lines)


def test_when_words_cannot_fit_the_widest_cells_fold_and_headings_stay_whole() -> None:
    header = ["document", "type", "enriched", "row (sha256)", "extract", "analyse", "enrich", "store"]
    row = ["contract.docx", "contract", "yes", "244da775b6ba", "316 ms", "97 ms", "150 ms", "—"]
    lines = render_table([*header, "outcome"], [[*row, "skipped: already stored"]], width=80)
    assert max(len(line) for line in lines) <= 80
    head = next(n for n, line in enumerate(lines) if "document" in line)
    assert {"document", "enriched", "extract", "analyse", "outcome"} <= set(lines[head].split())
    type_at = lines[head].index("type")
    assert "".join(line[:type_at].strip() for line in lines[head + 1 :]) == "contract.docx"  # folded, whole


def test_cells_are_text_not_markup_and_right_aligned_cells_keep_trailing_spaces() -> None:
    rows = [["[docpipe:placement:Ec2]", "17.12†"], ["TOTAL", "100.03 "]]
    lines = render_table(["component", "USD/month"], rows, align="<>", width=80)
    assert "[docpipe:placement:Ec2]" in lines[1]
    assert lines[1].index(".12†") == lines[2].index(".03")  # the decimal points line up
    assert all(line == line.rstrip() for line in lines)


def test_indent_and_no_header() -> None:
    rows = [["stored", "3"], ["in flight", "12", "(running in Temporal)"]]
    lines = render_table(None, rows, align="<>", indent=2)
    assert lines == ["  stored      3", "  in flight  12  (running in Temporal)"]


def test_status_failures_wrap_inside_their_column_at_80() -> None:
    reason = "extraction failed: not a readable docx (zip archive without word/document.xml) " * 2
    failure = {"filename": "archive.docx", "sha256": "ab" * 32, "failedStage": "extraction", "reason": reason}
    data = {
        "source": "DOCPIPE_DATABASE_URL",
        "counts": {"failed": 1},
        "total": 1,
        "inFlight": None,
        "failures": [failure],
    }
    lines = render_status(data).splitlines()
    assert max(len(line) for line in lines) <= 80
    failures = lines[lines.index("failures (1, newest first):") + 1 :]
    assert failures[0].startswith("  archive.docx  abababababab  extraction  ")
    at = failures[0].index("extraction  ") + len("extraction  ")
    assert column(["", *failures], at) == reason.strip()


def _cost_table(columns: str | None) -> list[str]:
    # The whole view: the table and the details wrapped below it both follow the width.
    return run_python(["-m", "docpipe.cli", "cost", "--stack", "prod"], {"COLUMNS": columns}).splitlines()


def test_without_a_terminal_output_fits_80_columns_and_columns_widens_it() -> None:
    narrow = _cost_table(None)
    assert max(len(line) for line in narrow) <= 80
    wide = _cost_table("160")
    assert 80 < max(len(line) for line in wide) <= 160
    assert len(wide) < len(narrow)  # fewer wrapped lines
