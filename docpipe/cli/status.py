"""`docpipe status [--json]`: documents by state and every failure with its reason (docpipe.local.status)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from docpipe.cli.table import fit, render_table
from docpipe.local.status import collect


def render(data: dict[str, Any]) -> str:
    lines = [f"documents in {data['source']}"]
    counts = data["counts"]
    states = ("stored", "failed", *sorted(set(counts) - {"stored", "failed"}))
    rows = [[state, str(counts.get(state, 0))] for state in states]
    if data["inFlight"] is not None:
        rows.append(["in flight", str(data["inFlight"]), "(running in Temporal)"])
    lines += render_table(None, rows, align="<>", indent=2)
    failures = data["failures"]
    if failures:
        lines.append(f"failures ({len(failures)}, newest first):")
        rows = [[f["filename"], f["sha256"][:12], f["failedStage"] or "?", f["reason"]] for f in failures]
        lines += render_table(None, rows, indent=2)
    return "\n".join(fit(lines))


def run(args: argparse.Namespace) -> int:
    """Print counts by state and the failures; exit 0 (even with failures: they are data, not errors)."""
    try:
        data = collect(args.dev_stack)
    except Exception as err:
        print(f"docpipe status: could not read PostgreSQL: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    print(json.dumps(data, indent=2) if args.json else render(data))
    # With a Temporal client used (inFlight), finalisation could abort (exit 134, ENVIRONMENT-FACTS):
    # the entry point leaves through workers.process.leave, without it.
    return 0
