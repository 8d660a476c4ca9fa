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


def _exit(code: int) -> int:
    # A process that ran a Temporal worker or client can abort in interpreter finalisation (exit 134)
    # after all work is done; flush and leave without finalisation instead.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_worker(args: argparse.Namespace) -> int:
    """`docpipe worker ROLE [--grace S] [--build-id ID]`: serve one role until SIGTERM."""
    started = time.monotonic()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.grace is not None:
        os.environ[Env.SHUTDOWN_GRACE_SECONDS] = str(args.grace)
    if args.build_id:
        os.environ[Env.BUILD_ID] = args.build_id
    from workers.secrets import resolve_secret_refs

    try:
        resolve_secret_refs()
        settings = Settings.from_env()
    except (SettingsError, ValueError, RuntimeError) as err:
        print(f"docpipe worker: {err}", file=sys.stderr)
        return 2
    from workers.serve import serve

    try:
        code = asyncio.run(serve(args.role, settings, started))
    except KeyboardInterrupt:
        code = 130
    except SettingsError as err:
        print(f"docpipe worker: {err}", file=sys.stderr)
        code = 2
    except Exception as err:
        logging.getLogger("docpipe.worker").error("docpipe worker %s failed: %s", args.role, err)
        code = 1
    return _exit(code)


def run_submit(args: argparse.Namespace) -> int:
    """`docpipe submit PATH... [--wait] [--json]`: one workflow per document (id doc-<sha256>)."""
    settings = Settings.from_env()
    missing = [p for p in args.paths if not os.path.isfile(p)]
    if missing:
        print(f"docpipe submit: not a file: {', '.join(missing)}", file=sys.stderr)
        return 2
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
        subs = asyncio.run(_submit(paths, settings, args.wait))
    except RuntimeError as err:  # connection failures from the Temporal client
        print(f"docpipe submit: {err}", file=sys.stderr)
        return _exit(1)
    if args.json:
        print(json.dumps([s.to_dict() for s in subs], indent=2, default=str))
    else:
        for s in subs:
            print(_line(s, args.wait))
    failed = any(s.error or (s.result and s.result.status != "stored") for s in subs)
    # The process used a Temporal client: the same finalisation abort as a worker's can turn a
    # meaningful exit code into 134 (seen in CI on a failed document's `submit --wait`).
    return _exit(1 if failed else 0)


async def _submit(paths: list[str], settings: Settings, wait: bool) -> list[Any]:
    from workers.connect import connect
    from workers.submit import submit_paths

    client = await connect(settings)
    return await submit_paths(client, paths, settings, wait)


def _line(s: object, wait: bool) -> str:
    from workers.submit import Submission

    assert isinstance(s, Submission)
    head = f"{s.document.filename:<24} {s.document.sha256[:12]}  {'started' if s.started else 'duplicate'}"
    if not wait:
        return f"{head}  {s.workflow_id}"
    if s.error:
        return f"{head}  error: {s.error}"
    r = s.result
    assert r is not None
    if r.status != "stored":
        return f"{head}  failed at {r.failed_stage}: {r.reason}"
    enrich = f", enrichment {json.dumps(r.enrichment_output, default=str)[:80]}" if r.needs_enrichment else ""
    return f"{head}  stored: {r.document_type}, {r.element_count} elements{enrich}"
