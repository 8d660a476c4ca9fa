#!/usr/bin/env python3
"""Make the sample documents in samples/ (all content invented by the project).

    python scripts/make_samples.py   # rewrites the five documents in samples/

It lives outside samples/ so that `docpipe submit samples/*` submits documents only.

Output is deterministic (fixed dates, no timestamps), so regenerating leaves git clean.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "samples"

INVOICE_PAGES = [
    [
        "INVOICE",
        "Invoice number INV-2026-0147",
        "Date: 3 November 2026",
        "Bill to: Harbor Lane Bakery, 12 Quay Street, Portsmouth",
        "From: Northwind Paper Supplies Ltd",
        "",
        "Item                 Qty   Unit   Amount",
        "Recycled boxes        40   1.25    50.00",
        "Greaseproof sheets   200   0.10    20.00",
        "Paper bags           500   0.05    25.00",
    ],
    [
        "Subtotal: 95.00 GBP",
        "VAT (20%): 19.00 GBP",
        "Amount due: 114.00 GBP",
        "",
        "Payment is due within 30 days of the invoice date.",
        "Thank you for your business.",
    ],
]


def _pdf(pages: list[list[str]]) -> bytes:
    """A minimal, valid PDF: one Helvetica text stream per page (no dependencies needed)."""
    objects: list[bytes] = []
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 11 Tf", "14 TL", "56 780 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_ids[i] + 1} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def _docx() -> bytes:
    import docx

    d = docx.Document()
    d.add_heading("Services Agreement", level=0)
    d.add_paragraph(
        "This Services Agreement is made between Kestrel Analytics GmbH (the Provider) and Harbor Lane "
        "Bakery Ltd (the Client). The parties hereby agree to the terms below."
    )
    d.add_heading("1. Services", level=1)
    d.add_paragraph("Monthly sales reporting for three shops.", style="List Bullet")
    d.add_paragraph("Quarterly demand forecast with a written summary.", style="List Bullet")
    d.add_heading("2. Fees", level=1)
    table = d.add_table(rows=3, cols=2)
    fees = [("Item", "Fee (EUR)"), ("Monthly reporting", "400"), ("Forecast", "900")]
    for row, (item, fee) in zip(table.rows, fees, strict=True):
        row.cells[0].text, row.cells[1].text = item, fee
    d.add_heading("3. Term", level=1)
    d.add_paragraph(
        "The agreement starts on 1 December 2026 and runs for twelve months. Either party may end it with "
        "thirty days written notice. This agreement is governed by the laws of Ireland."
    )
    raw = io.BytesIO()
    d.save(raw)
    return _normalise_zip(raw.getvalue())


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps and without volatile core properties (reproducible)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                import re

                body = re.sub(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>", b"", body)
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 11, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, body)
    return out.getvalue()


REPORT_MD = """\
# Q3 Store Performance Report

Prepared by the Harbor Lane Bakery operations team for the October board meeting.

## Summary

Sales grew in all three shops this quarter. The Quay Street shop led growth after the new
morning menu, while Market Square recovered from the summer roadworks.

## Sales by shop

| Shop          | Q2 sales | Q3 sales |
|---------------|---------:|---------:|
| Quay Street   |    41200 |    46800 |
| Market Square |    30500 |    33100 |
| Station Road  |    22900 |    24050 |

## Next steps

- Extend the morning menu to Station Road.
- Review flour contracts before January.
"""

PAGE_HTML = """\
<!doctype html>
<html lang="en">
<head><title>Harbor Lane Bakery - Opening Hours</title><style>body { font-family: sans-serif; }</style></head>
<body>
<h1>Harbor Lane Bakery</h1>
<p>Fresh bread, pastries and coffee in Portsmouth since 2009.</p>
<h2>Opening hours</h2>
<table>
<tr><th>Day</th><th>Opens</th><th>Closes</th></tr>
<tr><td>Monday to Friday</td><td>7:00</td><td>18:00</td></tr>
<tr><td>Saturday</td><td>8:00</td><td>16:00</td></tr>
</table>
<h2>Find us</h2>
<ul><li>12 Quay Street</li><li>4 Market Square</li><li>Station Road, Unit 3</li></ul>
<script>console.log("not content");</script>
</body>
</html>
"""

MEMO_TXT = """\
MEMO

To: All shop managers
From: Priya Nair, Operations
Date: 14 November 2026
Subject: Holiday rota

Please send your holiday rota for December by Friday 21 November. Each shop needs two bakers on
every weekday morning, and the Quay Street shop needs three on Saturdays.

- Use the shared rota template.
- Mark agreed leave in green.

Thank you for planning ahead.
"""


def main() -> None:
    (HERE / "invoice.pdf").write_bytes(_pdf(INVOICE_PAGES))
    (HERE / "contract.docx").write_bytes(_docx())
    (HERE / "report.md").write_text(REPORT_MD)
    (HERE / "page.html").write_text(PAGE_HTML)
    (HERE / "memo.txt").write_text(MEMO_TXT)
    for name in ("invoice.pdf", "contract.docx", "report.md", "page.html", "memo.txt"):
        print(f"{name:<14} {(HERE / name).stat().st_size:>6} bytes")


if __name__ == "__main__":
    main()
