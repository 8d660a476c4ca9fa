#!/usr/bin/env python3
# ruff: noqa: E501 (the documents' prose is written as data, one sentence a line)
"""Make the labelled document set that measures the offline analysis (all content invented).

    .venv/bin/python tests/data/labelled/generate.py   # rewrites docs/ and manifest.json here

Each document is written from one of several templates per type, in the formats the local
extraction backend reads (.txt, .md, .html, .docx, .pdf), with its expected type and, for documents
that state money figures, the expected sum of the amount column and the stated subtotal/total.
`split` halves the set: `tune` documents may be looked at while changing the heuristics, `heldout`
ones only measured. Output is deterministic (a fixed random seed, fixed zip timestamps, no dates
from the clock), so regenerating leaves git clean.
"""

from __future__ import annotations

import html
import importlib.util
import io
import json
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]

# A block of a document, rendered per format: ("title"|"h2"|"p"|"li"|"lines"|"table", payload).
Block = tuple[str, Any]


def _samples_module() -> Any:
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "scripts" / "make_samples.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Doc:
    name: str
    type: str
    blocks: list[Block]
    totals: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    split: str = ""  # "" alternates by type; "heldout" for the documents written after the rules
    # templates; extra-1, extra-2: written after the rules, measured, then the rules fixed once for
    # what they showed; blind: written last and never tuned on.
    batch: str = "templates"


def money(value: float) -> str:
    return f"{value:,.2f}"


# --- rendering ------------------------------------------------------------------------------------


def render_text(blocks: list[Block], markdown: bool) -> str:
    out: list[str] = []
    for kind, body in blocks:
        if kind == "title":
            out.append(f"# {body}" if markdown else body.upper())
        elif kind == "h2":
            out.append(f"## {body}" if markdown else body)
        elif kind == "p":
            out.append(body)
        elif kind == "li":
            out.append("\n".join(f"- {item}" for item in body))
        elif kind == "lines":
            out.append("\n".join(body))
        elif kind == "table":
            out.append(_md_table(body) if markdown else "\n".join(_aligned(body)))
        out.append("")
    return "\n".join(out)


def _md_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=False)]
        lines.append("   ".join(cells).rstrip())
    return lines


NAV = ["Home", "Products", "Pricing", "Invoices", "Contracts", "Reports", "Support", "Sign in"]


def render_html(blocks: list[Block], page_title: str, chrome: bool) -> str:
    body: list[str] = []
    for kind, payload in blocks:
        if kind == "title":
            body.append(f"<h1>{html.escape(payload)}</h1>")
        elif kind == "h2":
            body.append(f"<h2>{html.escape(payload)}</h2>")
        elif kind == "p":
            body.append(f"<p>{html.escape(payload)}</p>")
        elif kind == "li":
            body.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in payload) + "</ul>")
        elif kind == "lines":
            body.append("<p>" + "<br>".join(html.escape(line) for line in payload) + "</p>")
        elif kind == "table":
            head = "".join(f"<th>{html.escape(c)}</th>" for c in payload[0])
            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in payload[1:]
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    content = "\n".join(body)
    if chrome:
        # Navigation, a cookie banner, a sidebar and a footer, written without spaces between the
        # links as real menus are: what the extraction must drop (and never glue to the content).
        nav = "".join(f'<li><a href="/{n.lower()}">{n}</a></li>' for n in NAV)
        content = (
            f'<header><div class="logo"><a href="/">Acme</a></div><nav><ul>{nav}</ul></nav>'
            '<div class="cookie">We use cookies to improve your experience.<button>Accept</button>'
            "<button>Update</button></div></header>\n"
            f'<main><article class="post-content">\n{content}\n</article></main>\n'
            '<aside class="sidebar"><h3>Popular</h3><ul><li><a href="/a">Ten invoice tips</a></li>'
            '<li><a href="/b">Contract templates</a></li><li><a href="/c">Quarterly report</a></li></ul>'
            "</aside>\n"
            "<footer><p>© 2026 Acme Ltd. All rights reserved.</p><a href='/t'>Terms</a>"
            "<a href='/p'>Privacy</a><a href='/s'>Subscribe to our newsletter</a></footer>"
        )
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(page_title)}'
        f"</title><style>body{{margin:0}}</style><script>window.dataLayer=[]</script></head>\n"
        f"<body>\n{content}\n</body></html>\n"
    )


def render_docx(blocks: list[Block], normalise: Callable[[bytes], bytes]) -> bytes:
    import docx

    d = docx.Document()
    for kind, body in blocks:
        if kind == "title":
            d.add_heading(body, level=0)
        elif kind == "h2":
            d.add_heading(body, level=1)
        elif kind == "p":
            d.add_paragraph(body)
        elif kind == "li":
            for item in body:
                d.add_paragraph(item, style="List Bullet")
        elif kind == "lines":
            for line in body:
                d.add_paragraph(line)
        elif kind == "table":
            table = d.add_table(rows=len(body), cols=len(body[0]))
            for row, cells in zip(table.rows, body, strict=True):
                for cell, text in zip(row.cells, cells, strict=True):
                    cell.text = text
    raw = io.BytesIO()
    d.save(raw)
    return normalise(raw.getvalue())


def render_pdf(blocks: list[Block], pdf: Callable[[list[list[str]]], bytes]) -> bytes:
    lines: list[str] = []
    for kind, body in blocks:
        if kind in {"title", "h2", "p"}:
            lines += _wrap(body.upper() if kind == "title" else body, 90)
        elif kind == "li":
            lines += [f"- {item}" for item in body]
        elif kind == "lines":
            lines += body
        elif kind == "table":
            lines += _aligned(body)
        lines.append("")
    # The minimal PDF's Helvetica has no accented glyphs in its encoding: write plain ASCII.
    lines = [unicodedata.normalize("NFKD", ln).encode("ascii", "ignore").decode() for ln in lines]
    pages = [lines[i : i + 52] for i in range(0, len(lines), 52)]
    return pdf(pages)


def _wrap(text: str, width: int) -> list[str]:
    out, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*out, line]


# --- the documents --------------------------------------------------------------------------------

rng = random.Random(14)

PEOPLE = ["Priya Nair", "Tomás Ferreira", "Aiko Tanaka", "Grace Okafor", "Lars Eriksen", "Mina Haddad"]
FIRMS = [
    "Northwind Paper Supplies Ltd",
    "Kestrel Analytics GmbH",
    "Bluefin Logistics BV",
    "Harbor Lane Bakery Ltd",
    "Copperleaf Software Inc",
    "Granite Peak Engineering LLC",
]


def _items(count: int, products: list[str], qty: tuple[int, int], price: tuple[float, float]) -> list[tuple]:
    rows = []
    for i in range(count):
        q = rng.randint(*qty)
        p = round(rng.uniform(*price), 2)
        rows.append((f"{products[i % len(products)]}", q, p, round(q * p, 2)))
    return rows


def invoice_60_lines() -> Doc:
    tasks = ["Solution design", "Backend development", "Data migration", "QA testing", "Project management"]
    rows = [["#", "Description", "Hours", "Rate (USD/h)", "Amount (USD)"]]
    subtotal = 0.0
    for n, (task, hours, rate, amount) in enumerate(_items(60, tasks, (4, 40), (85, 240)), start=1):
        rows.append([str(n), f"{task}, week {n}", str(hours), money(rate), money(amount)])
        subtotal += amount
    subtotal = round(subtotal, 2)
    tax = round(subtotal * 0.08, 2)
    blocks: list[Block] = [
        ("title", "Invoice"),
        ("lines", ["Invoice no. CPL-2026-0412", "Issue date: 2 November 2026", "Bill to: Bluefin Logistics BV"]),
        ("p", "Professional services delivered under the master services agreement of March 2026."),
        ("table", rows),
        ("lines", [f"Subtotal: {money(subtotal)} USD", f"Sales tax (8%): {money(tax)} USD",
                   f"Total due: {money(subtotal + tax)} USD"]),
        ("p", "Please pay by bank transfer within 30 days, quoting the invoice number."),
    ]  # fmt: skip
    return Doc(
        "invoice-60-lines.docx",
        "invoice",
        blocks,
        {"items": subtotal, "subtotal": subtotal, "total": round(subtotal + tax, 2), "check": "match"},
        "60 lines; # and Rate (USD/h) must not be summed",
    )


def invoice_small(name: str, variant: int) -> Doc:
    goods = ["Flour 25 kg", "Butter blocks", "Cardboard boxes", "Coffee beans 1 kg", "Cleaning service"]
    items = _items(3 + variant, goods, (1, 30), (2, 60))
    subtotal = round(sum(i[3] for i in items), 2)
    vat = round(subtotal * 0.2, 2)
    header = [["Item", "Qty", "Unit price", "Amount"], ["Description", "Quantity", "Price each", "Line total"],
              ["Product", "Units", "Unit cost (EUR)", "Total (EUR)"]][variant % 3]  # fmt: skip
    rows = [header] + [[d, str(q), money(p), money(a)] for d, q, p, a in items]
    seller = FIRMS[variant % len(FIRMS)]
    opening = [
        ("title", "Tax invoice"),
        ("lines", [f"Invoice number: INV-{4100 + variant}", f"From: {seller}", "Bill to: Harbor Lane Bakery",
                   "Invoice date: 5 October 2026", "Payment terms: net 14 days"]),
    ]  # fmt: skip
    if variant % 2:
        opening = [
            ("title", f"{seller}"),
            ("p", f"Invoice {4100 + variant} for goods delivered to Quay Street on 5 October 2026."),
            ("lines", ["Customer: Harbor Lane Bakery", "Due date: 19 October 2026"]),
        ]
    blocks: list[Block] = [
        *opening,
        ("table", rows),
        ("lines", [f"Subtotal: {money(subtotal)}", f"VAT 20%: {money(vat)}", f"Balance due: {money(subtotal + vat)}"]),
        ("p", "Thank you for your custom. Late payments may incur interest."),
    ]  # fmt: skip
    return Doc(name, "invoice", blocks,
               {"items": subtotal, "subtotal": subtotal, "total": round(subtotal + vat, 2), "check": "match"})  # fmt: skip


def invoice_wrong_subtotal() -> Doc:
    items = _items(4, ["Delivery van hire", "Fuel surcharge", "Driver hours", "Insurance"], (1, 5), (40, 300))
    real = round(sum(i[3] for i in items), 2)
    stated = round(real + 100, 2)  # the vendor's arithmetic is wrong: enrichment must say so
    rows = [["Service", "Qty", "Rate", "Amount"]] + [[d, str(q), money(p), money(a)] for d, q, p, a in items]
    blocks: list[Block] = [
        ("title", "Invoice"),
        ("lines", ["Invoice no: BF-77120", "From: Bluefin Logistics BV", "To: Granite Peak Engineering LLC"]),
        ("table", rows),
        ("lines", [f"Subtotal: {money(stated)} EUR", f"Total: {money(stated)} EUR"]),
        ("p", "VAT reverse charge applies. Payment due within 30 days."),
    ]
    return Doc("invoice-bad-subtotal.md", "invoice", blocks,
               {"items": real, "subtotal": stated, "total": stated, "check": "mismatch"},
               "stated subtotal is 100 more than the lines")  # fmt: skip


def invoice_hourly_text() -> Doc:
    rows = [["Date", "Work", "Hours", "Rate", "Amount"]]
    total = 0.0
    for day in range(1, 7):
        hours = rng.randint(2, 8)
        amount = hours * 95.0
        total += amount
        rows.append([f"0{day}/10/2026", "Site survey and drawings", str(hours), "95.00", money(amount)])
    blocks: list[Block] = [
        ("title", "Invoice for consulting services"),
        ("lines", ["Invoice #: GP-2026-88", "Consultant: Lars Eriksen", "Client: Harbor Lane Bakery Ltd"]),
        ("table", rows),
        ("lines", [f"Total amount due: {money(total)} GBP"]),
        ("p", "Remit payment to the account below within 21 days of the invoice date."),
    ]
    return Doc("invoice-hourly.txt", "invoice", blocks, {"items": total, "total": total, "check": "match"})


def invoice_email_html() -> Doc:
    items = _items(3, ["Pro plan, 12 seats", "Extra storage 500 GB", "Priority support"], (1, 3), (20, 400))
    subtotal = round(sum(i[3] for i in items), 2)
    rows = [["Description", "Qty", "Unit price", "Amount"]] + [
        [d, str(q), money(p), money(a)] for d, q, p, a in items
    ]
    blocks: list[Block] = [
        ("title", "Your invoice from Copperleaf Software"),
        ("p", "Hi Grace, thanks for your payment. Here is your invoice for the billing period October 2026."),
        ("lines", ["Invoice number: CL-99231", "Amount paid: see total below", "Payment method: Visa ending 4242"]),
        ("table", rows),
        ("lines", [f"Subtotal: {money(subtotal)} USD", "Tax: 0.00 USD", f"Total: {money(subtotal)} USD"]),
        ("p", "Questions about this invoice? Reply to this email and our billing team will help."),
    ]  # fmt: skip
    return Doc("invoice-email.html", "invoice", blocks,
               {"items": subtotal, "subtotal": subtotal, "total": subtotal, "check": "match"})  # fmt: skip


def purchase_order(name: str, variant: int) -> Doc:
    goods = [
        "Stainless mixing bowls",
        "Proofing baskets",
        "Oven gloves",
        "Bread knives",
        "Flour bins",
        "Scales",
    ]
    items = _items(4 + 2 * variant, goods, (2, 20), (5, 120))
    total = round(sum(i[3] for i in items), 2)
    header = [["Line", "Item", "Qty", "Unit price", "Extended price"], ["No.", "Part", "Quantity", "Price", "Total"],
              ["#", "Description", "Qty ordered", "Unit cost", "Line amount"]][variant % 3]  # fmt: skip
    rows = [header] + [
        [str(n), d, str(q), money(p), money(a)] for n, (d, q, p, a) in enumerate(items, start=1)
    ]
    intro = [
        "Please supply the goods below and quote the PO number on every delivery note and invoice.",
        "This order is placed under our standard terms of purchase. Confirm acceptance and the delivery date.",
        "Deliver to the Market Square shop between 7:00 and 11:00. Partial shipments must be agreed first.",
    ][variant % 3]
    blocks: list[Block] = [
        ("title", "Purchase order" if variant % 2 == 0 else "PURCHASE ORDER"),
        ("lines", [f"PO number: PO-{2026}{300 + variant}", "Buyer: Harbor Lane Bakery Ltd",
                   f"Supplier: {FIRMS[(variant + 2) % len(FIRMS)]}", "Ship to: 4 Market Square, Portsmouth",
                   "Required by: 20 November 2026"]),
        ("p", intro),
        ("table", rows),
        ("lines", [f"Order total: {money(total)} GBP"]),
        ("p", "Authorised by Tomás Ferreira, purchasing."),
    ]  # fmt: skip
    return Doc(name, "purchase_order", blocks, {"items": total, "total": total, "check": "match"})


def contract_msa() -> Doc:
    blocks: list[Block] = [
        ("title", "Master Services Agreement"),
        ("p", "This Master Services Agreement (the Agreement) is entered into as of 1 March 2026 by and "
              "between Copperleaf Software Inc, a Delaware corporation (the Supplier), and Bluefin Logistics BV "
              "(the Customer), each a Party and together the Parties."),
        ("h2", "1. Definitions"),
        ("p", "Statement of Work means a document executed by both Parties describing Services, deliverables "
              "and fees. Deliverables means the work product provided under a Statement of Work."),
        ("h2", "2. Services"),
        ("p", "The Supplier shall perform the Services described in each Statement of Work. Each Statement of "
              "Work is governed by this Agreement; if they conflict, this Agreement prevails."),
        ("h2", "3. Fees and payment"),
        ("p", "The Customer shall pay the fees set out in each Statement of Work within thirty days of a valid "
              "invoice. Late amounts bear interest at one percent per month."),
        ("h2", "4. Confidentiality"),
        ("p", "Each Party shall keep the other's Confidential Information secret and use it only to perform "
              "this Agreement, for the term and five years after."),
        ("h2", "5. Limitation of liability"),
        ("p", "Neither Party is liable for indirect or consequential loss. Each Party's total liability is "
              "limited to the fees paid in the twelve months before the claim."),
        ("h2", "6. Term and termination"),
        ("p", "This Agreement runs for three years and renews for one-year terms unless either Party gives ninety "
              "days notice. Either Party may terminate for material breach not cured within thirty days."),
        ("h2", "7. Governing law"),
        ("p", "This Agreement is governed by the laws of the Netherlands. IN WITNESS WHEREOF the Parties have "
              "executed this Agreement by their authorised representatives."),
        ("lines", ["Signed for the Supplier: Aiko Tanaka, CEO", "Signed for the Customer: Mina Haddad, COO"]),
    ]  # fmt: skip
    return Doc("contract-msa.docx", "contract", blocks, note="was typed report by the old keywords")


def contract_generic(name: str, variant: int) -> Doc:
    kinds = [
        ("Mutual Non-Disclosure Agreement", "disclose confidential information to evaluate a possible partnership",
         "The receiving party shall not disclose Confidential Information to any third party without prior "
         "written consent, and shall return or destroy it on request."),
        ("Commercial Lease", "let the ground-floor unit at 12 Quay Street (the Premises) to the Tenant",
         "The Tenant shall pay the rent quarterly in advance, keep the Premises in good repair and not assign "
         "the lease without the Landlord's consent, which shall not be unreasonably withheld."),
        ("Employment Contract", "employ the Employee as Head Baker from 1 January 2027",
         "The Employee shall work 40 hours a week. Either party may terminate employment by giving one month's "
         "notice in writing. The Employee is entitled to 25 days of paid annual leave."),
        ("Statement of Work No. 3", "deliver a demand forecasting dashboard under the Master Services Agreement",
         "The Supplier shall deliver the dashboard by 31 January 2027. Acceptance occurs when the Customer "
         "confirms in writing that the deliverables meet the acceptance criteria in Schedule 1."),
        ("Software Licence Agreement", "grant the Licensee a non-exclusive, non-transferable licence to use the "
         "Software", "The Licensee shall not reverse engineer, sublicense or distribute the Software. The "
         "Licensor warrants that the Software will perform substantially as documented for ninety days."),
    ]  # fmt: skip
    title, purpose, clause = kinds[variant % len(kinds)]
    a, b = FIRMS[variant % len(FIRMS)], FIRMS[(variant + 3) % len(FIRMS)]
    blocks: list[Block] = [
        ("title", title),
        ("p", f"This {title} is made on 12 October 2026 between {a} and {b}. Whereas {a} wishes to {purpose}, "
              "the parties agree as follows."),
        ("h2", "Obligations"),
        ("p", clause),
        ("h2", "Term"),
        ("p", "This agreement commences on the effective date and continues for two years unless terminated "
              "earlier in accordance with its terms."),
        ("h2", "General"),
        ("li", ["This agreement is governed by the laws of England and Wales.",
                "Any amendment must be in writing and signed by both parties.",
                "Notices shall be sent to the addresses stated above."]),
        ("lines", [f"Signed: {PEOPLE[variant % len(PEOPLE)]}", f"Signed: {PEOPLE[(variant + 2) % len(PEOPLE)]}"]),
    ]  # fmt: skip
    return Doc(name, "contract", blocks)


def ticket(name: str, variant: int) -> Doc:
    issues = [
        ("Cannot export invoices to CSV", "When I click Export on the invoices screen nothing happens. "
         "The browser console shows a 500 error. This started after yesterday's update.", "High"),
        ("Login loop after password reset", "After resetting my password I am sent back to the sign-in page "
         "every time. Clearing cookies did not help. Several users in our team are affected.", "Urgent"),
        ("Wrong VAT rate on receipts", "Receipts printed at the Quay Street till show VAT at 5% instead of 20% "
         "for hot drinks since the last price update.", "Normal"),
        ("Printer offline in the bakery", "The label printer in the back office shows offline although it "
         "is powered on and connected to the network.", "Low"),
        ("Request: add a second delivery address", "Our customer portal only allows one delivery address. We "
         "need to send orders to two shops. Is this possible?", "Normal"),
        ("Sync error code E42", "The mobile app shows sync error E42 when uploading stock counts. Steps to "
         "reproduce: open Stock, count any item, press Upload.", "High"),
    ]  # fmt: skip
    subject, description, priority = issues[variant % len(issues)]
    blocks: list[Block] = [
        ("title", f"Ticket #{48210 + variant}: {subject}"),
        ("lines", [f"Status: {'Open' if variant % 2 else 'Pending'}", f"Priority: {priority}",
                   f"Requester: {PEOPLE[variant % len(PEOPLE)]}", "Assignee: Support tier 2",
                   f"Opened: 1{variant} November 2026 09:1{variant}"]),
        ("h2", "Description"),
        ("p", description),
        ("h2", "Conversation"),
        ("p", f"Agent reply: Thanks for reporting this. Could you tell us which browser and version you use? "
              f"We have escalated the issue to engineering. Reference case {48210 + variant}."),
        ("p", "Customer reply: Firefox 132 on Windows 11. It happens every time."),
        ("lines", ["Tags: " + ["bug, export", "auth", "billing, tax", "hardware", "feature-request", "mobile, sync"][variant % 6]]),
    ]  # fmt: skip
    return Doc(name, "ticket", blocks)


def memo(name: str, variant: int) -> Doc:
    subjects = [
        ("New opening hours from January", "From 5 January all shops open at 7:30 instead of 7:00. Please update "
         "the signs in your shop windows and tell your regular customers."),
        ("Fire drill next Tuesday", "There will be a fire drill at the central kitchen next Tuesday at 10:00. "
         "Leave by the nearest exit and gather in the car park."),
        ("Change to expense claims", "Expense claims must now be submitted through the finance portal within "
         "30 days. Paper forms will no longer be accepted after 1 December."),
        ("Quarterly stock count", "The quarterly stock count takes place on Sunday 30 November. Each shop must "
         "count flour, sugar and packaging and send the figures to operations by Monday noon."),
        ("Welcome to our new head baker", "Please join me in welcoming Tomás Ferreira, who joins us as head baker "
         "on Monday. Tomás will lead the central kitchen team."),
        ("Parking at the Market Square shop", "The council has closed the rear car park for resurfacing. Staff "
         "should use the Station Road car park until further notice."),
    ]  # fmt: skip
    subject, body = subjects[variant % len(subjects)]
    head = ["MEMORANDUM", "Internal memo", "MEMO", "Memo to staff", "INTERNAL MEMORANDUM", "Staff notice"][
        variant % 6
    ]
    blocks: list[Block] = [
        ("title", head),
        ("lines", [f"To: {['All staff', 'Shop managers', 'Central kitchen team'][variant % 3]}",
                   f"From: {PEOPLE[(variant + 1) % len(PEOPLE)]}", f"Date: {10 + variant} November 2026",
                   f"Subject: {subject}"] if variant % 3 != 2 else
                  [f"TO: {['All staff', 'Shop managers', 'Drivers'][variant % 3]}",
                   f"FROM: {PEOPLE[(variant + 1) % len(PEOPLE)]}", f"RE: {subject}", "CC: Operations"]),
        ("p", body),
        ("p", "If you have questions, speak to your line manager."),
    ]  # fmt: skip
    if variant % 2:
        blocks.append(
            ("li", ["Action: confirm you have read this by Friday.", "Share it with part-time staff."])
        )
    return Doc(name, "memo", blocks)


def report(name: str, variant: int) -> Doc:
    topics = [
        ("Annual Sustainability Report 2026", "Energy use", "kWh", ["Ovens", "Refrigeration", "Lighting", "Vans"]),
        ("Customer Satisfaction Survey Results", "Responses by shop", "responses", ["Quay Street", "Market Square",
         "Station Road"]),
        ("Q3 Financial Report", "Revenue by channel", "revenue (GBP)", ["Shops", "Wholesale", "Online"]),
        ("Incident Review: Oven Failure", "Downtime", "minutes", ["Detection", "Repair", "Restart"]),
        ("Market Analysis: Coffee Sales", "Sales by month", "sales (GBP)", ["July", "August", "September"]),
        ("Website Traffic Report, October", "Visits by source", "visits", ["Search", "Social", "Email", "Direct"]),
    ]  # fmt: skip
    title, section, unit, labels = topics[variant % len(topics)]
    values = [rng.randint(800, 90000) for _ in labels]
    rows = [["Category", f"This year ({unit})", "Change (%)"]] + [
        [label, f"{v:,}", f"{rng.uniform(-12, 25):.1f}"] for label, v in zip(labels, values, strict=True)
    ]
    blocks: list[Block] = [
        ("title", title),
        ("p", f"Prepared by the analytics team, {['October', 'November', 'December'][variant % 3]} 2026."),
        ("h2", "Executive summary"),
        ("p", "This report presents the findings of our review for the period. Overall results improved compared "
              "with last year, although two areas need attention, as the analysis below shows."),
        ("h2", section),
        ("table", rows),
        ("h2", "Findings and recommendations"),
        ("li", ["Results exceeded the target in most categories.",
                "The largest decline needs a closer review next quarter.",
                "We recommend repeating this analysis every quarter."]),
        ("h2", "Methodology"),
        ("p", "Figures were collected from the till system and the operations log and checked by two analysts."),
    ]  # fmt: skip
    totals: dict[str, Any] = {}
    if "GBP" in unit:  # a money column: its sum is an amount total (no stated total to check against)
        totals = {"items": float(sum(values)), "check": "unchecked"}
    return Doc(name, "report", blocks, totals)


WEB = [
    ("Ten tips for better sourdough", [
        ("p", "Sourdough rewards patience. These tips come from our bakers, who bake around four hundred loaves "
              "every morning in the central kitchen."),
        ("h2", "Keep your starter warm"), ("p", "A starter kept at 24 degrees rises reliably within six hours."),
        ("h2", "Use less water at first"), ("p", "Hold back ten percent of the water and add it after autolyse."),
        ("li", ["Feed the starter twice a day.", "Use a cast iron pot.", "Score the loaf deeply."]),
        ("p", "Share your loaves with us on social media. Subscribe for a new recipe each month."),
    ]),
    ("About us | Harbor Lane Bakery", [
        ("p", "Harbor Lane Bakery started in a small kitchen on Quay Street in 2009. Today we run three shops and "
              "supply cafés across the city with bread baked the same morning."),
        ("h2", "Our values"), ("li", ["Local flour", "No additives", "Fair pay for every baker"]),
        ("h2", "Visit us"), ("p", "Our shops are open every day except Christmas. Come and say hello."),
    ]),
    ("Frequently asked questions", [
        ("h2", "Do you deliver?"), ("p", "Yes, we deliver within five miles for orders placed before 16:00."),
        ("h2", "Are your breads vegan?"), ("p", "Most of our breads are vegan. Look for the green leaf label."),
        ("h2", "Can I order a cake online?"), ("p", "Order celebration cakes online at least two days ahead."),
    ]),
    ("Copperleaf 4.2 release notes", [
        ("p", "Version 4.2 brings faster exports and a new scheduling view. Teams that export more than a "
              "thousand records a day will see the largest gains."),
        ("h2", "What's new"), ("li", ["Exports stream rows", "Scheduling view", "Dark mode"]),
        ("h2", "Upgrading"), ("p", "Upgrade from the admin console; no configuration changes are needed."),
    ]),
    ("City council approves new cycle lanes", [
        ("p", "The city council voted on Tuesday to build four kilometres of protected cycle lanes along the "
              "harbour front, with work starting in the spring."),
        ("p", "Local businesses welcomed the plan, although some traders worry about deliveries during the works. "
              "The council said loading bays would stay open."),
        ("h2", "What happens next"), ("p", "A public consultation on the detailed design opens next month."),
    ]),
    ("Espresso machine X200 - product page", [
        ("p", "The X200 brews café-quality espresso at home with a 15 bar pump and a steam wand for milk."),
        ("h2", "Features"), ("li", ["15 bar pump", "Steam wand", "1.8 litre water tank", "Two-year warranty"]),
        ("h2", "Customer reviews"), ("p", "Rated 4.6 out of 5 by 212 customers. Add to basket to buy."),
    ]),
    ("How to bake bread without a mixer - Acme Blog", [
        ("p", "You do not need a stand mixer to make good bread. A bowl, a spatula and a little time are enough, "
              "as this guide from our test kitchen shows."),
        ("h2", "Step by step"), ("li", ["Mix flour and water", "Rest thirty minutes", "Fold every half hour"]),
        ("p", "Posted by Grace Okafor in Baking. 14 comments. Share this post."),
    ]),
]  # fmt: skip


def web_page(name: str, variant: int) -> Doc:
    title, blocks = WEB[variant % len(WEB)]
    return Doc(name, "web_page", [("title", title.split(" | ")[0].split(" - ")[0]), *blocks], note=title)


def letter(name: str, variant: int) -> Doc:
    bodies = [
        "Thank you for your letter of 3 November about the delivery delays. I am sorry for the inconvenience. "
        "We have changed our route planning so that your deliveries arrive before 7:00.",
        "I am writing to confirm your appointment as a supplier for our new shop. We look forward to working "
        "with you and will send the first order in January.",
        "Further to our conversation, I enclose the signed lease documents for your records. Please contact me "
        "if anything is missing.",
    ]
    blocks: list[Block] = [
        (
            "lines",
            ["Harbor Lane Bakery Ltd", "12 Quay Street", "Portsmouth", f"{20 + variant} November 2026"],
        ),
        ("lines", [f"{PEOPLE[variant + 2]}", f"{FIRMS[variant]}"]),
        ("p", f"Dear {PEOPLE[variant + 2].split()[0]},"),
        ("p", bodies[variant % 3]),
        ("p", "Yours sincerely,"),
        ("lines", [PEOPLE[variant], "Managing Director"]),
    ]
    return Doc(name, "letter", blocks)


# --- written after the rules were tuned, in layouts the templates do not use (7/8 right, totals 1/4),
# then tuned on once ----------------------------------------------------------------------------------


def extra_documents_1() -> list[tuple[Doc, str]]:
    out: list[tuple[Doc, str]] = []
    # An invoice that never says "invoice" in its heading; a discount and delivery between the
    # subtotal and the total.
    items = _items(5, ["Wedding cake, 3 tiers", "Cupcakes (box of 12)", "Delivery and set-up", "Cake stand hire",
                       "Tasting session"], (1, 4), (30, 420))  # fmt: skip
    subtotal = round(sum(i[3] for i in items), 2)
    discount, delivery = 50.0, 35.0
    total = round(subtotal - discount + delivery, 2)
    out.append(
        (
            Doc(
                "extra1-cake-bill.md",
                "invoice",
                [
                    ("title", "Harbor Lane Bakery: celebration order, services rendered"),
                    (
                        "lines",
                        ["Invoice no: HLB-C-0093", "Customer: Mina Haddad", "Event date: 6 December 2026"],
                    ),
                    (
                        "table",
                        [["Description", "Qty", "Price", "Line total"]]
                        + [[d, str(q), money(p), money(a)] for d, q, p, a in items],
                    ),
                    (
                        "lines",
                        [
                            f"Subtotal: {money(subtotal)} GBP",
                            f"Discount: -{money(discount)} GBP",
                            f"Delivery: {money(delivery)} GBP",
                            f"Total payable: {money(total)} GBP",
                        ],
                    ),
                    ("p", "Kindly settle by bank transfer before the event. We are not VAT registered."),
                ],
                {"items": subtotal, "subtotal": subtotal, "total": total, "check": "match"},
                split="heldout",
                batch="extra-1",
            ),
            "md",
        )
    )
    # A two-page PDF invoice whose table continues on page 2 with its header repeated.
    items = _items(
        70,
        ["Bread rolls (dozen)", "Sourdough loaves", "Croissants", "Baguettes", "Rye loaves"],
        (2, 30),
        (1.5, 9),
    )
    subtotal = round(sum(i[3] for i in items), 2)
    vat = round(subtotal * 0.05, 2)
    rows = [[d, str(q), money(p), money(a)] for d, q, p, a in items]
    header = ["Product", "Qty", "Unit price", "Amount"]
    out.append(
        (
            Doc(
                "extra1-wholesale-invoice.pdf",
                "invoice",
                [
                    ("title", "Invoice"),
                    (
                        "lines",
                        [
                            "Invoice number: W-2026-1187",
                            "Bill to: Quayside Cafe Group",
                            "Period: October 2026",
                        ],
                    ),
                    ("table", [header, *rows[:40]]),
                    ("lines", ["(continued overleaf)"]),
                    ("table", [header, *rows[40:]]),
                    (
                        "lines",
                        [
                            f"Subtotal: {money(subtotal)}",
                            f"VAT (5%): {money(vat)}",
                            f"Amount due: {money(subtotal + vat)}",
                        ],
                    ),
                ],
                {
                    "items": subtotal,
                    "subtotal": subtotal,
                    "total": round(subtotal + vat, 2),
                    "check": "match",
                },
                split="heldout",
                batch="extra-1",
            ),
            "pdf",
        )
    )
    # A memo that never calls itself one.
    out.append(
        (
            Doc(
                "extra1-notice.docx",
                "memo",
                [
                    (
                        "lines",
                        [
                            "To: Drivers and dispatch",
                            "From: Lars Eriksen",
                            "Date: 2 December 2026",
                            "Subject: Winter tyres",
                        ],
                    ),
                    (
                        "p",
                        "All vans must have winter tyres fitted before 15 December. Book a slot with the garage on the "
                        "shared calendar and keep the receipt for the fleet file.",
                    ),
                    ("p", "Thanks, Lars"),
                ],
                split="heldout",
                batch="extra-1",
            ),
            "docx",
        )
    )
    # A support request as an email thread.
    out.append(
        (
            Doc(
                "extra1-support-email.txt",
                "ticket",
                [
                    (
                        "lines",
                        [
                            "Subject: Re: [Support #4411] Labels print blank",
                            "From: help@copperleaf.example",
                            "To: Grace Okafor",
                        ],
                    ),
                    (
                        "p",
                        "Hello Grace, we could reproduce the blank labels on driver version 3.2. A fix is in testing; "
                        "until then please roll back to driver 3.1. We will update this case when the fix ships.",
                    ),
                    (
                        "p",
                        "> On 1 Dec, Grace Okafor wrote: since Monday every label prints blank. We restarted the printer "
                        "and the PC but the problem is still there.",
                    ),
                    (
                        "lines",
                        ["Case status: waiting on customer", "Reply above this line to add a comment."],
                    ),
                ],
                split="heldout",
                batch="extra-1",
            ),
            "txt",
        )
    )
    # A purchase order headed as an order request.
    items = _items(
        3, ["Flour, strong white, 16 kg", "Rye flour, 25 kg", "Fresh yeast, 1 kg"], (5, 40), (3, 30)
    )
    total = round(sum(i[3] for i in items), 2)
    out.append(
        (
            Doc(
                "extra1-order-request.docx",
                "purchase_order",
                [
                    ("title", "Order request"),
                    (
                        "lines",
                        [
                            "Purchase order no. 5512",
                            "Vendor: Mill Lane Flour Co",
                            "Deliver to: central kitchen, Dock Road",
                        ],
                    ),
                    (
                        "table",
                        [["Item", "Quantity", "Unit cost", "Total cost"]]
                        + [[d, str(q), money(p), money(a)] for d, q, p, a in items],
                    ),
                    ("lines", [f"Total: {money(total)}"]),
                    ("p", "Invoices must quote the order number. Deliveries before 6:00 only."),
                ],
                {"items": total, "total": total, "check": "match"},
                split="heldout",
                batch="extra-1",
            ),
            "docx",
        )
    )
    # A formal letter.
    out.append(
        (
            Doc(
                "extra1-complaint-reply.pdf",
                "letter",
                [
                    ("lines", ["Portsmouth City Council", "Environmental Health", "1 December 2026"]),
                    ("p", "Dear Sir or Madam,"),
                    (
                        "p",
                        "Following our inspection of your premises at 4 Market Square on 20 November, we are pleased to "
                        "confirm a food hygiene rating of 5. The certificate is enclosed.",
                    ),
                    ("p", "Yours faithfully,"),
                    ("lines", ["J. Whitfield", "Senior Environmental Health Officer"]),
                ],
                split="heldout",
                batch="extra-1",
            ),
            "pdf",
        )
    )
    # Neither of the known types: a recipe.
    out.append(
        (
            Doc(
                "extra1-recipe.txt",
                "other",
                [
                    ("title", "Cardamom buns"),
                    ("h2", "Ingredients"),
                    (
                        "li",
                        [
                            "500 g plain flour",
                            "75 g sugar",
                            "10 g ground cardamom",
                            "250 ml warm milk",
                            "7 g dried yeast",
                        ],
                    ),
                    ("h2", "Method"),
                    (
                        "p",
                        "Mix the dry ingredients, add the milk and knead for ten minutes. Leave to rise for an hour, "
                        "shape into knots and bake at 200 degrees for 12 minutes.",
                    ),
                ],
                split="heldout",
                batch="extra-1",
            ),
            "txt",
        )
    )
    # A report published as a web page (with the site chrome): its content says report.
    out.append(
        (
            Doc(
                "extra1-annual-review.html",
                "report",
                [
                    ("title", "Annual Review 2026"),
                    (
                        "p",
                        "This review summarises the year for our shareholders: results by shop, the findings of the "
                        "customer survey and our recommendations for 2027.",
                    ),
                    ("h2", "Results by shop"),
                    (
                        "table",
                        [
                            ["Shop", "Revenue (GBP)", "Change (%)"],
                            ["Quay Street", "412,000", "8.1"],
                            ["Market Square", "318,500", "4.0"],
                            ["Total", "730,500", "6.3"],
                        ],
                    ),
                    ("h2", "Recommendations"),
                    ("li", ["Open a fourth shop in 2027.", "Review supplier contracts."]),
                ],
                {"items": 730500.0, "total": 730500.0, "check": "match"},
                note="Annual Review 2026 | Harbor Lane",
                split="heldout",
                batch="extra-1",
            ),
            "html",
        )
    )
    return out


# --- a second batch in other layouts again: measured (5/8 right), then tuned on once -------------


def extra_documents_2() -> list[tuple[Doc, str]]:
    out: list[tuple[Doc, str]] = []
    hours = [("Logo concepts", 6), ("Packaging artwork", 11), ("Revisions", 3), ("Print liaison", 2)]
    amounts = [h * 65.0 for _, h in hours]
    out.append(
        (
            Doc(
                "extra2-freelance.txt",
                "invoice",
                [
                    ("title", "Design work for Harbor Lane Bakery"),
                    ("lines", ["Aiko Tanaka Studio", "Invoice 2026-031", "Date issued: 28 November 2026"]),
                    (
                        "table",
                        [["Task", "Hrs", "Amount"]]
                        + [[t, str(h), f"${a:,.2f}"] for (t, h), a in zip(hours, amounts, strict=True)],
                    ),
                    ("lines", [f"Total ${sum(amounts):,.2f}"]),
                    ("p", "Payable within 14 days to the account on file."),
                ],
                {"items": sum(amounts), "total": sum(amounts), "check": "match"},
                split="heldout",
                batch="extra-2",
            ),
            "txt",
        )
    )
    out.append(
        (
            Doc(
                "extra2-terms-of-sale.pdf",
                "contract",
                [
                    ("title", "Terms and Conditions of Sale"),
                    (
                        "p",
                        "1. These terms apply to every sale by Mill Lane Flour Co (the Seller) to the Buyer. No other terms "
                        "apply unless the Seller agrees to them in writing.",
                    ),
                    (
                        "p",
                        "2. Prices are those in force on the date of dispatch. The Buyer shall pay within 30 days of the "
                        "invoice date. Title passes to the Buyer on payment in full.",
                    ),
                    (
                        "p",
                        "3. The Seller is not liable for delays caused by events beyond its reasonable control.",
                    ),
                    (
                        "p",
                        "4. These terms are governed by English law and the courts of England have exclusive jurisdiction.",
                    ),
                ],
                split="heldout",
                batch="extra-2",
            ),
            "pdf",
        )
    )
    out.append(
        (
            Doc(
                "extra2-ops-update.md",
                "report",
                [
                    ("title", "Monthly operations update: November"),
                    (
                        "p",
                        "This update covers the key metrics for November, the highlights of the month and the risks we "
                        "are tracking into December.",
                    ),
                    ("h2", "Key metrics"),
                    (
                        "table",
                        [
                            ["Metric", "November", "October"],
                            ["Loaves baked", "38,200", "36,950"],
                            ["Waste (%)", "3.1", "3.8"],
                            ["On-time deliveries (%)", "97.2", "95.5"],
                        ],
                    ),
                    ("h2", "Highlights"),
                    ("li", ["The new oven reached full output.", "Waste fell for the third month."]),
                    ("h2", "Risks"),
                    ("li", ["Flour prices rise again in January."]),
                ],
                split="heldout",
                batch="extra-2",
            ),
            "md",
        )
    )
    out.append(
        (
            Doc(
                "extra2-bug-report.md",
                "ticket",
                [
                    ("title", "Bug report: stock app freezes on barcode scan"),
                    (
                        "p",
                        "Describe the bug: the stock app freezes for about ten seconds after scanning any barcode.",
                    ),
                    ("h2", "To reproduce"),
                    ("li", ["Open the stock app", "Tap Scan", "Scan any product"]),
                    ("p", "Expected behaviour: the product opens at once. Actual: the screen freezes."),
                    ("lines", ["Device: Zebra TC52, app version 2.8.1", "Labels: bug, needs-triage"]),
                ],
                split="heldout",
                batch="extra-2",
            ),
            "md",
        )
    )
    out.append(
        (
            Doc(
                "extra2-record-memo.pdf",
                "memo",
                [
                    ("title", "Memorandum for record"),
                    (
                        "lines",
                        ["SUBJECT: Freezer temperature excursion, 29 November", "DATE: 30 November 2026"],
                    ),
                    (
                        "p",
                        "At 02:10 the walk-in freezer at the central kitchen rose to minus 12 degrees for forty minutes. "
                        "Stock was checked and none was discarded. The door seal will be replaced on Monday.",
                    ),
                    ("lines", ["Grace Okafor, kitchen manager"]),
                ],
                split="heldout",
                batch="extra-2",
            ),
            "pdf",
        )
    )
    out.append(
        (
            Doc(
                "extra2-price-list.html",
                "web_page",
                [
                    ("title", "Our breads"),
                    (
                        "p",
                        "Every loaf is baked the same morning in our central kitchen and delivered to all three shops.",
                    ),
                    (
                        "table",
                        [
                            ["Bread", "Weight", "Price"],
                            ["Sourdough", "800 g", "4.20"],
                            ["Rye", "600 g", "3.80"],
                            ["Baguette", "250 g", "1.60"],
                        ],
                    ),
                    ("p", "Order by 14:00 for next-day collection. Prices include VAT."),
                ],
                note="Our breads | Harbor Lane Bakery",
                split="heldout",
                batch="extra-2",
            ),
            "html",
        )
    )
    out.append(
        (
            Doc(
                "extra2-offer-letter.docx",
                "letter",
                [
                    ("lines", ["Harbor Lane Bakery Ltd", "25 November 2026"]),
                    ("p", "Dear Mina,"),
                    (
                        "p",
                        "We are delighted to offer you the position of shop manager at Market Square, starting on "
                        "5 January. Your employment contract will follow separately; please let us know by 5 December "
                        "whether you accept.",
                    ),
                    ("p", "Kind regards,"),
                    ("lines", ["Priya Nair", "Operations Director"]),
                ],
                split="heldout",
                batch="extra-2",
            ),
            "docx",
        )
    )
    lines = [("Proofing trays", 12, 18.5), ("Dough scrapers", 30, 2.25), ("Couche linen, 10 m", 2, 64.0)]
    po_total = sum(q * e for _, q, e in lines)
    out.append(
        (
            Doc(
                "extra2-order-7781.txt",
                "purchase_order",
                [
                    ("title", "Order 7781"),
                    (
                        "lines",
                        [
                            "P.O. #: 7781",
                            "Vendor: Bakeware Direct",
                            "Ship via: courier",
                            "Ship to: 4 Market Square",
                        ],
                    ),
                    (
                        "table",
                        [["Item", "Qty", "Each", "Total"]]
                        + [[n, str(q), f"{e:.2f}", f"{q * e:,.2f}"] for n, q, e in lines],
                    ),
                    ("lines", [f"Total: {po_total:,.2f}"]),
                    ("p", "Buyer: Tomás Ferreira. Please confirm the delivery date by email."),
                ],
                {"items": po_total, "total": po_total, "check": "match"},
                split="heldout",
                batch="extra-2",
            ),
            "txt",
        )
    )
    return out


# --- the last batch: written after every change to the rules, never tuned on ----------------------


def blind_documents() -> list[tuple[Doc, str]]:
    out: list[tuple[Doc, str]] = []
    charges = [("Day rate energy", "3,120", "0.2841"), ("Night rate energy", "1,460", "0.1512"),
               ("Standing charge", "30", "0.6100")]  # fmt: skip
    costs = [round(float(u.replace(",", "")) * float(r), 2) for _, u, r in charges]
    vat = round(sum(costs) * 0.2, 2)
    out.append(
        (
            Doc(
                "blind-electricity-bill.pdf",
                "invoice",
                [
                    ("title", "Your electricity bill"),
                    (
                        "lines",
                        [
                            "Account number: 8812 0043 19",
                            "Billing period: 1 to 30 November 2026",
                            "Bill date: 3 December 2026",
                        ],
                    ),
                    (
                        "table",
                        [["Charge", "Units", "Rate (GBP)", "Cost (GBP)"]]
                        + [[n, u, r, money(c)] for (n, u, r), c in zip(charges, costs, strict=True)],
                    ),
                    ("lines", [f"VAT at 20%: {money(vat)}", f"Amount to pay: {money(sum(costs) + vat)}"]),
                    ("p", "We will collect this amount by Direct Debit on or after 17 December."),
                ],
                {"items": round(sum(costs), 2), "total": round(sum(costs) + vat, 2), "check": "match"},
                split="heldout",
                batch="blind",
            ),
            "pdf",
        )
    )
    out.append(
        (
            Doc(
                "blind-consultancy.md",
                "contract",
                [
                    ("title", "Consultancy Agreement"),
                    (
                        "p",
                        "Between Granite Peak Engineering LLC (the Consultant) and Harbor Lane Bakery Ltd (the Company).",
                    ),
                    ("h2", "1. Engagement"),
                    (
                        "p",
                        "The Company engages the Consultant to advise on the design of the new "
                        "central kitchen. The Consultant is an independent contractor.",
                    ),
                    ("h2", "2. Payment"),
                    ("p", "The Company will pay a day rate of 650 GBP against monthly invoices."),
                    ("h2", "3. Ending the engagement"),
                    ("p", "Either side may end this engagement on fourteen days notice."),
                    (
                        "lines",
                        ["Signed for the Company: Priya Nair", "Signed by the Consultant: Lars Eriksen"],
                    ),
                ],
                split="heldout",
                batch="blind",
            ),
            "md",
        )
    )
    out.append(
        (
            Doc(
                "blind-postmortem.md",
                "report",
                [
                    ("title", "Postmortem: online ordering outage, 18 November"),
                    ("h2", "Impact"),
                    (
                        "p",
                        "Online orders failed for 47 minutes between 11:02 and 11:49; about 120 orders "
                        "were lost.",
                    ),
                    ("h2", "Root cause"),
                    ("p", "An expired TLS certificate on the payment gateway."),
                    ("h2", "Timeline"),
                    ("li", ["11:02 first failed order", "11:20 on-call paged", "11:49 certificate renewed"]),
                    ("h2", "Lessons and actions"),
                    ("li", ["Alert 30 days before a certificate expires."]),
                ],
                split="heldout",
                batch="blind",
            ),
            "md",
        )
    )
    out.append(
        (
            Doc(
                "blind-helpdesk.html",
                "ticket",
                [
                    ("title", "Request #20931: Oven thermostat reads 15 degrees high"),
                    (
                        "lines",
                        [
                            "Submitted by Tomás Ferreira · 27 November 2026",
                            "Status: Solved",
                            "Group: Facilities",
                        ],
                    ),
                    (
                        "p",
                        "The thermostat on deck oven 2 reads about 15 degrees above the probe thermometer.",
                    ),
                    (
                        "p",
                        "Facilities: the engineer recalibrated the thermostat on 28 November. Marking this solved; reply "
                        "if the readings drift again.",
                    ),
                ],
                note="Request #20931 - Facilities help centre",
                split="heldout",
                batch="blind",
            ),
            "html",
        )
    )
    out.append(
        (
            Doc(
                "blind-staff-memo.txt",
                "memo",
                [
                    ("lines", ["TO: All bakers", "FROM: Head baker", "SUBJECT: New starter feeding times"]),
                    (
                        "p",
                        "Dear all, from Monday the starters are fed at 6:00 and 18:00. The night shift should leave the "
                        "18:00 feed for the evening team.",
                    ),
                    ("p", "Thanks for your help."),
                ],
                split="heldout",
                batch="blind",
            ),
            "txt",
        )
    )
    out.append(
        (
            Doc(
                "blind-events.html",
                "web_page",
                [
                    ("title", "Winter baking classes"),
                    (
                        "p",
                        "Join our bakers for a morning of hands-on baking. Classes are small, and every guest takes home "
                        "what they bake.",
                    ),
                    (
                        "table",
                        [
                            ["Class", "Date", "Places"],
                            ["Sourdough basics", "6 December", "8"],
                            ["Christmas stollen", "13 December", "6"],
                            ["Cinnamon buns", "10 January", "8"],
                        ],
                    ),
                    ("p", "Book online or ask in any of our shops."),
                ],
                note="Winter baking classes | Harbor Lane Bakery",
                split="heldout",
                batch="blind",
            ),
            "html",
        )
    )
    items = [
        ("Cake boxes, 10 inch", 200, 0.85),
        ("Ribbon, gold, 50 m", 4, 6.5),
        ("Tissue paper, 480 sheets", 2, 21.0),
    ]
    subtotal = round(sum(q * u for _, q, u in items), 2)
    tax, shipping = round(subtotal * 0.2, 2), 12.0
    out.append(
        (
            Doc(
                "blind-po-form.pdf",
                "purchase_order",
                [
                    ("title", "Purchase order"),
                    (
                        "lines",
                        [
                            "PO #: 2026-1150",
                            "Date: 1 December 2026",
                            "Vendor: PackRight Supplies",
                            "Ship to: Harbor Lane Bakery, 12 Quay Street",
                        ],
                    ),
                    (
                        "table",
                        [["Qty", "Description", "Unit Price", "Amount"]]
                        + [[str(q), n, money(u), money(q * u)] for n, q, u in items],
                    ),
                    (
                        "lines",
                        [
                            f"Subtotal: {money(subtotal)}",
                            f"Tax: {money(tax)}",
                            f"Shipping: {money(shipping)}",
                            f"Total: {money(subtotal + tax + shipping)}",
                        ],
                    ),
                ],
                {
                    "items": subtotal,
                    "subtotal": subtotal,
                    "total": round(subtotal + tax + shipping, 2),
                    "check": "match",
                },
                split="heldout",
                batch="blind",
            ),
            "pdf",
        )
    )
    out.append(
        (
            Doc(
                "blind-cover-letter.docx",
                "letter",
                [
                    ("lines", ["Grace Okafor", "7 Dock Road, Portsmouth", "2 December 2026"]),
                    ("p", "Dear Ms Nair,"),
                    (
                        "p",
                        "I would like to apply for the post of kitchen manager advertised on your website. I have run a "
                        "hotel pastry kitchen for six years and would welcome the chance to meet you.",
                    ),
                    ("p", "Yours sincerely,"),
                    ("lines", ["Grace Okafor"]),
                ],
                split="heldout",
                batch="blind",
            ),
            "docx",
        )
    )
    return out


def build() -> list[tuple[Doc, str]]:
    """(document, format) for the whole set."""
    docs: list[tuple[Doc, str]] = [
        (invoice_60_lines(), "docx"),
        (invoice_small("invoice-supplies.pdf", 0), "pdf"),
        (invoice_small("invoice-dairy.md", 1), "md"),
        (invoice_small("invoice-packaging.txt", 2), "txt"),
        (invoice_small("invoice-cleaning.docx", 3), "docx"),
        (invoice_wrong_subtotal(), "md"),
        (invoice_hourly_text(), "txt"),
        (invoice_email_html(), "html"),
        (purchase_order("po-kitchen.pdf", 0), "pdf"),
        (purchase_order("po-equipment.docx", 1), "docx"),
        (purchase_order("po-supplies.md", 2), "md"),
        (purchase_order("po-bins.txt", 3), "txt"),
        (purchase_order("po-scales.pdf", 4), "pdf"),
        (purchase_order("po-baskets.html", 5), "html"),
        (contract_msa(), "docx"),
        (contract_generic("contract-nda.txt", 0), "txt"),
        (contract_generic("contract-lease.pdf", 1), "pdf"),
        (contract_generic("contract-employment.md", 2), "md"),
        (contract_generic("contract-sow.docx", 3), "docx"),
        (contract_generic("contract-licence.pdf", 4), "pdf"),
        (contract_generic("contract-nda-2.md", 5), "md"),
        (ticket("ticket-export.txt", 0), "txt"),
        (ticket("ticket-login.md", 1), "md"),
        (ticket("ticket-vat.html", 2), "html"),
        (ticket("ticket-printer.txt", 3), "txt"),
        (ticket("ticket-address.pdf", 4), "pdf"),
        (ticket("ticket-sync.html", 5), "html"),
        (memo("memo-hours.txt", 0), "txt"),
        (memo("memo-fire-drill.docx", 1), "docx"),
        (memo("memo-expenses.md", 2), "md"),
        (memo("memo-stock.pdf", 3), "pdf"),
        (memo("memo-welcome.txt", 4), "txt"),
        (memo("memo-parking.docx", 5), "docx"),
        (report("report-sustainability.md", 0), "md"),
        (report("report-survey.docx", 1), "docx"),
        (report("report-financial.pdf", 2), "pdf"),
        (report("report-incident.md", 3), "md"),
        (report("report-coffee.docx", 4), "docx"),
        (report("report-traffic.txt", 5), "txt"),
        (web_page("web-sourdough.html", 0), "html"),
        (web_page("web-about.html", 1), "html"),
        (web_page("web-faq.html", 2), "html"),
        (web_page("web-release-notes.html", 3), "html"),
        (web_page("web-news.html", 4), "html"),
        (web_page("web-product.html", 5), "html"),
        (web_page("web-blog.html", 6), "html"),
        (letter("letter-apology.txt", 0), "txt"),
        (letter("letter-appointment.docx", 1), "docx"),
        (letter("letter-enclosure.pdf", 2), "pdf"),
        *extra_documents_1(),
        *extra_documents_2(),
        *blind_documents(),
    ]
    return docs


def main(out: Path = HERE) -> None:
    """Write docs/ and manifest.json under `out` (this folder unless a test asks elsewhere)."""
    samples = _samples_module()
    docs_dir = out / "docs"
    docs_dir.mkdir(parents=True, exist_ok=True)
    for old in docs_dir.iterdir():
        old.unlink()
    manifest: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for doc, fmt in build():
        path = docs_dir / doc.name
        if fmt == "html":
            # Web pages get the site chrome; an emailed invoice or a helpdesk page gets it too (a
            # browser "save as" keeps it), so extraction must find the content inside.
            path.write_text(render_html(doc.blocks, doc.note or doc.name, chrome=True))
        elif fmt in {"txt", "md"}:
            path.write_text(render_text(doc.blocks, markdown=fmt == "md"))
        elif fmt == "docx":
            path.write_bytes(render_docx(doc.blocks, samples._normalise_zip))
        else:
            path.write_bytes(render_pdf(doc.blocks, samples._pdf))
        # Alternate each type's documents between the halves: every type is in both.
        index = seen[doc.type] = seen.get(doc.type, -1) + 1
        entry: dict[str, Any] = {
            "file": doc.name,
            "type": doc.type,
            "format": fmt,
            "split": doc.split or ("tune" if index % 2 == 0 else "heldout"),
            "batch": doc.batch,
        }
        if doc.totals:
            entry["totals"] = {k: round(v, 2) if isinstance(v, float) else v for k, v in doc.totals.items()}
        if doc.note and fmt != "html":
            entry["note"] = doc.note
        manifest.append(entry)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for entry in manifest:
        counts[entry["type"]] = counts.get(entry["type"], 0) + 1
    kinds = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"{len(manifest)} documents in {docs_dir}: {kinds}")


if __name__ == "__main__":
    main()
