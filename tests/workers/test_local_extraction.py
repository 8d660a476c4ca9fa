"""The local extraction backend on every sample type: Unstructured's element schema, offline."""

from __future__ import annotations

import io

import pytest
from temporalio.exceptions import ApplicationError

from workers.documents import describe_bytes, describe_file
from workers.extraction.local import extract_local

SCHEMA_KEYS = {"type", "element_id", "text", "metadata"}
TYPES = {"Title", "NarrativeText", "ListItem", "Table", "CodeSnippet", "UncategorizedText"}


def _extract(samples_dir, name):
    ref = describe_file(samples_dir / name)
    return extract_local(ref, (samples_dir / name).read_bytes())


@pytest.mark.parametrize("name", ["invoice.pdf", "contract.docx", "report.md", "page.html", "memo.txt"])
def test_every_sample_yields_elements_in_unstructured_schema(samples_dir, name):
    elements, pages = _extract(samples_dir, name)
    assert elements and pages >= 1
    for e in elements:
        assert set(e) == SCHEMA_KEYS
        assert e["type"] in TYPES and e["text"].strip()
        assert e["metadata"]["filename"] == name and e["metadata"]["page_number"] >= 1
        assert len(e["element_id"]) == 32
    assert len({e["element_id"] for e in elements}) == len(elements)
    assert _extract(samples_dir, name)[0] == elements, "extraction is deterministic"


def test_pdf_pages_are_numbered(samples_dir):
    elements, pages = _extract(samples_dir, "invoice.pdf")
    assert pages == 2
    assert {e["metadata"]["page_number"] for e in elements} == {1, 2}
    assert any("Amount due: 114.00 GBP" in e["text"] and e["metadata"]["page_number"] == 2 for e in elements)


def test_docx_headings_lists_and_tables(samples_dir):
    elements, _ = _extract(samples_dir, "contract.docx")
    kinds = [e["type"] for e in elements]
    assert kinds[0] == "Title" and elements[0]["text"] == "Services Agreement"
    assert kinds.count("ListItem") == 2
    table = next(e for e in elements if e["type"] == "Table")
    assert "<td>Forecast</td><td>900</td>" in table["metadata"]["text_as_html"]


def test_markdown_table_and_headings(samples_dir):
    elements, _ = _extract(samples_dir, "report.md")
    assert [e["text"] for e in elements if e["type"] == "Title"][:2] == [
        "Q3 Store Performance Report",
        "Summary",
    ]
    table = next(e for e in elements if e["type"] == "Table")
    assert "Quay Street" in table["text"] and "---" not in table["text"]
    assert table["metadata"]["text_as_html"].count("<tr>") == 4


def test_html_skips_scripts_and_keeps_structure(samples_dir):
    elements, _ = _extract(samples_dir, "page.html")
    assert not any("console.log" in e["text"] for e in elements)
    assert [e["text"] for e in elements if e["type"] == "ListItem"] == [
        "12 Quay Street",
        "4 Market Square",
        "Station Road, Unit 3",
    ]


def test_text_memo(samples_dir):
    elements, _ = _extract(samples_dir, "memo.txt")
    assert elements[0] == {**elements[0], "type": "Title", "text": "MEMO"}
    assert sum(e["type"] == "ListItem" for e in elements) == 2


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("broken.pdf", b"%PDF-1.4 garbage", "not a readable PDF"),
        ("broken.docx", b"PK not really a zip", "not a readable DOCX"),
        ("photo.png", b"\x89PNG\r\n", "cannot read image/png"),
    ],
)
def test_unreadable_documents_are_bad_documents(name, data, reason):
    with pytest.raises(ApplicationError) as info:
        extract_local(describe_bytes(data, name, name), data)
    assert info.value.non_retryable and info.value.type == "BadDocument"
    assert reason in info.value.message and name in info.value.message


def test_pdf_without_text_is_a_bad_document():
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=100, height=100)
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(ApplicationError, match="no extractable text"):
        extract_local(describe_bytes(out.getvalue(), "scan.pdf", "scan.pdf"), out.getvalue())


def test_a_non_utf8_file_name_and_a_nul_byte_go_through_extraction_and_analysis(tmp_path):
    """Issue 16: `caf\xe9-\xff.txt` used to fail every extraction attempt (its element ids could not
    be hashed) and a NUL text every store; both now reach a storable row."""
    import json
    import os

    from workers.analysis.heuristic import analyse
    from workers.storage.repository import upsert_params
    from workers.types import AnalyzeResult, StoreInput

    path = tmp_path / os.fsdecode(b"caf\xe9-\xff.txt")
    path.write_bytes(b"Memo with a NUL \x00 byte.\n\nPlease review the attached figures.\n")
    ref = describe_file(path)
    assert ref.filename == os.fsdecode(b"caf\xe9-\xff.txt")  # the exact name travels in the reference
    elements, _ = extract_local(ref, path.read_bytes())
    assert elements[0]["metadata"]["filename"] == "caf\ufffd-\ufffd.txt"
    json.dumps(elements).encode()  # what a payload or a model request encodes
    a = analyse(ref, elements)
    result = AnalyzeResult(a.document_type, a.summary, a.key_entities, False, "heuristic")
    params = upsert_params(StoreInput(ref, "stored", analysis=result))
    for value in params.values():
        if isinstance(value, str):
            value.encode()  # psycopg sends UTF-8
            assert "\x00" not in value and "\\u0000" not in value
    assert params["filename_bytes"] == os.fsencode(str(path.name))
