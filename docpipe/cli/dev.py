"""`docpipe dev`: the whole pipeline on this machine, on embedded services, in one command.

1. Temporal dev server (with its UI), PostgreSQL and Valkey, their data under `.docpipe/`.
2. One `docpipe worker ROLE` process per role of the stack's PlacementPlan, with the stack's backends
   (offline ones where a hosted backend has no credentials here, said per role).
3. The documents (default `samples/`): those already stored are skipped, the others started and
   followed stage by stage; then a results table and the Temporal UI address.
4. Exit (or keep serving with --keep-running). Ctrl-C / SIGTERM stop every process it started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import IO, Any

from docpipe.cli.common import warn_unused_sets
from docpipe.cli.display import PlainDisplay, RichDisplay, make_display, print_results, roles_lines
from docpipe.cli.table import fit, plural, wrap
from docpipe.config import ConfigError
from docpipe.local.home import HOME_ENV, resolve_home
from docpipe.local.inputs import InputError, collect
from docpipe.local.progress import DocProgress, ValkeyStages, follow, mark_skipped
from docpipe.local.rows import read_rows
from docpipe.local.services import DEFAULT_UI_PORT, PortInUse, ServiceError, preferred_port
from docpipe.local.stack import LocalStack
from docpipe.local.state import AlreadyRunning
from docpipe.local.supervisor import Supervisor, SupervisorError
from workers.extraction import unsupported_note

EXIT_OK, EXIT_FAILED_DOCS, EXIT_SETUP, EXIT_INTERRUPTED = 0, 1, 2, 130


def _port_advice(err: PortInUse) -> str:
    text = str(err)
    service = text.split(":", 1)[0]
    flag = (
        "--valkey-port"
        if service == "Valkey"
        else "--ui-port"
        if service.endswith("UI")
        else "--temporal-port"
    )
    port = next((w for w in text.replace(":", " ").split() if w.isdigit()), "?")
    return (
        f"docpipe dev: {service}: port {port} is already in use.\n"
        f"  Leave {flag} out to use a free port, or pick another: docpipe dev {flag} <PORT>\n"
        f"  To see what holds it: ss -ltnp 'sport = :{port}'"
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # Further signals are ignored while everything stops (bounded by the workers' grace period).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _check_workers(supervisor: Supervisor) -> None:
    failed = supervisor.failures()
    if failed:
        name, why = next(iter(failed.items()))
        raise SupervisorError(f"{name} {why}:\n{supervisor[name].tail()}")


def run(args: argparse.Namespace) -> int:
    """Run `docpipe dev`; returns 0 when every document is stored, 1 if any failed, 2 on set-up errors."""
    t0 = time.monotonic()
    out: IO[str] = sys.stderr if args.json else sys.stdout  # with --json, stdout holds only the JSON
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)

    from docpipe.plan import build_plan
    from docpipe.stackfile import load_stack, project_root

    try:
        root = project_root()
    except FileNotFoundError:
        root = Path.cwd()
    try:
        config, _ = load_stack(args.stack, overrides=getattr(args, "sets", []), placeholder_secrets=True)
        warn_unused_sets(config, getattr(args, "sets", []))
        inputs = collect(args.paths or [root / "samples"])
    except (ConfigError, InputError) as err:
        print(f"docpipe dev: {err}", file=sys.stderr)
        return EXIT_SETUP
    if inputs.ignored:
        names = [os.path.relpath(p) if p.is_absolute() else str(p) for p in inputs.ignored]
        print("\n".join(wrap(f"docpipe dev: {unsupported_note(names)}")), file=sys.stderr)
    if not inputs.documents:
        print("docpipe dev: no documents to submit", file=sys.stderr)
        return EXIT_SETUP
    plan = build_plan(config)
    home = resolve_home(args.stack, root)

    def say(text: str, wrap_lines: bool = True) -> None:
        # Prose wraps at the terminal's width; a command to copy (wrap_lines=False) stays whole.
        print("\n".join(fit(text.splitlines())) if wrap_lines else text, file=out, flush=True)

    display: PlainDisplay | RichDisplay | None = None

    def event(message: str) -> None:
        if display is not None:
            display.note(message)
        else:
            say(f"  {message}")

    stack = LocalStack(
        home,
        plan,
        temporal_port=args.temporal_port,
        ui_port=args.ui_port or preferred_port(DEFAULT_UI_PORT),
        valkey_port=args.valkey_port,
        offline=args.offline,
        on_event=event,
    )
    docs = [DocProgress(path, ref) for path, ref in inputs.documents]
    code = EXIT_OK
    try:
        say(f"docpipe dev · stack {plan.stack} (tier {config.tier}) · data in {home.display()}")
        # PostgreSQL first: when every document already has its row, nothing else is started.
        stack.start_database()
        for line in stack.leftovers:
            say(f"  stopped a leftover of an earlier run: {line}")
        todo = mark_skipped(
            docs, read_rows(stack.postgres.url, [d.sha256 for d in docs]), retry_failed=args.retry_failed
        )
        if not todo and not args.keep_running:
            say(
                f"  all {plural(len(docs), 'document')} already in PostgreSQL "
                f"({home.display()}postgres); nothing started  [{time.monotonic() - t0:.1f} s]"
            )
            print_results(docs, out, rich=out.isatty())
            code = _summary(docs, stack, say, time.monotonic() - t0, keep=False)
            if args.json:
                print(json.dumps(_json(docs, stack, time.monotonic() - t0), indent=2))
            return code
        stack.start_orchestration()
        say(
            f"  Temporal {stack.temporal.address} (UI {stack.temporal.ui_url}) · PostgreSQL in "
            f"{home.display()}postgres · Valkey {stack.valkey.url}  [{time.monotonic() - t0:.1f} s]"
        )
        say(f"  starting {len(plan.roles)} workers, one per role (logs in {home.display()}logs/) …")
        stack.start_workers()
        stack._write_state()
        for line in roles_lines(stack.roles, stack.supervisor.pids()):
            say(line)
        for r in stack.roles:
            if r.fallback:
                say(f"  offline fallback · {r.fallback}")
        if inputs.duplicates:
            for path, first in inputs.duplicates:
                say(f"  {path.name}: same content as {first.name}, submitted once")
        skipped = len(docs) - len(todo)
        say(
            f"  workers ready [{time.monotonic() - t0:.1f} s] · submitting {plural(len(todo), 'document')}"
            + (f" ({skipped} already stored: skipped)" if skipped else "")
        )

        display = make_display(out, total=len(docs))
        try:
            temporal_calls = asyncio.run(_follow(stack, docs, display, args.retry_failed))
        finally:
            display.close()
        rich = isinstance(display, RichDisplay)
        display = None
        print_results(docs, out, rich)
        code = _summary(docs, stack, say, time.monotonic() - t0, args.keep_running)
        if args.json:
            print(json.dumps(_json(docs, stack, time.monotonic() - t0, temporal_calls), indent=2))
        if args.keep_running:
            say(
                "serving until Ctrl-C · more documents from another terminal:\n"
                "  docpipe submit FILE... --wait   (it finds this run by itself)",
                wrap_lines=False,
            )
            while True:
                time.sleep(0.5)
                _check_workers(stack.supervisor)
    except KeyboardInterrupt:
        display = None
        say(interrupted_summary(docs))
        say("interrupted: stopping workers and services …")
        code = EXIT_INTERRUPTED
    except PortInUse as err:
        print(_port_advice(err), file=sys.stderr)
        code = EXIT_SETUP
    except AlreadyRunning as err:
        print(f"docpipe dev: {err}", file=sys.stderr)
        code = EXIT_SETUP
    except (ServiceError, SupervisorError) as err:
        print(f"docpipe dev: {err}", file=sys.stderr)
        code = EXIT_SETUP
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        display = None
        stack.stop()
        if code == EXIT_INTERRUPTED:
            say(f"stopped; runs in flight resume on the next `docpipe dev` ({HOME_ENV}={home.root})")
    # Every child is stopped. A process that used a Temporal client can abort in interpreter
    # finalisation (exit 134, ENVIRONMENT-FACTS): leave without it, keeping the exit code meaningful.
    sys.stdout.flush()
    sys.stderr.flush()
    return code  # the entry point leaves through workers.process.leave (no finalisation)


async def _follow(
    stack: LocalStack, docs: list[DocProgress], display: PlainDisplay | RichDisplay, retry_failed: bool
) -> int:
    client = await stack.client()
    stages = ValkeyStages(stack.valkey.url, stack.stage_key)
    try:
        return await follow(
            client,
            stack.settings(),
            docs,
            stack.postgres.url,
            display=display,
            check=lambda: _check_workers(stack.supervisor),
            stages=stages,
            retry_failed=retry_failed,
        )
    finally:
        await stages.close()


def _summary(docs: list[DocProgress], stack: LocalStack, say: Any, seconds: float, keep: bool) -> int:
    """Print the totals; exit 1 unless every document is stored (now or by an earlier run)."""
    new = sum(d.outcome == "stored" for d in docs)
    skipped = [d for d in docs if d.outcome == "skipped" and d.row is not None]
    failed_now = sum(d.outcome in {"failed", "error"} for d in docs)
    failed_before = sum(d.row.status != "stored" for d in skipped if d.row is not None)
    stored = new + len(skipped) - failed_before
    say(
        f"{plural(len(docs), 'document')}: {new} stored now, {len(skipped)} skipped (already in PostgreSQL), "
        f"{failed_now} failed"
        + (f" ({failed_before} more failed in an earlier run)" if failed_before else "")
        + f" · {stored}/{len(docs)} stored · {seconds:.1f} s"
    )
    if failed_now or failed_before:
        stack_flag = "" if stack.plan.stack == "dev" else f" --stack {stack.plan.stack}"
        say(f"Retry the failed ones (a new run each, same row): docpipe dev{stack_flag} --retry-failed")
    if stack.orchestrated and keep:
        say(f"Temporal UI: {stack.ui_url}")
    say("Counts and failures later: docpipe status")
    return EXIT_OK if stored == len(docs) else EXIT_FAILED_DOCS


def interrupted_summary(docs: list[DocProgress]) -> str:
    """What had finished when Ctrl-C came: `5 documents: 2 stored, 1 failed, 2 not finished (...)`."""
    counts = {o: sum(d.outcome == o for d in docs) for o in ("stored", "skipped", "failed", "error")}
    unfinished = len(docs) - sum(counts.values())
    parts = [f"{n} {o}" for o, n in counts.items() if n]
    if unfinished:
        parts.append(f"{unfinished} not finished (they resume on the next `docpipe dev`)")
    return f"{plural(len(docs), 'document')}: " + (", ".join(parts) or "none started")


def _json(
    docs: list[DocProgress], stack: LocalStack, seconds: float, temporal_calls: int = 0
) -> dict[str, Any]:
    started = stack.orchestrated
    run = [d for d in docs if d.started is not None and d.finished is not None]
    starts = [d.started for d in run if d.started is not None]
    ends = [d.finished for d in run if d.finished is not None]
    return {
        "stack": stack.plan.stack,
        "home": str(stack.home.root),
        "temporalAddress": stack.temporal.address if started else None,
        "temporalUi": stack.ui_url if started else None,
        "wallSeconds": round(seconds, 3),
        # First start → last outcome of the documents run now (the pipeline's own throughput).
        "pipelineSeconds": round(max(ends) - min(starts), 3) if run else None,
        "temporalCalls": temporal_calls,
        "workers": {
            r.role: {
                "target": r.target,
                "backend": r.backend,
                "stackBackend": r.stack_backend,
                "fallback": r.fallback,
            }
            for r in stack.roles
        },
        "documents": [d.to_dict() for d in docs],
        "counts": {o: sum(d.outcome == o for d in docs) for o in ("stored", "skipped", "failed", "error")},
    }
