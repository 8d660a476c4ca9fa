"""The command line's one table renderer (rich): every table docpipe prints goes through here.

Plain text for the plan, cost, compare, recommend, simulate and status views (`render_table`), and
the same table styled for `docpipe dev` on a terminal (`build_table`). Columns are two spaces
apart, the header is the first line, and a table fits the width: the terminal's, else `COLUMNS`,
else 80 (rich's rules; `width=` overrides them, terminal or not). To fit, the widest columns wrap
their cells inside the column; nothing is cut off.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

Row = Sequence[str]


def _cell(text: str, right: bool) -> Any:
    from rich.padding import Padding
    from rich.text import Text

    # Text, not markup: "[docpipe:placement:Ec2]" is data. A right-aligned cell keeps its trailing
    # spaces (rich would strip them), so "100.03 " lines up with "17.12†" as the old tables did.
    kept = len(text) - len(text.rstrip(" "))
    if right and kept and text.strip():
        return Padding(Text(text.rstrip(" "), justify="right"), (0, kept, 0, 0))
    return Text(text)


def _widths(header: Row | None, body: list[list[str]], columns: int, room: int | None) -> list[int | None]:
    """Column widths that fit `room` characters of cells: the widest column gives way first, down to
    its longest word; only when every column is there do the widest cells fold inside words (rich
    alone shrinks columns without regard to words and folds "USD/month" into "USD/mont h").
    """
    from rich.cells import cell_len

    if room is None:
        return [None] * columns
    lines = ([list(header)] if header is not None else []) + body
    cells = [[row[i] for row in lines if i < len(row)] for i in range(columns)]
    widest = [max((cell_len(c) for c in col), default=0) for col in cells]
    longest_word = [max((cell_len(w) for c in col for w in c.split()), default=0) for col in cells]
    heading_word = [
        max((cell_len(w) for w in (header[i] if header else "").split()), default=1) for i in range(columns)
    ]
    widths = list(widest)
    # Wrap between words first; then fold the widest cells, keeping headings whole; then anything.
    for floor in (longest_word, heading_word, [1] * columns):
        while sum(widths) > room:
            can = [i for i in range(columns) if widths[i] > floor[i]]
            if not can:
                break
            widths[max(can, key=lambda i: widths[i])] -= 1
    return list(widths)


def build_table(
    header: Row | None,
    rows: Iterable[Row],
    *,
    align: str = "",
    title: str | None = None,
    styles: Sequence[str | None] | None = None,
    width: int | None = None,
) -> Table:
    """A rich Table: `align` has one character per column, `>` for right-aligned, anything else left.

    `header=None` prints no header line; `styles` (one per row, e.g. "red") show only on a terminal;
    `width` is the room the whole table must fit in (None: as wide as its cells).
    """
    from rich.table import Table
    from rich.text import Text

    body = [list(r) for r in rows]
    columns = len(header) if header is not None else max((len(r) for r in body), default=0)
    table = Table(
        box=None,
        show_header=header is not None,
        header_style="bold",
        pad_edge=False,
        padding=(0, 1),
        title=title,
        title_justify="left",
        expand=False,
    )
    right = [align[i : i + 1] == ">" for i in range(columns)]
    gaps = 2 * max(columns - 1, 0)
    widths = _widths(header, body, columns, None if width is None else width - gaps)
    for i in range(columns):
        table.add_column(
            Text(header[i]) if header is not None else "",
            justify="right" if right[i] else "left",
            overflow="fold",
            width=widths[i],
        )
    for n, row in enumerate(body):
        table.add_row(*(_cell(c, right[i]) for i, c in enumerate(row)), style=styles[n] if styles else None)
    return table


def terminal_width() -> int:
    """The width output should fit: the terminal's, else `COLUMNS`, else 80."""
    from rich.console import Console

    return Console().width


def render_table(
    header: Row | None,
    rows: Iterable[Row],
    *,
    align: str = "",
    width: int | None = None,
    indent: int = 0,
) -> list[str]:
    """The table as plain lines (no trailing spaces), each at most `width` characters.

    `width` defaults to `terminal_width()`; `indent` spaces start every line and count in the width.
    """
    from rich.console import Console

    out = io.StringIO()
    total = terminal_width() if width is None else width
    room = max(total - indent, 10)
    console = Console(
        file=out,
        width=room,
        color_system=None,
        force_terminal=False,
        highlight=False,
        markup=False,
        emoji=False,
        legacy_windows=False,
    )
    console.print(build_table(header, rows, align=align, width=room))
    pad = " " * indent
    return [(pad + line).rstrip() for line in out.getvalue().splitlines()]


def wrap(text: str, width: int | None = None, *, indent: int = 0, hang: int = 2) -> list[str]:
    """Prose as lines of at most `width` (default `terminal_width()`): the first line starts with
    `indent` spaces, the rest with `indent + hang`. A word longer than the room is folded."""
    import textwrap

    total = terminal_width() if width is None else width
    lines = textwrap.wrap(
        text,
        width=max(total, indent + hang + 10),
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + hang),
        break_on_hyphens=False,
    )
    return lines or [""]


def fit(lines: Iterable[str], width: int | None = None) -> list[str]:
    """Every line that is longer than `width` wrapped under its own indentation (a hanging indent of
    two more spaces), the others as they are: the last guard of every human view."""
    total = terminal_width() if width is None else width
    out: list[str] = []
    for line in lines:
        for part in line.split("\n"):
            if len(part) <= total:
                out.append(part)
            else:
                lead = len(part) - len(part.lstrip(" "))
                out += wrap(part.strip(), total, indent=lead)
    return out


def middle_ellipsis(text: str, width: int) -> str:
    """`text` shortened to `width` by cutting its middle: "invoice-2024-…-march.pdf" keeps the end
    that tells similar names apart (and the suffix)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    tail = (width - 1) // 2 + (width - 1) % 2
    head = width - 1 - tail
    return text[:head] + "…" + text[len(text) - tail :]


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 document`, `2 documents`."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"
