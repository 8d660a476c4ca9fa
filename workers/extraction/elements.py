"""Unstructured's element schema (type, element_id, text, metadata), and a plain-text classifier.

Element types used: Title, NarrativeText, ListItem, Table, CodeSnippet, UncategorizedText.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from workers.documents import readable
from workers.types import Element

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
        if out and out[-1] and line.strip() and len(out[-1].splitlines()[-1]) >= 0.8 * width > 40:
            out[-1] += "\n" + line
        else:
            out.append(line)
    return "\n\n".join(block for block in out if block.strip())


def text_elements(
    text: str, *, filename: str, filetype: str, page_number: int = 1, start: int = 0
) -> list[Element]:
    out = []
    for i, block in enumerate(split_blocks(text)):
        kind, clean = classify_block(block)
        out.append(
            make_element(
                kind, clean, filename=filename, filetype=filetype, page_number=page_number, index=start + i
            )
        )
    return out


def table_html(rows: list[list[str]]) -> str:
    from html import escape

    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{body}</table>"


def table_text(rows: list[list[str]]) -> str:
    return "\n".join(" ".join(c for c in row if c) for row in rows)
