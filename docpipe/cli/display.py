"""What `docpipe dev` prints: a live table on a terminal (rich), plain lines elsewhere (CI, pipes).

Both show the same facts: per document, the stage it is in and how long each stage took; then a
results table (document, type, enriched, stored row, time per stage) and the Temporal UI address.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import IO, Any

from docpipe.cli.table import build_table, middle_ellipsis, render_table, terminal_width, wrap
from docpipe.local.progress import DocProgress
from docpipe.local.realize import LocalRole
from docpipe.local.rows import STAGES

STAGE_TITLES = {"extraction": "extract", "analysis": "analyse", "enrichment": "enrich", "storage": "store"}
LIVE_STYLES = {"stored": "green", "failed": "red", "error": "red", "skipped": "dim"}
RESULT_STYLES = {"failed": "red", "error": "red", "skipped": "dim"}


def _ms(ms: float | None) -> str:
    if ms is None:
        return ""
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def outcome_text(d: DocProgress) -> str:
    if d.outcome == "skipped":
        assert d.row is not None
        if d.row.status == "stored":
            return "skipped: already stored"
        return f"skipped: failed earlier ({d.row.failed_stage}: {d.row.reason})"
    if d.outcome == "stored":
        return "stored" + (" (resumed)" if d.resumed else "")
    if d.outcome == "failed":
        return f"failed at {d.failed_stage or '?'}: {d.reason}"
    if d.outcome == "error":
        return f"error: {d.reason}"
    return d.outcome


def stage_cells(d: DocProgress, now: float) -> list[str]:
    """One cell per stage: final time (from the workflow), live time, or a marker."""
    cells = []
    final = d.stage_ms()
    finished = d.done
    for s in STAGES:
        if s in final:
            cells.append(_ms(final[s]))
        elif s == d.stage and not finished and d.stage_started is not None:
            cells.append(f"▸ {now - d.stage_started:.1f} s")
        elif s in d.seen:
            cells.append(f"✓ {d.seen[s]:.1f} s")
        elif finished or (s == "enrichment" and d.stage == "storage"):
            cells.append("—")
        else:
            cells.append("·")
    return cells


# Beyond this many documents the views summarise: counts, the running ones, the failures.
DETAIL_LIMIT = 100


def counts_line(docs: Sequence[DocProgress]) -> str:
    counts = {o: 0 for o in ("stored", "failed", "error", "running", "queued", "skipped")}
    for d in docs:
        counts[d.outcome] = counts.get(d.outcome, 0) + 1
    return " · ".join(f"{n} {o}" for o, n in counts.items() if n)


class PlainDisplay:
    """A line per event, with the time since start: readable in CI logs and when piped.

    Past DETAIL_LIMIT documents only outcomes other than stored get a line, with a counts line
    every few seconds (a line per stage of 10,000 documents would bury the failures).
    """

    def __init__(self, stream: IO[str] | None = None, every_seconds: float = 5.0, total: int = 0) -> None:
        self.stream = stream or sys.stdout
        self.t0 = time.monotonic()
        self.docs: dict[str, DocProgress] = {}
        self.every_seconds = every_seconds
        self._last_counts = self.t0
        self.total = total  # documents in this run, when known: past DETAIL_LIMIT from the first event

    def _many(self) -> bool:
        return max(len(self.docs), self.total) > DETAIL_LIMIT

    def _print(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {text}", file=self.stream, flush=True)

    def changed(self, d: DocProgress) -> None:
        self.docs[d.sha256] = d
        name = f"{d.ref.filename:<24}"
        if self._many():
            if d.outcome in {"failed", "error"}:
                self._print(f"{name} {outcome_text(d)}")
        elif d.outcome == "skipped":
            self._print(f"{name} {outcome_text(d)}")
        elif d.outcome == "running" and d.stage == "queued":
            self._print(f"{name} {'resumed' if d.resumed else 'started'} {d.workflow_id[:16]}…")
        elif d.outcome == "running":
            self._print(f"{name} {d.stage}")
        else:
            self._print(f"{name} {outcome_text(d)} ({d.elapsed():.1f} s)")

    def tick(self) -> None:
        now = time.monotonic()
        if self._many() and now - self._last_counts >= self.every_seconds:
            self._last_counts = now
            self._print(counts_line(list(self.docs.values())))

    def note(self, message: str) -> None:
        self._print(message)

    def close(self) -> None:
        if len(self.docs) > DETAIL_LIMIT:
            self._print(counts_line(list(self.docs.values())))


class RichDisplay:
    """A live table redrawn at each refresh; notes scroll above it.

    Rows: the running documents first, then the latest finished, as many as the terminal holds;
    the title counts every document.
    """

    def __init__(self, console: Any) -> None:
        from rich.live import Live

        self.console = console
        self.docs: dict[str, DocProgress] = {}
        self.t0 = time.monotonic()
        self.live = Live(self._render(), console=console, auto_refresh=False, transient=True)
        self.live.start()

    def _render(self) -> Any:
        now = time.monotonic()
        docs = list(self.docs.values())
        room = max(5, self.console.height - 6)
        if len(docs) > room:
            running = [d for d in docs if not d.done]
            finished = [d for d in docs if d.done and d.outcome != "skipped"]
            finished.sort(key=lambda d: d.finished or 0.0)
            shown = running[:room]
            rest = room - len(shown)
            shown += finished[-rest:] if rest > 0 else []
        else:
            shown = docs
        title = f"docpipe dev · {now - self.t0:.1f} s"
        if len(docs) > room:
            title += f" · {counts_line(docs)}"
        # Short outcomes (a failure's reason comes with the results table's notes) and names cut in
        # the middle: ten "log-1…" rows must stay apart.
        width = max(self.console.width - 60, DOCUMENT_MIN)
        return build_table(
            ["document", *STAGE_TITLES.values(), ""],
            [[middle_ellipsis(d.ref.filename, width), *stage_cells(d, now), _live_outcome(d)] for d in shown],
            align="<" + ">" * len(STAGES) + "<",
            title=title,
            styles=[LIVE_STYLES.get(d.outcome) for d in shown],
            width=self.console.width,
        )

    def changed(self, d: DocProgress) -> None:
        self.docs[d.sha256] = d  # drawn at the next tick: a redraw per change is O(documents²)

    def tick(self) -> None:
        self.live.update(self._render(), refresh=True)

    def note(self, message: str) -> None:
        self.live.console.print(message)

    def close(self) -> None:
        self.live.stop()


def make_display(stream: IO[str], total: int = 0) -> PlainDisplay | RichDisplay:
    """Rich on an interactive terminal, plain lines otherwise (`total`: documents in the run)."""
    if stream.isatty():
        try:
            from rich.console import Console

            console = Console(file=stream)
            if console.is_terminal and not console.is_dumb_terminal:
                return RichDisplay(console)
        except ImportError:
            pass
    return PlainDisplay(stream, total=total)


# --- static parts: the header and the results table ---------------------------------------------


def roles_lines(roles: Sequence[LocalRole], pids: dict[str, int]) -> list[str]:
    rows = [[r.role, r.target, r.backend or "—", str(pids.get(f"worker-{r.role}") or "?")] for r in roles]
    return render_table(["role", "cloud target", "runs here as", "pid"], rows, indent=2)


def _seconds(ms: float | None) -> str:
    if ms is None:
        return "—"
    return f"{ms / 1000:.1f}" if ms < 99_950 else f"{ms / 1000:.0f}"


SHORT_OUTCOMES = {"stored": "stored", "skipped": "skipped", "failed": "failed", "error": "error"}
RESULT_HEADERS = ["document", "type", "enriched", "row (sha256)", "seconds", "outcome"]
RESULT_ALIGN = "<<<<><"
TIMES_LEGEND = "seconds: " + " / ".join(STAGE_TITLES.values())
DOCUMENT_MIN = 16  # a name shortened below this no longer tells similar ones apart


def _live_outcome(d: DocProgress) -> str:
    if d.outcome == "failed":
        return f"failed at {d.failed_stage or '?'}"
    if d.outcome in {"queued", "running"}:
        return d.outcome
    return _short_outcome(d)


def _short_outcome(d: DocProgress) -> str:
    if d.outcome == "stored":
        return "stored" + (" (resumed)" if d.resumed else "")
    if d.outcome == "skipped" and d.row is not None and d.row.status == "stored":
        return "already stored"
    return SHORT_OUTCOMES.get(d.outcome, d.outcome)


def results_rows(docs: Sequence[DocProgress], width: int | None = None) -> tuple[list[list[str]], list[str]]:
    """The results table's rows, and the details below it: an outcome with a reason (a failure, a
    skip of a failed document) is a short word and a note number; the note holds the whole reason.
    Document names are shortened in the middle when the table would not fit `width`, so
    "invoice-2024-…-march.pdf" keeps the end that tells similar names apart."""
    rows: list[list[str]] = []
    notes: list[str] = []
    for d in docs:
        r = d.row
        ms = d.stage_ms()
        outcome = _short_outcome(d)
        skipped_failure = d.outcome == "skipped" and r is not None and r.status != "stored"
        if d.outcome in {"failed", "error"} or skipped_failure:
            notes.append(f"[{len(notes) + 1}] {d.ref.filename}: {outcome_text(d)}")
            outcome = f"{outcome} [{len(notes)}]"
        rows.append(
            [
                d.ref.filename,
                (r.document_type if r else None) or "—",
                r.enrichment_label if r else "—",
                r.row_id if r else "—",
                "/".join(_seconds(ms.get(s)) for s in STAGES),
                outcome,
            ]
        )
    if width is not None and rows:
        others = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(RESULT_HEADERS)][1:]
        room = max(width - sum(others) - 2 * (len(RESULT_HEADERS) - 1), DOCUMENT_MIN)
        for row in rows:
            row[0] = middle_ellipsis(row[0], room)
    return rows, notes


def print_results(docs: Sequence[DocProgress], stream: IO[str], rich: bool) -> None:
    """The results table: styled on a terminal (`rich`), plain text otherwise; reasons below it.

    Past DETAIL_LIMIT documents, only those not stored (`docpipe status` lists every row).
    """
    if len(docs) > DETAIL_LIMIT:
        shown = [
            d for d in docs if d.outcome not in {"stored", "skipped"} or (d.row and d.row.status != "stored")
        ]
        print(
            f"{len(docs)} documents: results of the {len(shown)} not stored below "
            "(every row: docpipe status)",
            file=stream,
        )
        if not shown:
            return
        docs = shown[:DETAIL_LIMIT]
    if rich:
        from rich.console import Console

        console = Console(file=stream)
        rows, notes = results_rows(docs, console.width)
        styles = [RESULT_STYLES.get(d.outcome) for d in docs]
        table = build_table(
            RESULT_HEADERS, rows, align=RESULT_ALIGN, title="results", styles=styles, width=console.width
        )
        console.print(table)
        width = console.width
    else:
        width = terminal_width()
        rows, notes = results_rows(docs, width)
        print("\n".join(render_table(RESULT_HEADERS, rows, align=RESULT_ALIGN, width=width)), file=stream)
    tail = [TIMES_LEGEND, *(line for note in notes for line in wrap(note, width, hang=4))]
    print("\n".join(tail), file=stream)
