"""Unstructured's element schema (type, element_id, text, metadata), and a plain-text classifier.

Element types used: Title, NarrativeText, ListItem, Table, CodeSnippet, UncategorizedText.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from workers.documents import readable
from workers.types import Element

_COLUMN_GAP = re.compile(r"\s{2,}|\t")
_BULLET = re.compile(r"^\s*(?:[-*•‣◦]|\d{1,3}[.)])\s+")


def make_element(
    kind: str, text: str, *, filename: str, filetype: str, page_number: int = 1, index: int = 0, **extra: Any
) -> Element:
    filename = readable(filename)  # a non-UTF-8 name cannot be encoded as it is
    # Deterministic ids (Unstructured hashes text + position too): re-extraction yields the same ids.
    digest = hashlib.sha256(f"{filename}|{page_number}|{index}|{kind}|{text}".encode()).hexdigest()[:32]
    metadata: dict[str, Any] = {"filename": filename, "filetype": filetype, "page_number": page_number}
    metadata.update({k: v for k, v in extra.items() if v is not None})
    return {"type": kind, "element_id": digest, "text": text, "metadata": metadata}


def classify_block(text: str) -> tuple[str, str]:
    """(type, cleaned text) of one block of plain text."""
    stripped = text.strip()
    if _BULLET.match(stripped):
        return "ListItem", _BULLET.sub("", stripped, count=1)
    one_line = "\n" not in stripped
    words = stripped.split()
    alnum = [c for c in stripped if c.isalnum()]
    if alnum and sum(c.isdigit() for c in alnum) > 0.3 * len(alnum):
        return "UncategorizedText", stripped  # figures, not a heading
    short = one_line and 0 < len(words) <= 12 and not stripped.endswith((".", ",", ";", ":"))
    if short and (stripped.isupper() or stripped.istitle() or len(words) <= 6):
        return "Title", stripped
    if len(words) < 3 and not stripped.endswith("."):
        return "UncategorizedText", stripped
    return "NarrativeText", " ".join(stripped.split())


def split_blocks(text: str) -> list[str]:
    """Paragraphs (blank-line separated); bullet lines become blocks of their own."""
    blocks: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        lines = [ln for ln in para.splitlines() if ln.strip()]
        current: list[str] = []
        for line in lines:
            if _BULLET.match(line):
                if current:
                    blocks.append("\n".join(current))
                    current = []
                blocks.append(line)
            else:
                current.append(line)
        if current:
            blocks.append("\n".join(current))
    return blocks


def unwrap_lines(text: str) -> str:
    """Text laid out in lines (PDF): a line joins the next only when it looks wrapped (near full width)."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    width = max((len(ln) for ln in lines), default=0)
    out: list[str] = []
    for line in lines:
        wrapped = out and out[-1] and line.strip() and len(out[-1].splitlines()[-1]) >= 0.8 * width > 40
        # A table row never continues a line nor is continued: its width is its columns', not wrapping.
        row_here = len(_COLUMN_GAP.split(line.strip())) >= 3
        if wrapped and not row_here and len(_COLUMN_GAP.split(out[-1].splitlines()[-1].strip())) < 3:
            out[-1] += "\n" + line
        else:
            out.append(line)
    return "\n\n".join(block for block in out if block.strip())


def _aligned_cells(block: str) -> list[list[str]] | None:
    """The rows of a block laid out as aligned columns (cells apart by two or more spaces or a tab),
    or None: every line must split into the same number of cells, at least three."""
    if "  " not in block and "\t" not in block:  # prose: the common case, no splitting needed
        return None
    rows = [_COLUMN_GAP.split(line.strip()) for line in block.splitlines() if line.strip()]
    if rows and len(rows[0]) >= 3 and all(len(r) == len(rows[0]) for r in rows):
        return rows
    return None


def text_elements(
    text: str, *, filename: str, filetype: str, page_number: int = 1, start: int = 0
) -> list[Element]:
    """Elements of plain text. Consecutive lines laid out as aligned columns (a table typed in a text
    file, or a PDF's table as its text layer keeps it) become one Table element."""
    out: list[Element] = []
    meta: dict[str, Any] = {"filename": filename, "filetype": filetype, "page_number": page_number}
    pending: list[list[str]] = []

    def flush_table() -> None:
        if len(pending) >= 2:
            rows = list(pending)
            out.append(
                make_element(
                    "Table", table_text(rows), **meta, index=start + len(out), text_as_html=table_html(rows)
                )
            )
        elif pending:  # one aligned line alone is not a table
            line = "   ".join(pending[0])
            kind, clean = classify_block(line)
            out.append(make_element(kind, clean, **meta, index=start + len(out)))
        pending.clear()

    for block in split_blocks(text):
        rows = _aligned_cells(block)
        if rows and (not pending or len(rows[0]) == len(pending[0])):
            pending.extend(rows)
            continue
        flush_table()
        if rows:
            pending.extend(rows)
            continue
        kind, clean = classify_block(block)
        out.append(make_element(kind, clean, **meta, index=start + len(out)))
    flush_table()
    return out


def table_html(rows: list[list[str]]) -> str:
    from html import escape

    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{body}</table>"


def table_text(rows: list[list[str]]) -> str:
    return "\n".join(" ".join(c for c in row if c) for row in rows)
