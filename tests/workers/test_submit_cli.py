"""`docpipe submit` before it reaches Temporal: unsupported files never start a workflow; --json keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from workers.submit import Submission, result_dict
from workers.types import DocumentRef, PipelineResult, StageTiming

ROOT = Path(__file__).resolve().parents[2]


def test_unsupported_files_are_listed_with_the_supported_suffixes_and_never_submitted(tmp_path: Path):
    sheet, scan = tmp_path / "sheet.xlsx", tmp_path / "scan.png"
    sheet.write_bytes(b"PK")
    scan.write_bytes(b"\x89PNG")
    # No Temporal anywhere: had submit tried to start a workflow it would fail to connect instead.
    proc = subprocess.run(
        [sys.executable, "-m", "docpipe.cli", "submit", str(sheet), str(scan), "--wait"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "TEMPORAL_ADDRESS": "127.0.0.1:1"},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert f"{sheet}, {scan}" in proc.stderr
    assert "(supported: .docx .htm .html .markdown .md .pdf .txt)" in proc.stderr
    assert "no documents to submit" in proc.stderr


def test_submit_json_is_camel_case_and_leaves_enrichment_data_alone():
    ref = DocumentRef("/x/a.txt", "ab" * 32, "a.txt", "text/plain", 1)
    result = PipelineResult(
        ref.sha256,
        "a.txt",
        "stored",
        document_type="memo",
        needs_enrichment=True,
        enrichment_output={"line_items_total": 3},
        timings=[StageTiming("extraction", 5)],
    )
    data = Submission(ref, "doc-x", True, result=result).to_dict()
    assert data["workflowId"] == "doc-x"
    r = data["result"]
    assert r["documentType"] == "memo" and r["needsEnrichment"] and r["failedStage"] is None
    assert r["enrichmentOutput"] == {"line_items_total": 3}
    assert r["timings"] == [{"stage": "extraction", "milliseconds": 5}]
    assert result_dict(result) == r
