"""Handlers of `docpipe cost`, `recommend` and `simulate` (arguments: docpipe/cli/__init__.py)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from docpipe.cli.table import render_table
from docpipe.config import ConfigError, StackConfig
from docpipe.cost.estimate import estimate
from docpipe.cost.model import Component, Estimate, num, usd
from docpipe.cost.pricebook import PriceBookError
from docpipe.stackfile import load_stack
from workers.contract import ACTIVITY_ROLES, ROLES
from workers.suggest import did_you_mean


def _load(stack: str, sets: list[str] | None = None) -> StackConfig:
    """The stack's config with `--set` applied; `--set prices.KEY=V` lands in config.prices."""
    config, _ = load_stack(stack, overrides=sets or [], placeholder_secrets=True)
    return config


def _guard(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except (ConfigError, PriceBookError, ValueError, FileNotFoundError) as exc:
            print(f"docpipe {args.command}: {exc}", file=sys.stderr)
            return 2
        except BrokenPipeError:  # `docpipe cost ... | head`: the reader left; not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0

    return run


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


# --- docpipe cost -------------------------------------------------------------------------------


UNCONFIRMED_LEGEND = "† uses an unconfirmed price (listed below)"


def _mark(c: Component | None) -> str:
    return "†" if c is not None and c.unconfirmed else " "


def _row_key(c: Component) -> str:
    return c.role if c.category == "compute" and c.role else c.name


def _header(config: StackConfig) -> str:
    t = config.traffic
    return (
        f"stack {config.stack} (tier {config.tier}): {t.files_per_day:g} files/day, "
        f"{t.enrichment_rate:.0%} enriched, Temporal {config.temporal.mode}"
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], aligns: str) -> str:
    return "\n".join(render_table(header, rows, align=aligns))


def _footer(est: Estimate) -> list[str]:
    lines: list[str] = []
    drivers = ", ".join(f"{c.name} {usd(c.usd)}" for c in est.top_drivers(3))
    lines.append(f"top drivers: {drivers}")
    if est.warnings:
        lines.append("")
        lines.append("warnings:")
        lines += [f"  ! {w}" for w in est.warnings]
    lines.append("")
    lines.append("worst-case hour per role (every instance / all concurrency busy):")
    bursts = [(b.role, b.target, f"{usd(b.usd_per_hour)} USD/h", b.working) for b in est.bursts]
    lines += render_table(None, bursts, align="<<><", indent=2)
    lines.append("")
    lines.append("assumptions (override with docpipe:prices, e.g. --set prices.KEY=VALUE):")
    for p in est.assumptions:
        lines.append(f"  {p.key} = {num(p.value)} {p.unit}{' [overridden]' if p.overridden else ''}")
    lines.append(
        "  Lambda free tier " + ("deducted (--free-tier)" if est.free_tier else "not deducted (--free-tier)")
    )
    if est.not_priced:
        lines.append("")
        lines.append("not priced:")
        for item, why in est.not_priced:
            lines += textwrap.wrap(f"{item}: {why}", 78, initial_indent="  - ", subsequent_indent="    ")
    if est.unconfirmed:
        lines.append("")
        lines.append("UNCONFIRMED prices used (secondary or derived sources; verify before relying on them):")
        for p in est.unconfirmed:
            lines.append(f"  † {p.key} = {num(p.value)} {p.unit} — {p.source} ({p.read})")
    return lines


def render_estimate(config: StackConfig, est: Estimate) -> str:
    rows = [(c.name, usd(c.usd) + _mark(c), c.working) for c in est.components]
    rows.append(("TOTAL", usd(est.total_monthly_usd) + " ", ""))
    table = _table(("component", "USD/month", "working"), rows, "<><")
    lines = [f"docpipe cost — {_header(config)}", "", table, UNCONFIRMED_LEGEND, ""]
    return "\n".join(lines + _footer(est))


def diff_rows(before: Estimate, after: Estimate) -> list[dict[str, Any]]:
    """Before / after / delta per component (compute lines matched by role)."""
    b = {_row_key(c): c for c in before.components}
    a = {_row_key(c): c for c in after.components}
    keys = list(b) + [k for k in a if k not in b]
    rows: list[dict[str, Any]] = []
    for k in keys:
        cb, ca = b.get(k), a.get(k)
        name = k
        if cb and ca and cb.target != ca.target and cb.target and ca.target:
            name = f"{k}: {cb.target} → {ca.target}"
        elif ca and ca.target:
            name = ca.name
        elif cb and cb.target:
            name = cb.name
        before_usd = cb.usd if cb else 0.0
        after_usd = ca.usd if ca else 0.0
        rows.append(
            {
                "component": name,
                "before": round(before_usd, 4),
                "after": round(after_usd, 4),
                "delta": round(after_usd - before_usd, 4),
                "workingAfter": ca.working if ca else "(removed)",
                "unconfirmed": _mark(ca if ca else cb) == "†",
            }
        )
    return rows


def render_diff(config: StackConfig, sets: list[str], before: Estimate, after: Estimate) -> str:
    rows: list[tuple[str, ...]] = []
    for r in diff_rows(before, after):
        rows.append(
            (r["component"], usd(r["before"]), usd(r["after"]), f"{r['delta']:+,.2f}", r["workingAfter"])
        )
    tb, ta = before.total_monthly_usd, after.total_monthly_usd
    rows.append(("TOTAL", usd(tb), usd(ta), f"{ta - tb:+,.2f}", ""))
    head = f"docpipe cost — {_header(config)}\nchange: " + ", ".join(f"--set {s}" for s in sets)
    table = _table(("component", "before", "after", "delta", "working (after)"), rows, "<>>><")
    return "\n".join([head, "", table, UNCONFIRMED_LEGEND, "", *_footer(after)])


def _cost_stack(args: argparse.Namespace) -> int:
    if not args.stack:
        print("docpipe cost: --stack is required (or use `docpipe cost compare`)", file=sys.stderr)
        return 2
    free = bool(getattr(args, "free_tier", False))
    if not args.sets:
        config = _load(args.stack)
        est = estimate(config, free_tier=free)
        if args.json:
            _print_json(est.to_dict())
        else:
            print(render_estimate(config, est))
        return 0
    base = _load(args.stack)
    changed = _load(args.stack, args.sets)
    before = estimate(base, free_tier=free)
    after = estimate(changed, free_tier=free)
    if args.json:
        _print_json(
            {
                "sets": args.sets,
                "before": before.to_dict(),
                "after": after.to_dict(),
                "diff": diff_rows(before, after),
                "deltaMonthlyUsd": round(after.total_monthly_usd - before.total_monthly_usd, 4),
            }
        )
    else:
        print(render_diff(changed, args.sets, before, after))
    return 0


def _cost_compare(args: argparse.Namespace) -> int:
    from docpipe.cost.compare import models_at, sweep
    from docpipe.cost.estimate import price_book_for
    from docpipe.cost.placements import default_config

    if args.stack:
        base = _load(args.stack, args.sets)
        source = f"stack {args.stack}"
    else:
        base = default_config()
        source = "docpipe defaults (local backends, Temporal Cloud; --stack prices a stack's backends)"
    book = price_book_for(base)
    files = args.files_per_day or base.traffic.files_per_day
    models = models_at(base, files, book)
    result: dict[str, Any] = {
        "base": source,
        "filesPerDay": files,
        "models": [
            {
                "name": m.name,
                "monthlyUsd": round(m.usd, 4),
                "placement": m.placement,
                "allowed": m.allowed,
                "note": m.note,
                "unconfirmedPrices": list(m.unconfirmed),
            }
            for m in models
        ],
    }
    sw = None
    if args.chart:
        from docpipe.cli.chart import write_chart

        sw = sweep(base, prices=book)
        write_chart(sw, args.chart, title=f"docpipe monthly cost by placement ({source.split(' (')[0]})")
        result["sweep"] = sw.to_dict()
        result["chart"] = args.chart
    if args.json:
        _print_json(result)
        return 0
    print(f"docpipe cost compare — {files:g} files/day; base: {source}")
    print("(each model sized to carry the traffic at its diurnal peak)\n")
    cheapest = min(m.usd for m in models if m.allowed)
    # One column per model (five of them fit 80 columns; five roles plus cost columns did not).
    header = ("", *(m.name + ("" if m.allowed else " *") for m in models))
    rows: list[tuple[str, ...]] = [
        ("USD/month", *(usd(m.usd) for m in models)),
        ("vs best", *(f"{m.usd - cheapest:+,.2f}" for m in models)),
        *((role, *(m.placement[role] for m in models)) for role in ROLES),
    ]
    print(_table(header, rows, "<" + ">" * len(models)))
    for m in models:
        if m.note:
            print(f"  * {m.name}: {m.note}")
    unconfirmed = sorted({k for m in models for k in m.unconfirmed})
    if unconfirmed:
        print("\nunconfirmed prices used (verify; override with docpipe:prices): " + ", ".join(unconfirmed))
    if sw is not None:
        print(f"\nchart written to {args.chart}; crossovers (1–2,000 files/day):")
        for a, b, x, y in sw.crossovers:
            print(f"  {a} = {b} at {x:,.0f} files/day ({y:,.2f} USD/month)")
        changes: list[str] = []
        prev: dict[str, str] | None = None
        for x, p in zip(sw.files_per_day, sw.recommended_placements, strict=True):
            if p != prev:
                changes.append(f"  from ~{x:,.0f}/day: " + ", ".join(f"{r}={p[r]}" for r in ROLES))
                prev = p
        print("recommended placement as traffic grows:")
        print("\n".join(changes))
    return 0


@_guard
def run_cost(args: argparse.Namespace) -> int:
    """`docpipe cost --stack S [--set ...] [--json]` and `docpipe cost compare [--chart FILE]`."""
    if args.action == "compare":
        return _cost_compare(args)
    return _cost_stack(args)


# --- docpipe recommend --------------------------------------------------------------------------


def _minutes(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        role, sep, value = item.partition("=")
        role = role.strip()
        if not sep:
            raise ValueError(f"--minutes {item!r}: expected ROLE=MINUTES, e.g. extraction=3")
        if role not in ACTIVITY_ROLES:
            raise ValueError(
                f"--minutes {item!r}: unknown role {role!r}; roles: {', '.join(ACTIVITY_ROLES)}"
                f"{did_you_mean(role, ACTIVITY_ROLES)}"
            )
        try:
            out[role] = float(value)
        except ValueError:
            raise ValueError(f"--minutes {item!r}: {value!r} is not a number of minutes") from None
    return out


@_guard
def run_recommend(args: argparse.Namespace) -> int:
    """`docpipe recommend --files-per-day N [--minutes ROLE=MIN] [--max-wait S] [--json]`."""
    from docpipe.cost.placements import default_config, with_traffic
    from docpipe.cost.recommend import recommend

    minutes = _minutes(args.minutes)
    stack = getattr(args, "stack", None)
    if stack:
        base = _load(stack)
        merged: dict[str, float] = {str(k): v for k, v in base.traffic.minutes_per_file.items()}
        merged.update(minutes)
        config = with_traffic(base, files_per_day=args.files_per_day, minutes_per_file=merged)
    else:
        config = default_config(args.files_per_day, minutes)
    from docpipe.cost.estimate import price_book_for

    rec = recommend(
        config,
        max_wait=args.max_wait,
        prices=price_book_for(config),
        free_tier=bool(getattr(args, "free_tier", False)),
    )
    if args.json:
        _print_json(rec.to_dict())
        return 0
    best, runner = rec.best, rec.runner_up
    print(
        f"docpipe recommend — {args.files_per_day:g} files/day; searched {rec.searched} allowed placements\n"
    )
    rows: list[tuple[str, ...]] = []
    for role in ROLES:
        alt = runner.placement[role] if runner else "-"
        rows.append(
            (
                role,
                best.placement[role],
                usd(best.role_compute_usd(role)),
                alt if alt != best.placement[role] else "",
            )
        )
    print(_table(("role", "target", "compute USD/month", "runner-up"), rows, "<<><"))
    print(f"\ncheapest: {usd(best.total_monthly_usd)} USD/month (baseline and external services included)")
    if runner:
        print(
            f"runner-up: {usd(runner.total_monthly_usd)} USD/month "
            f"(+{runner.total_monthly_usd - best.total_monthly_usd:,.2f})"
        )
    if rec.fixed_models:
        print("fixed models: " + ", ".join(f"{k} {usd(v)}" for k, v in rec.fixed_models.items()))
    print("\nwhy (each role's other targets, with the change to the total):")
    print("\n".join(f"  {r}" for r in rec.reasons))
    if rec.excluded:
        print("\nexcluded:")
        print("\n".join(f"  {k}: {v}" for k, v in rec.excluded.items()))
    if best.warnings:
        print("\nwarnings:")
        print("\n".join(f"  ! {w}" for w in best.warnings))
    if best.unconfirmed:
        print("\nunconfirmed prices used: " + ", ".join(p.key for p in best.unconfirmed))
    print("\npaste into Pulumi.<stack>.yaml:\n")
    print(rec.yaml.rstrip())
    return 0


# --- docpipe simulate ---------------------------------------------------------------------------


@_guard
def run_simulate(args: argparse.Namespace) -> int:
    """`docpipe simulate --stack S [--days 30] [--profile P] [--seed N] [--json]`."""
    from docpipe.cost.estimate import price_book_for
    from docpipe.cost.simulate import simulate

    if args.days < 1:
        raise ValueError("--days must be at least 1")
    config = _load(args.stack, args.sets)
    result = simulate(
        config, days=args.days, profile=args.profile, seed=args.seed, prices=price_book_for(config)
    )
    if args.json:
        _print_json(result.to_dict())
        return 0
    est = result.estimate
    print(
        f"docpipe simulate — {_header(config)}\n{result.days} days, profile {result.profile}, "
        f"seed {result.seed}: {result.files:,} files\n"
    )
    header = ["role", "target", "tasks", "retries", "USD/month", "closed form", "wait p50/p95/p99 s"]
    header.append("backlog peak")
    rows: list[tuple[str, ...]] = []
    for r in result.roles:
        closed = est.role_compute_usd(r.role)
        rows.append(
            (
                r.role,
                r.target,
                f"{r.tasks:,}",
                f"{r.retries:,}",
                usd(r.cost_usd),
                usd(closed),
                f"{r.wait_p50:.1f}/{r.wait_p95:.1f}/{r.wait_p99:.1f}",
                str(r.backlog_peak),
            )
        )
    print(_table(header, rows, "<<>>>>>>"))
    print(
        f"\ncompute {usd(result.compute_monthly_usd)} + baseline and external "
        f"{usd(result.fixed_monthly_usd)} = {usd(result.total_monthly_usd)} USD/month "
        f"(closed form {usd(est.total_monthly_usd)})"
    )
    print(
        f"end-to-end latency per document: p50 {result.latency_p50:,.0f} s, p95 {result.latency_p95:,.0f} s, "
        f"p99 {result.latency_p99:,.0f} s"
    )
    print(
        f"backlog at the end: {result.backlog:,} documents unfinished"
        + (
            f", oldest {result.backlog_oldest_seconds / 86400:,.1f} d, median "
            f"{result.backlog_median_seconds / 86400:,.1f} d"
            if result.backlog
            else ""
        )
    )
    print("billed vs capacity (instance- or invocation-seconds a month):")
    for r in result.roles:
        billed, cap = r.detail.get("instanceSeconds", 0.0), r.detail.get("capacitySeconds", 0.0)
        queued = f", {r.queued_at_end:,} queued at the end" if r.queued_at_end else ""
        print(f"  {r.role:<11} {billed:>12,.0f} of {cap:>12,.0f} ({r.billed_share_of_capacity:.0%}){queued}")
    if result.cannot_keep_up:
        print()
        for line in result.cannot_keep_up:
            print("\n".join(textwrap.wrap(line, 78, initial_indent="! ", subsequent_indent="  ")))
    retried = [r for r in result.roles if r.retries]
    if retried:
        print(
            "retries are tasks cut at a Lambda invocation's polling deadline (picked up with too little time "
            "left) and run again"
        )
    if est.unconfirmed:
        print("unconfirmed prices used: " + ", ".join(p.key for p in est.unconfirmed))
    return 0
