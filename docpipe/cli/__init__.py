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
import os
import sys
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
  docpipe completion bash                                     shell completion
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


def _format(parser: argparse.ArgumentParser, markdown: bool = True) -> None:
    choices = ["table", "json", "markdown"] if markdown else ["table", "json"]
    parser.add_argument(
        "--format",
        choices=choices,
        default=None,
        help="output: table (default), json" + (", markdown (a pull request comment)" if markdown else ""),
    )
    parser.add_argument("--json", action="store_true", help="the same as --format json")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0")
    return value


def _files_per_day(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--files-per-day", type=_positive, default=None, metavar="N", help=help + " (> 0)")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("docpipe")
    except PackageNotFoundError:  # a checkout run without installing it
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docpipe",
        description="Run and place a Temporal document pipeline across EC2, Cloud Run and Lambda.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"docpipe {_version()}")
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
        description="Price a stack from the price book, line by line. With --set, the stack "
        "before and after the change (--diff: only the lines it changes). `docpipe cost compare` "
        "puts whole placement models side by side (its own --help).",
    )
    cost_sub = p.add_subparsers(dest="action", metavar="compare", required=False)
    p.add_argument("--stack", default=None, help="stack name: reads Pulumi.<STACK>.yaml")
    _sets(p)
    _files_per_day(p, "traffic for this estimate (the stack's traffic.filesPerDay)")
    p.add_argument("--diff", action="store_true", help="with --set: show only the lines the change moves")
    # Accepted only to say where it belongs (`cost compare --chart`), never silently ignored.
    p.add_argument("--chart", default=None, help=argparse.SUPPRESS)
    p.add_argument("--free-tier", action="store_true", help="deduct the account's Lambda free tier")
    _format(p)
    p.set_defaults(handler="docpipe.cli.cost:run_cost")

    c = cost_sub.add_parser(
        "compare",
        help="placement models side by side",
        description="Put the all-EC2, all-Lambda, all-Cloud-Run, original-hybrid (the placement the "
        "original cost analysis recommended) and recommended placements side by side, each sized "
        "for the traffic; --chart adds a sweep from 1 to 2,000 files/day.",
        # Unset options keep what was given before `compare` (`cost --stack prod compare`).
        argument_default=argparse.SUPPRESS,
    )
    c.add_argument("--stack", help="start from this stack (default: docpipe defaults)")
    c.add_argument(
        "--set",
        dest="sets",
        action="append",
        metavar="PATH=VALUE",
        help="override a docpipe config path of --stack for this command only (repeatable)",
    )
    c.add_argument(
        "--files-per-day",
        type=_positive,
        metavar="N",
        help="traffic to compare at (default: the stack's, else 10) (> 0)",
    )
    c.add_argument("--chart", metavar="FILE.png", help="also write a PNG chart of the sweep")
    c.add_argument("--format", choices=["table", "json"], help="output: table (default), json")
    c.add_argument("--json", action="store_true", help="the same as --format json")
    c.set_defaults(handler="docpipe.cli.cost:run_cost", action="compare")

    p = sub.add_parser("recommend", help="cheapest placement per role for a traffic level")
    p.add_argument("--files-per-day", type=_positive, required=True, metavar="N", help="traffic (> 0)")
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

    p = sub.add_parser(
        "completion",
        help="print a shell completion script",
        description="Print a completion script for docpipe's commands and options (shtab). "
        "bash: docpipe completion bash > ~/.local/share/bash-completion/completions/docpipe; "
        "zsh: docpipe completion zsh > ~/.zfunc/_docpipe (with ~/.zfunc on fpath).",
    )
    p.add_argument("shell", choices=["bash", "zsh", "tcsh"], help="the shell")
    p.set_defaults(handler="docpipe.cli:run_completion")
    return parser


def run_completion(args: argparse.Namespace) -> int:
    """`docpipe completion SHELL`: the script shtab builds from this parser."""
    import shtab

    print(shtab.complete(build_parser(), shell=args.shell))
    return 0


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
    except BrokenPipeError:  # `docpipe ... | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


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
