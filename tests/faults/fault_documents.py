"""Documents made in the test's own directory: good ones with unique content, and every bad kind.

Good documents are small text reports (fast to extract), unique per batch so no earlier run, cache
entry or workflow id can stand in for them. Bad documents are real files of each broken kind.
"""

from __future__ import annotations

import dataclasses
import io
import os
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

from workers.documents import describe_file
from workers.types import DocumentRef


def good_text(
    tag: str, index: int, *, enrich: bool = False, slow_ms: int = 0, enrich_ms: int = 0, paragraphs: int = 6
) -> str:
    lines = [f"Quarterly Report {tag} {index}", ""]
    # Markers for the model server come first: the model sees only the first 30,000 characters.
    if enrich:
        lines += ["DOCPIPE-ENRICH: count the words in this report.", ""]
    if slow_ms:
        lines += [f"DOCPIPE-SLOW:{slow_ms}", ""]
    if enrich and enrich_ms:
        lines += [f"DOCPIPE-SLOW-ENRICH:{enrich_ms}", ""]
    for p in range(paragraphs):
        lines.append(
            f"Paragraph {p} of report {tag}-{index}: the northern warehouse shipped {index * 7 + p} pallets "
            f"and the audit found nothing unusual in the ledger for this period."
        )
        lines.append("")
    return "\n".join(lines) + "\n"


def good_documents(
    directory: Path,
    tag: str,
    count: int,
    *,
    enrich_every: int = 3,
    slow_ms: int = 0,
    enrich_ms: int = 0,
    paragraphs: int = 6,
) -> list[Path]:
    """`count` unique text reports; every `enrich_every`-th asks the model for enrichment.

    `slow_ms` slows the model's answer, `enrich_ms` the enrichment code, and more `paragraphs` make
    extraction take longer: ways to keep a role mid-activity long enough to aim a fault at it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        path = directory / f"report-{tag}-{i:03d}.txt"
        enrich = enrich_every > 0 and i % enrich_every == 0
        path.write_text(
            good_text(tag, i, enrich=enrich, slow_ms=slow_ms, enrich_ms=enrich_ms, paragraphs=paragraphs)
        )
        out.append(path)
    return out


@dataclass(frozen=True)
class BadDocument:
    kind: str  # a short name for the report table
    path: Path
    expect_status: str  # stored | failed
    expect_stage: str | None  # the stage that fails, when it fails
    expect_reason: tuple[str, ...]  # phrases the recorded reason must contain (case-insensitive)
    filename: str | None = None  # a name for the reference other than the file's own


def _minimal_pdf(text: str) -> bytes:
    """A one-page PDF with real text, written with pypdf's own objects."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=612, height=792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(stream)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _encrypted_pdf(text: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_minimal_pdf(text))))
    writer.encrypt(user_password="secret-user", owner_password="secret-owner", algorithm="AES-256")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def bad_documents(directory: Path, tag: str) -> list[BadDocument]:
    """One file per bad kind (unique content per `tag`), with the outcome each must end in."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"bad-{tag}")
    docs: list[BadDocument] = []

    def add(
        kind: str, name: str, data: bytes, status: str, stage: str | None, *reason: str, as_name: str = ""
    ) -> None:
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        docs.append(BadDocument(kind, path, status, stage, tuple(reason), as_name or None))

    add("empty file", "empty.txt", b"", "failed", "extraction", "no text")
    pdf = _minimal_pdf(f"Truncated report {tag} with enough text to matter")
    add("truncated PDF", f"truncated-{tag}.pdf", pdf[: len(pdf) // 2], "failed", "extraction", "pdf")
    add(
        "random bytes named .pdf",
        f"random-{tag}.pdf",
        rng.randbytes(64 * 1024),
        "failed",
        "extraction",
        "not a readable pdf",
    )
    # 50 MB of real text: a big document is not a bad one; it must be stored (payloads go by claim).
    # About a thousand 50 KB paragraphs: the elements (50 MB of text) are far past Temporal's payload
    # limits, so they must travel by external-storage claim.
    para = f"Large report {tag}. " + " ".join(f"shipment{i % 97}" for i in range(5000)) + "\n\n"
    big = (para * (50 * 1024 * 1024 // len(para) + 1)).encode()[: 50 * 1024 * 1024]
    add("50 MB file", f"large-{tag}.txt", big, "stored", None)
    add(
        "encrypted PDF",
        f"encrypted-{tag}.pdf",
        _encrypted_pdf(f"Secret report {tag}"),
        "failed",
        "extraction",
        "encrypted",
    )
    latin1 = f"Rapport {tag}: le caf\xe9 co\xfbte 3 \xa3, na\xefve r\xe9sum\xe9.\n\nD\xe9tails suivent ici.\n"
    add("non-UTF-8 text", f"latin1-{tag}.txt", latin1.encode("latin-1"), "stored", None)
    line = (f"one single very long line for {tag} " * (10 * 1024 * 1024 // 30 + 1))[: 10 * 1024 * 1024]
    add("single 10 MB line", f"oneline-{tag}.txt", line.encode(), "stored", None)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("notes.txt", f"not a word document {tag}")
    add(
        "ZIP renamed .docx",
        f"archive-{tag}.docx",
        zbuf.getvalue(),
        "failed",
        "extraction",
        "not a readable docx",
    )
    add(
        "unicode, spaces and ../ in the path",
        f"sub/../Résumé — 报告 {tag} ✓.txt",
        f"Unicode named report {tag}\n\nIts path has spaces, accents and a parent step.\n".encode(),
        "stored",
        None,
    )
    # A reference whose filename itself climbs out (as a hand-made client or event could send): the
    # name is only data; the bytes are read from the uri.
    add(
        "../ in the reference's filename",
        f"climber-{tag}.txt",
        f"Climbing name report {tag}\n\nIts reference names it ../../etc/passwd.\n".encode(),
        "stored",
        None,
        as_name=f"../../etc/passwd {tag} ✓.txt",
    )
    # PostgreSQL holds no NUL and no lone surrogate: both are cleaned (U+FFFD) and noted in the row.
    add(
        "NUL byte in the text",
        f"nul-{tag}.txt",
        f"Report {tag} with a NUL \x00 byte inside.\n\nIt must still be stored.\n".encode(),
        "stored",
        None,
    )
    add(
        "non-UTF-8 file name",
        os.fsdecode(f"latin1-name-caf\xe9-{tag}-".encode("latin-1") + b"\xff.txt"),
        f"Report {tag} whose file name is not UTF-8.\n".encode(),
        "stored",
        None,
    )
    same = f"Duplicated memo {tag}\n\nThe same content is submitted under two names.\n".encode()
    add("same content, first name", f"copy-a-{tag}.txt", same, "stored", None)
    add("same content, second name", f"copy b {tag}.txt", same, "stored", None)
    return docs


def model_fault_documents(directory: Path, tag: str) -> list[BadDocument]:
    """Documents whose analysis (from the local model server) is malformed or hostile."""
    directory.mkdir(parents=True, exist_ok=True)
    specs = [
        ("analysis output fails validation", "malformed", "analysis", ("failed validation",)),
        ("analysis output is not JSON", "prose", "analysis", ("structured output",)),
        ("enrichment loops forever", "loop", "enrichment", ("cpu-time limit",)),
        ("enrichment allocates without bound", "alloc", "enrichment", ("memory limit",)),
        ("enrichment opens a socket", "socket", "enrichment", ("network",)),
        ("enrichment prints gigabytes", "print", "enrichment", ("output limit",)),
    ]
    out = []
    for kind, marker, stage, reason in specs:
        path = directory / f"model-{marker}-{tag}.txt"
        path.write_text(
            f"Model fault document {tag} {marker}\n\nThis report makes the model misbehave.\n\n"
            f"DOCPIPE-FAULT:{marker}\n"
        )
        out.append(BadDocument(kind, path, "failed", stage, reason))
    return out


def reference(doc: BadDocument) -> DocumentRef:
    ref = describe_file(doc.path)
    return dataclasses.replace(ref, filename=doc.filename) if doc.filename else ref
