"""`docpipe`: the command line.

This package is the layer on top of the core: argument parsing (here), rendering and the plan, cost,
status and dev views (its modules). It may import `infra/` and `policies/`; the core (config,
presets, plan, stackfile, targets, cost, local) imports neither, nor this package (import-linter
contracts in pyproject.toml).

Every subcommand's arguments are declared here, and its implementation is imported only when it
runs, so `docpipe worker` in the worker image never imports Pulumi or the cost model, and
`docpipe --help` stays fast.

`main` returns the handler's exit code (tests call it in-process); `entry` — the console script
and `python -m docpipe.cli` — runs it and leaves through the one shared exit path,
`workers.process.leave`, so no command pays interpreter teardown.
"""

from __future__ import annotations

import argparse
import importlib
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from workers.contract import ROLES
from workers.process import exit_code, leave

Handler = Callable[[argparse.Namespace], int]

EPILOG = """\
examples:
  docpipe plan --stack prod                                   placements, resources, cost, policy
  docpipe plan --stack prod --set activities.extraction.target=ec2
  docpipe dev                                                 the whole pipeline on this machine
  docpipe worker extraction                                   serve one role (ec2, cloudrun, local)
  docpipe submit samples/* --wait                             start workflows for documents
  docpipe cost --stack prod --set activities.extraction.target=cloudrun
  docpipe recommend --files-per-day 300
"""


def _stack(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    parser.add_argument(
        "--stack",
        default=default,
        required=default is None,
        help="stack name: reads Pulumi.<STACK>.yaml" + (f" (default {default})" if default else ""),
    )


def _sets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a docpipe config path for this command only, as `pulumi config set --path` "
        "would (repeatable), e.g. activities.extraction.target=ec2",
    )


def _connection(parser: argparse.ArgumentParser, attach_role: str | None) -> None:
    """--address/--profile; without either (or TEMPORAL_* set) a running `docpipe dev` is found."""
    g = parser.add_argument_group(
        "Temporal connection",
        "default: the running `docpipe dev` of this checkout (.docpipe/dev.json); TEMPORAL_ADDRESS, "
        "TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE are read as the Temporal CLI reads them",
    )
    g.add_argument("--address", metavar="HOST:PORT", help="the Temporal frontend (TEMPORAL_ADDRESS)")
    g.add_argument("--profile", metavar="NAME", help="a temporal.toml profile (TEMPORAL_PROFILE)")
    g.add_argument(
        "--stack",
        dest="dev_stack",
        metavar="STACK",
        help="which running `docpipe dev` (default: the only one running; its data is .docpipe/STACK/)",
    )
    parser.set_defaults(attach_role=attach_role)


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docpipe",
        description="Run and place a Temporal document pipeline across EC2, Cloud Run and Lambda.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "plan",
        help="show what a stack would deploy (offline, no cloud credentials)",
        description="Run the Pulumi program in-process under mocks and print the placement table, "
        "the resources by component, the cost estimate and the policy verdicts. With --set, also "
        "the resources added and removed compared with the unchanged stack.",
    )
    _stack(p)
    _sets(p)
    _json(p)
    p.set_defaults(handler="docpipe.cli.plan:run")

    p = sub.add_parser(
        "worker",
        help="serve one role's task queue (long-running; ec2, cloudrun and local)",
        description="Poll the role's task queue until SIGTERM/SIGINT, then drain within the grace "
        "period. Connection settings come from temporal.toml / TEMPORAL_* environment variables.",
    )
    p.add_argument("role", choices=ROLES, help="the role to serve")
    p.add_argument(
        "--grace", type=float, default=None, metavar="SECONDS", help="drain time on SIGTERM (default 30)"
    )
    p.add_argument("--build-id", default=None, help="Worker Deployment build id (default from env)")
    _connection(p, attach_role="<role>")
    p.set_defaults(handler="workers.cli:run_worker")

    p = sub.add_parser(
        "submit",
        help="start the pipeline for documents",
        description="Start one DocumentPipelineWorkflow per document (workflow id doc-<sha256>; "
        "a duplicate is reported, not started twice).",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="documents to submit")
    p.add_argument("--wait", action="store_true", help="wait for each result and print it")
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="start a new run of a document whose last run failed (same workflow id, one row)",
    )
    _json(p)
    _connection(p, attach_role="workflow")
    p.set_defaults(handler="workers.cli:run_submit")

    p = sub.add_parser(
        "dev",
        help="run the whole pipeline on this machine on embedded services",
        description="Start the Temporal dev server, PostgreSQL and Valkey (data under .docpipe/), "
        "one worker per role as the stack places it, submit documents and show their progress.",
    )
    _stack(p, default="dev")
    _sets(p)
    p.add_argument("paths", nargs="*", metavar="PATH", help="documents or directories (default samples/)")
    p.add_argument("--keep-running", action="store_true", help="keep serving after the documents are done")
    p.add_argument("--temporal-port", type=int, default=None, metavar="PORT", help="Temporal (default: free)")
    p.add_argument(
        "--ui-port",
        type=int,
        default=None,
        metavar="PORT",
        help="Temporal UI (default 8233 if free)",
    )
    p.add_argument("--valkey-port", type=int, default=None, metavar="PORT", help="Valkey (default: free)")
    p.add_argument("--offline", action="store_true", help="offline backends even where keys are set")
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="run again the documents whose last run failed (a new run each; still one row per document)",
    )
    _json(p)
    p.set_defaults(handler="docpipe.cli.dev:run")

    p = sub.add_parser("status", help="documents by state and the failures with their reasons")
    _json(p)
    _connection(p, attach_role="workflow")
    p.set_defaults(handler="docpipe.cli.status:run")

    p = sub.add_parser(
        "cost",
        help="monthly cost of a stack per component (or `cost compare`)",
        description="Price a stack from the price book. `docpipe cost compare` puts the all-EC2, "
        "all-Lambda, all-Cloud-Run, seed hybrid and recommended placements side by side.",
    )
    p.add_argument("action", nargs="?", choices=["compare"], help="compare placement models")
    p.add_argument("--stack", default=None, help="stack name (required unless `compare`)")
    _sets(p)
    p.add_argument("--files-per-day", type=float, default=None, help="traffic for `compare`")
    p.add_argument("--chart", default=None, metavar="FILE.png", help="with `compare`: write a chart")
    p.add_argument("--free-tier", action="store_true", help="deduct the account's Lambda free tier")
    _json(p)
    p.set_defaults(handler="docpipe.cli.cost:run_cost")

    p = sub.add_parser("recommend", help="cheapest placement per role for a traffic level")
    p.add_argument("--files-per-day", type=float, required=True)
    p.add_argument(
        "--minutes",
        action="append",
        default=[],
        metavar="ROLE=MIN",
        help="minutes per file for a role (repeatable), e.g. extraction=3",
    )
    p.add_argument("--max-wait", type=float, default=None, metavar="S", help="max cold-start / wait seconds")
    p.add_argument(
        "--stack", default=None, help="start from this stack's backends and sizing (default: defaults)"
    )
    p.add_argument("--free-tier", action="store_true", help="deduct the account's Lambda free tier")
    _json(p)
    p.set_defaults(handler="docpipe.cli.cost:run_recommend")

    p = sub.add_parser("simulate", help="simulate a month of traffic: cost, waiting, latency")
    _stack(p)
    _sets(p)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--profile", choices=["steady", "diurnal", "bursty"], default=None)
    p.add_argument("--seed", type=int, default=1)
    _json(p)
    p.set_defaults(handler="docpipe.cli.cost:run_simulate")
    return parser


def _load(spec: str) -> Handler:
    module_name, _, attr = spec.partition(":")
    handler: Handler = getattr(importlib.import_module(module_name), attr)
    return handler


def _attach(args: argparse.Namespace) -> None:
    """Give a client command the connection it was told, or the running `docpipe dev`'s."""
    import sys

    from docpipe.local.attach import AttachError, apply, attach

    role = args.role if args.attach_role == "<role>" else args.attach_role
    try:
        found = attach(role, address=args.address, profile=args.profile, stack=args.dev_stack)
    except AttachError as err:
        raise SystemExit(f"docpipe {args.command}: {err}") from None
    apply(found)
    if found.source and not getattr(args, "json", False):
        print(found.source, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "attach_role", None):
        _attach(args)
    try:
        return _load(args.handler)(args)
    except KeyboardInterrupt:
        return 130


def entry() -> NoReturn:
    """The `docpipe` console script: `main`, then out without interpreter teardown."""
    try:
        code = main()
    except SystemExit as err:  # argparse errors, --help, sys.exit in a handler
        code = exit_code(err)
    except Exception:
        traceback.print_exc()
        code = 1
    leave(code)
