"""The heuristic analysis's enrichment program: totals only what it can justify.

Its source is the code the enrichment sandbox runs (`elements` defined, `result` assigned at the
end), so it is self-contained and imports only `re`: the local sandbox preloads a few standard
modules and then cannot read the interpreter's files (no `typing`, `html` or `__future__`). For the
same reason annotations are bare builtins. The analysis also calls `check_amounts` itself, to decide
whether a document has amounts worth a sandbox run.

What it sums: table columns whose header names an amount (Amount, Total, Line total, Fee, Sales,
Revenue, a currency...), never unit prices, rates, quantities, hours, row numbers, identifiers or
percentages. What it checks: the summed line items against a stated subtotal (or total), and
subtotal + tax against a stated total, from "Subtotal: 95.00" lines or Subtotal/Total rows. Its
`status` says what the check found: verified, mismatch, unchecked (summed, nothing stated to check
against) or "no amounts found".
"""

import re

# A header that names a per-unit figure, a count, an identifier or a percentage: never summed.
# Checked before _AMOUNT, so "Unit cost (EUR)" and "Rate (USD/h)" stay out.
_NOT_AMOUNT = re.compile(
    r"\b(unit|units|each|per|rate|price|qty|quantity|quantities|hours?|hrs|days|count|pcs|pieces|"
    r"ordered|weight|kg|kwh|minutes|visits|responses|phone|sku|code|id|ref|share|margin|change|"
    r"growth|percent(age)?)\b|%|/h\b"
    r"|^\s*(#|no\.?|nr\.?|line|item|pos\.?|year|date|month|day|week|quarter)\s*$",
    re.IGNORECASE,
)
_EXTENDED = re.compile(r"\b(extended|total|line)\s+(price|amount|cost)\b", re.IGNORECASE)
_AMOUNT = re.compile(
    r"\b(amount|total|subtotal|sum|value|cost|fees?|charges?|sales|revenue|spend|net|gross|balance|"
    r"payment|price)\b|\b(usd|eur|gbp|chf|jpy|aud|cad)\b|[$€£¥]",
    re.IGNORECASE,
)
_QTY = re.compile(r"\b(qty|quantity|hours?|hrs|units|ordered|pcs)\b", re.IGNORECASE)
_UNIT = re.compile(r"\b(unit|rate|each|price)\b", re.IGNORECASE)
_NUMBER = re.compile(r"^\(?[-+]?\s?[$€£¥]?\s?\d[\d,]*(\.\d+)?\)?(\s?[A-Z]{3})?$")

_LABELS = (
    r"(?P<subtotal>sub-?\s?total)"
    r"|(?P<tax>sales\s+tax|vat|gst|tax)"
    r"|(?P<discount>discount|rebate|credit)"
    r"|(?P<shipping>shipping|delivery|freight|postage|carriage|handling)"
    r"|(?P<total>grand\s+total|total\s+amount\s+due|total\s+due|total\s+payable|order\s+total|"
    r"invoice\s+total|balance\s+due|amount\s+due|total)"
)
_KINDS = ("subtotal", "tax", "discount", "shipping", "total")
# Adjustments (discount, shipping) are words prose uses too ("Delivery date: 20 November"): they
# count only with a money figure (two decimals).
_ADJUSTMENTS = ("discount", "shipping")
# A label, a few words (a rate such as "(20%)" allowed), then the figure: the figure is the first
# number not followed by "%", so "VAT 20%: 199.08" states 199.08.
_STATED = re.compile(
    rf"\b(?:{_LABELS})\b[^\d\n:.]{{0,20}}(?:\(?\d+(?:\.\d+)?\s?%\)?[^\d\n:]{{0,12}})?:?\s*"
    r"(?:[A-Z]{3}\s?)?[-−]?\s?[$€£¥]?\s?(?P<value>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\d%]|\s%|,\d)",
    re.IGNORECASE,
)
# A table row that states a figure instead of listing an item: its first cell is only a label
# ("Subtotal", "VAT 20%", "Total:"), not an item that starts with one ("Delivery and set-up").
_STATED_MAX_CHARS = 2000
_ROW_LABEL = re.compile(rf"^\s*(?:{_LABELS})\s*(\(?\d+(\.\d+)?\s?%\)?)?\s*:?\s*$", re.IGNORECASE)


def number(cell: str) -> float | None:
    """The value of a money or number cell ("1,194.49", "$ 50.00", "(12.00)", "95.00 GBP")."""
    text = cell.strip()
    if not text or "%" in text or not _NUMBER.match(text):
        return None
    negative = text.startswith("(") or text.lstrip("+ ").startswith("-")
    value = float(re.sub(r"[^0-9.]", "", text))
    return -value if negative else value


_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": " "}


def _unescape(text: str) -> str:
    def one(m: re.Match) -> str:
        name = m.group(1)
        if name.startswith("#"):
            return chr(int(name[2:], 16) if name[1:2] in "xX" else int(name[1:]))
        return _ENTITIES.get(name, m.group(0))

    return re.sub(r"&(#[xX]?[0-9a-fA-F]+|\w+);", one, text)


def table_rows(element: dict) -> list[list[str]]:
    source = (element.get("metadata") or {}).get("text_as_html") or ""
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", source, re.IGNORECASE | re.DOTALL):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.IGNORECASE | re.DOTALL)
        rows.append([" ".join(_unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells])
    return [r for r in rows if any(r)]


def column_kind(header: str, values: list[float | None]) -> str:
    """amount | quantity | unit | skipped:<why> for one column."""
    numeric = [v for v in values if v is not None]
    if not numeric or len(numeric) < 0.6 * len(values):
        return "skipped:not numeric"
    if _EXTENDED.search(header):
        return "amount"
    if _NOT_AMOUNT.search(header):
        if _QTY.search(header):
            return "quantity"
        if _UNIT.search(header):
            return "unit"
        row_id = re.match(r"^\s*(#|no|nr|line|item|pos|id|ref)", header, re.IGNORECASE)
        return "skipped:" + ("row number or id" if row_id else "not an amount")
    if _AMOUNT.search(header):
        return "amount"
    return "skipped:header names no amount" if header.strip() else "skipped:no header"


def _close(a: float, b: float) -> bool:
    return abs(a - b) < 0.005 + 1e-9 * max(abs(a), abs(b))


def fmt(value: float) -> str:
    return f"{value:,.2f}"


def check_amounts(elements: list[dict]) -> dict:
    column_totals: dict[str, float] = {}
    skipped: dict[str, str] = {}
    stated: dict[str, float] = {}
    items_total: float | None = None
    line_rows = line_bad = 0
    tables = [e for e in elements if e.get("type") == "Table"]
    previous_header: list[str] | None = None
    for table in tables:
        rows = table_rows(table)
        if not rows:
            continue
        header = rows[0]
        # A table that starts with figures where the one before had its header is that table
        # continued (a page break): it keeps the earlier header.
        first = [number(c) for c in header]
        if previous_header and len(header) == len(previous_header) and sum(v is not None for v in first) >= 1:
            header, rows = previous_header, [previous_header, *rows]
        if len(rows) < 2:
            continue
        previous_header = header
        body, label_rows = [], []
        for row in rows[1:]:
            found = _ROW_LABEL.match(next((c for c in row if c), ""))
            if found and any(number(c) is not None for c in row[1:]):
                label_rows.append((next(k for k in _KINDS if found.group(k)), row))
            else:
                body.append(row)
        width = max(len(r) for r in [header, *body])
        kinds: dict[int, str] = {}
        for index in range(width):
            name = header[index] if index < len(header) and header[index] else f"column {index + 1}"
            values = [number(r[index]) if index < len(r) else None for r in body]
            kind = column_kind(name, values)
            kinds[index] = kind
            if kind == "amount":
                column_totals[name] = round(column_totals.get(name, 0.0) + sum(v or 0.0 for v in values), 2)
            elif any(v is not None for v in values):
                skipped[name] = kind.removeprefix("skipped:")
        amounts = [i for i, k in kinds.items() if k == "amount"]
        for kind, row in label_rows:  # the figure in the (last) amount column, else the last one
            figures = [number(c) for c in row[1:]]
            at = number(row[amounts[-1]]) if amounts and amounts[-1] < len(row) else None
            stated[kind] = at if at is not None else [v for v in figures if v is not None][-1]
        if len(amounts) == 1:  # the line items' amounts: one amount column, no ambiguity
            col = amounts[0]
            items_total = round(
                (items_total or 0.0) + sum(number(r[col]) or 0.0 for r in body if col < len(r)), 2
            )
            qty = [i for i, k in kinds.items() if k == "quantity"]
            unit = [i for i, k in kinds.items() if k == "unit"]
            if len(qty) == 1 and len(unit) == 1:  # each line's arithmetic: quantity × unit = amount
                for r in body:
                    q, u, a = (number(r[i]) if i < len(r) else None for i in (qty[0], unit[0], col))
                    if q is not None and u is not None and a is not None:
                        line_rows += 1
                        line_bad += not _close(round(q * u, 2), a)
    for element in elements:
        text = str(element.get("text", ""))
        # A stated figure is a short line ("Subtotal: 95.00"), never inside a long paragraph.
        if element.get("type") == "Table" or len(text) > _STATED_MAX_CHARS:
            continue
        for found in _STATED.finditer(text):
            kind = next(k for k in _KINDS if found.group(k))
            value = found.group("value")
            if kind in _ADJUSTMENTS and not re.search(r"\.\d\d$", value):
                continue
            stated.setdefault(kind, float(value.replace(",", "")))

    if not column_totals and not stated:
        return {"status": "no amounts found", "check": "no amounts found", "tables": len(tables),
                "skipped_columns": skipped}  # fmt: skip

    checks: list[tuple[bool, str]] = []
    subtotal, tax, total = stated.get("subtotal"), stated.get("tax", 0.0), stated.get("total")
    items_match = None
    if items_total is not None and subtotal is not None:
        items_match = _close(items_total, subtotal)
        checks.append(
            (items_match, f"items {fmt(items_total)} {'=' if items_match else '≠'} subtotal {fmt(subtotal)}")
        )
    total_match = None
    base = subtotal if subtotal is not None else items_total
    discount, shipping = abs(stated.get("discount", 0.0)), stated.get("shipping", 0.0)
    if total is not None and base is not None:
        expected = base - discount + shipping + tax
        total_match = _close(expected, total)
        what = ("subtotal" if subtotal is not None else "items") + "".join(
            f" {sign} {name}" for sign, name, v in (("−", "discount", discount), ("+", "shipping", shipping),
                                                     ("+", "tax", tax)) if v
        )  # fmt: skip
        checks.append(
            (total_match, f"{what} {fmt(expected)} {'=' if total_match else '≠'} total {fmt(total)}")
        )
    # The sum is verified only against a figure the document states; line arithmetic alone checks
    # the lines, not that the sum is the document's total.
    against_stated = bool(checks)
    if line_rows:
        checks.append((line_bad == 0, f"{line_rows - line_bad}/{line_rows} lines qty × unit = amount"))
    summed = ", ".join(f"{k} {fmt(v)}" for k, v in column_totals.items()) or "stated " + ", ".join(
        f"{k} {fmt(v)}" for k, v in stated.items()
    )
    if not all(ok for ok, _ in checks):
        status, check = "mismatch", "; ".join(text for _, text in checks)
    elif against_stated:
        status, check = "verified", "; ".join(text for _, text in checks)
    else:
        status = "unchecked"
        check = "; ".join([summed, *(text for _, text in checks), "nothing stated to check against"])
    return {
        "status": status,
        "check": check,
        "tables": len(tables),
        "column_totals": column_totals,
        "skipped_columns": skipped,
        "line_items_total": items_total,
        "stated": stated,
        "items_match_subtotal": items_match,
        "total_matches_due": total_match,
    }


if "elements" in globals():  # run as the enrichment program
    result = check_amounts(globals()["elements"])
