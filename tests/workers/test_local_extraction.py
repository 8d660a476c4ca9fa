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
