"""Handlers of `docpipe worker` and `docpipe submit` (arguments are declared in docpipe/cli/__init__.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from typing import Any

from workers.contract import Env
from workers.settings import Settings, SettingsError


def run_worker(args: argparse.Namespace) -> int:
    """`docpipe worker ROLE [--grace S] [--build-id ID]`: serve one role until SIGTERM."""
    started = time.monotonic()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.grace is not None:
        os.environ[Env.SHUTDOWN_GRACE_SECONDS] = str(args.grace)
    if args.build_id:
        os.environ[Env.BUILD_ID] = args.build_id
    from workers import redact
    from workers.secrets import resolve_secret_refs

    redact.install_log_filter()
    try:
        resolve_secret_refs()
        redact.register_env()  # after the refs: fetched secrets are scrubbed too
        settings = Settings.from_env()
    except (SettingsError, ValueError, RuntimeError) as err:
        print(f"docpipe worker: {redact.scrub(str(err))}", file=sys.stderr)
        return 2
    from workers.connect import NOTHING_ANSWERS_HINT, NoTemporal
    from workers.serve import serve

    try:
        code = asyncio.run(serve(args.role, settings, started))
    except KeyboardInterrupt:
        code = 130
    except NoTemporal as err:
        print(f"docpipe worker: {err}\n{NOTHING_ANSWERS_HINT}", file=sys.stderr)
        code = 1
    except SettingsError as err:
        print(f"docpipe worker: {err}", file=sys.stderr)
        code = 2
    except Exception as err:
        logging.getLogger("docpipe.worker").error("docpipe worker %s failed: %s", args.role, err)
        code = 1
    # The process ran a Temporal worker: it must not reach interpreter finalisation (exit 134,
    # ENVIRONMENT-FACTS); the entry point leaves through workers.process.leave.
    return code


def run_submit(args: argparse.Namespace) -> int:
    """`docpipe submit PATH... [--wait] [--json]`: one workflow per document (id doc-<sha256>)."""
    settings = Settings.from_env()
    missing = [p for p in args.paths if not os.path.isfile(p)]
    if missing:
        print(f"docpipe submit: not a file: {', '.join(missing)}", file=sys.stderr)
        return 2
    from workers.connect import NOTHING_ANSWERS_HINT, NoTemporal
    from workers.extraction import is_supported, unsupported_note

    # `submit samples/*` names the samples' generator too: listed, never a workflow that can only fail.
    unsupported = [p for p in args.paths if not is_supported(p)]
    if unsupported:
        print(f"docpipe submit: {unsupported_note(unsupported)}", file=sys.stderr)
    paths = [p for p in args.paths if is_supported(p)]
    if not paths:
        print("docpipe submit: no documents to submit", file=sys.stderr)
        return 2
    try:
        subs = asyncio.run(_submit(paths, settings, args.wait, args.retry_failed))
    except NoTemporal as err:
        print(f"docpipe submit: {err}\n{NOTHING_ANSWERS_HINT}", file=sys.stderr)
        return 1
    except RuntimeError as err:  # other failures of the Temporal client
        print(f"docpipe submit: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([s.to_dict() for s in subs], indent=2, default=str))
    else:
        for path, s in zip(paths, subs, strict=True):
            print(_lines(s, path, args.wait))
    failed = any(s.error or (s.result and s.result.status != "stored") for s in subs)
    # The process used a Temporal client: the same finalisation abort as a worker's can turn a
    # meaningful exit code into 134 (seen in CI on a failed document's `submit --wait`); the entry
    # point leaves through workers.process.leave, without finalisation.
    return 1 if failed else 0


async def _submit(paths: list[str], settings: Settings, wait: bool, retry_failed: bool) -> list[Any]:
    from workers.connect import connect
    from workers.submit import submit_paths

    client = await connect(settings)
    return await submit_paths(client, paths, settings, wait, retry_failed=retry_failed)


WIDTH = 80


def _lines(s: object, path: str, wait: bool) -> str:
    """One document's outcome in lines of at most 80 columns (a long reason wraps, indented)."""
    import textwrap

    from workers.submit import Submission, retry_hint

    assert isinstance(s, Submission)
    how = (
        "started" if s.started else f"duplicate of a {s.existing.lower()} run" if s.existing else "duplicate"
    )
    name = s.document.filename
    room = WIDTH - len(how) - 16  # sha prefix, separators
    if len(name) > room:  # keep the distinguishing end: "…nts/2026/invoice-0042.pdf"
        name = "…" + name[-(room - 1) :]
    head = f"{name}  {s.document.sha256[:12]}  {how}"
    more: list[str] = []
    if not wait:
        more.append(f"workflow {s.workflow_id}")
    elif s.error:
        more.append(f"error: {s.error}")
    else:
        r = s.result
        assert r is not None
        if r.status != "stored":
            more.append(f"failed at {r.failed_stage}: {r.reason}")
            more.append(f"retry: {retry_hint(path)}")
        else:
            more.append(f"stored: {r.document_type}, {r.element_count} elements")
            if r.needs_enrichment:
                more.append(f"enrichment: {json.dumps(r.enrichment_output, default=str)}")
    body = [
        line
        for text in more
        for line in textwrap.wrap(text, WIDTH - 2, initial_indent="  ", subsequent_indent="    ", max_lines=6)
    ]
    return "\n".join([head, *body])
