"""The offline `local` extraction backend: small, well-kept parsers per format.

Text and Markdown by hand, HTML with readability-lxml (boilerplate removal) then the stdlib parser,
PDF with pypdf, DOCX with python-docx. Each emits Unstructured's element schema, so analysis cannot
tell which backend extracted a document.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from typing import Any, ClassVar

from workers.errors import bad_document
from workers.extraction.elements import make_element, table_html, table_text, text_elements, unwrap_lines
from workers.types import DocumentRef, Element

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def extract_local(ref: DocumentRef, data: bytes) -> tuple[list[Element], int]:
    """(elements, page count) of a document; unsupported or unreadable input is a bad document."""
    kind = ref.content_type
    if kind == PDF or ref.filename.lower().endswith(".pdf"):
        return _pdf(ref, data)
    if kind == DOCX or ref.filename.lower().endswith(".docx"):
        return _docx(ref, data), 1
    if not (kind.startswith("text/") or kind in {"application/xhtml+xml", "application/json"}):
        raise bad_document(f"{ref.filename}: the local backend cannot read {kind} documents")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if kind in {"text/html", "application/xhtml+xml"}:
        return _html(ref, text), 1
    if kind == "text/markdown":
        return _markdown(ref, text), 1
    return text_elements(text, filename=ref.filename, filetype=kind), 1


def _markdown(ref: DocumentRef, text: str) -> list[Element]:
    out: list[Element] = []
    meta: dict[str, Any] = {"filename": ref.filename, "filetype": ref.content_type}
    lines = text.splitlines()
    para: list[str] = []

    def flush() -> None:
        if para:
            out.extend(text_elements("\n".join(para), **meta, start=len(out)))
            para.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if line.strip().startswith("```"):
            flush()
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            out.append(make_element("CodeSnippet", "\n".join(lines[i + 1 : j]), **meta, index=len(out)))
            i = j + 1
            continue
        if heading:
            flush()
            depth = len(heading.group(1)) - 1
            out.append(
                make_element("Title", heading.group(2).strip(), **meta, index=len(out), category_depth=depth)
            )
        elif line.lstrip().startswith("|"):
            flush()
            rows: list[list[str]] = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                    rows.append(cells)
                i += 1
            out.append(
                make_element("Table", table_text(rows), **meta, index=len(out), text_as_html=table_html(rows))
            )
            continue
        elif not line.strip():
            flush()
        else:
            para.append(re.sub(r"[*_`]", "", line))
        i += 1
    flush()
    return out


class _HtmlCollector(HTMLParser):
    BLOCKS: ClassVar[dict[str, str]] = {
        "p": "NarrativeText",
        "li": "ListItem",
        "pre": "CodeSnippet",
        "blockquote": "NarrativeText",
        "dd": "NarrativeText",
        "dt": "NarrativeText",
        "figcaption": "NarrativeText",
    }
    HEADINGS: ClassVar[set[str]] = {f"h{n}" for n in range(1, 7)}
    SKIP: ClassVar[set[str]] = {"script", "style", "head", "noscript", "template", "svg"}
    # Block-level containers: text on either side of one is never the same paragraph.
    BREAKS: ClassVar[set[str]] = {
        "div", "br", "hr", "section", "article", "main", "header", "footer", "nav", "aside",
        "form", "fieldset", "address", "ul", "ol", "dl", "figure", "details", "summary",
    }  # fmt: skip
    # Inline controls that sit side by side without spaces (links in a row, buttons): a word
    # boundary at their edges, so "<a>Update</a><a>Hello</a>" reads "Update Hello".
    SEPARATE: ClassVar[set[str]] = {"a", "button", "label", "option", "td", "th", "img"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str, dict[str, Any]]] = []
        self._text: list[str] = []
        self._skip = 0
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def _flush(self, kind: str, **extra: Any) -> None:
        text = " ".join("".join(self._text).split())
        self._text = []
        if text:
            self.blocks.append((kind, text, extra))

    def _boundary(self) -> None:
        target = self._cell if self._cell is not None else self._text
        if target and target[-1][-1:].isalnum():
            target.append(" ")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skip += 1
        elif tag == "table":
            self._flush("NarrativeText")
            self._rows = []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in {"td", "th"} and self._rows is not None:
            self._cell = []
        elif tag in self.BLOCKS or tag in self.HEADINGS or tag in self.BREAKS:
            self._flush("NarrativeText")
        elif tag in self.SEPARATE:
            self._boundary()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in {"td", "th"} and self._rows is not None and self._cell is not None:
            if self._rows:
                self._rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._rows is not None:
            rows = [r for r in self._rows if r]
            if rows:
                self.blocks.append(("Table", table_text(rows), {"text_as_html": table_html(rows)}))
            self._rows = None
        elif tag in self.HEADINGS:
            self._flush("Title", category_depth=int(tag[1]) - 1)
        elif tag in self.BLOCKS:
            self._flush(self.BLOCKS[tag])
        elif tag in self.BREAKS:
            self._flush("NarrativeText")
        elif tag in self.SEPARATE:
            self._boundary()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif self._rows is None:
            self._text.append(data)


def _collect(html: str) -> list[tuple[str, str, dict[str, Any]]]:
    parser = _HtmlCollector()
    parser.feed(html)
    parser.close()
    parser._flush("NarrativeText")
    return parser.blocks


# Readability scores every node: about 3 s a megabyte on one core. Past this a page is kept whole
# (pages are rarely a tenth of it; an activity must not spend minutes on one).
_READABILITY_MAX_CHARS = 5_000_000


def main_content(html: str) -> tuple[str, str]:
    """(title, the page's main content as HTML): navigation, sidebars, footers and ads removed by
    readability-lxml (a port of Mozilla Readability, the browsers' reader view). A page it cannot
    score (empty, no text at all, or past _READABILITY_MAX_CHARS) is kept whole."""
    from readability import Document
    from readability.readability import Unparseable

    if len(html) > _READABILITY_MAX_CHARS:
        return "", html
    try:
        document = Document(html)
        return document.short_title() or "", document.summary(html_partial=True)
    except (Unparseable, ValueError):  # lxml raises ValueError on an empty or text-less document
        return "", html


def _html(ref: DocumentRef, text: str) -> list[Element]:
    title, content = main_content(text)
    blocks = _collect(content)
    if not any(kind != "Title" for kind, _, _ in blocks):
        blocks = _collect(text)  # nothing scored as content: keep the whole page rather than nothing
    if title and not any(kind == "Title" for kind, _, _ in blocks):
        blocks.insert(0, ("Title", title, {"category_depth": 0}))
    return [
        make_element(kind, body, filename=ref.filename, filetype=ref.content_type, index=i, **extra)
        for i, (kind, body, extra) in enumerate(blocks)
    ]


def _pdf(ref: DocumentRef, data: bytes) -> tuple[list[Element], int]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise bad_document(f"{ref.filename}: the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except PdfReadError as err:
        raise bad_document(f"{ref.filename}: not a readable PDF ({err})") from None
    out: list[Element] = []
    for number, text in enumerate(pages, start=1):
        out.extend(
            text_elements(
                unwrap_lines(text), filename=ref.filename, filetype=PDF, page_number=number, start=len(out)
            )
        )
    if not out:
        raise bad_document(
            f"{ref.filename}: no extractable text "
            "(a scanned PDF needs the unstructured-api backend with the hi_res strategy)"
        )
    return out, len(pages)


def _docx(ref: DocumentRef, data: bytes) -> list[Element]:
    import zipfile

    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as err:
        raise bad_document(f"{ref.filename}: not a readable DOCX ({err})") from None
    meta: dict[str, Any] = {"filename": ref.filename, "filetype": DOCX}
    out: list[Element] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = [[cell.text.strip() for cell in row.cells] for row in block.rows]
            out.append(
                make_element("Table", table_text(rows), **meta, index=len(out), text_as_html=table_html(rows))
            )
        elif isinstance(block, Paragraph) and block.text.strip():
            style = (block.style.name if block.style is not None else "") or ""
            if style.startswith(("Heading", "Title")):
                out.append(make_element("Title", block.text.strip(), **meta, index=len(out)))
            elif style.startswith("List"):
                out.append(make_element("ListItem", block.text.strip(), **meta, index=len(out)))
            else:
                out.extend(text_elements(block.text, **meta, start=len(out)))
    return out
