"""Handlers of `docpipe cost`, `recommend` and `simulate` (arguments: docpipe/cli/__init__.py)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from docpipe.cli.common import ORIGINAL_ANALYSIS, warn_unused_sets
from docpipe.cli.table import fit, render_table, wrap
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


def _fits(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A human view's lines that are wider than the terminal wrapped under their own indentation
    (JSON is left as it is)."""

    def run(args: argparse.Namespace) -> int:
        if getattr(args, "json", False):
            return fn(args)
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = fn(args)
        text = buffer.getvalue()
        if text:
            print("\n".join(fit(text.rstrip("\n").splitlines())))
        return code

    return run


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


# --- docpipe cost -------------------------------------------------------------------------------


UNCONFIRMED_LEGEND = "† uses an unconfirmed price (listed below)"
FORMATS = ("table", "json", "markdown")


def output_format(args: argparse.Namespace) -> str:
    """`--format`, with `--json` as its short form; both at once must agree."""
    fmt = getattr(args, "format", None)
    if getattr(args, "json", False):
        if fmt not in (None, "json"):
            raise ValueError(f"--json and --format {fmt} disagree: give one of them")
        return "json"
    return fmt or "table"


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


def _working_lines(components: Sequence[Component]) -> list[str]:
    """The details below a table: each line's formula with its numbers, wrapped under its name."""
    lines = ["how each line is worked out:"]
    for c in components:
        lines += wrap(f"{c.name}: {c.working}", indent=2, hang=4)
        lines += [line for note in c.notes for line in wrap(f"note: {note}", indent=4, hang=2)]
    return lines


def _footer(est: Estimate) -> list[str]:
    lines: list[str] = []
    drivers = ", ".join(f"{c.name} {usd(c.usd)}" for c in est.top_drivers(3))
    lines += wrap(f"top drivers: {drivers}")
    if est.warnings:
        lines.append("")
        lines.append("warnings:")
        lines += [line for w in est.warnings for line in wrap(f"! {w}", indent=2)]
    lines.append("")
    lines.append("worst-case hour per role (every instance / all concurrency busy):")
    bursts = [(b.role, b.target, f"{usd(b.usd_per_hour)} USD/h") for b in est.bursts]
    lines += render_table(None, bursts, align="<<>", indent=2)
    lines += [line for b in est.bursts for line in wrap(f"{b.role}: {b.working}", indent=4, hang=4)]
    lines.append("")
    lines += wrap("assumptions (override with docpipe:prices, e.g. --set prices.KEY=VALUE):")
    for p in est.assumptions:
        text = f"{p.key} = {num(p.value)} {p.unit}{' [overridden]' if p.overridden else ''}"
        lines += wrap(text, indent=2, hang=4)
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
        lines += wrap(
            "UNCONFIRMED prices used (secondary or derived sources; verify before relying on them):"
        )
        for p in est.unconfirmed:
            lines += wrap(f"† {p.key} = {num(p.value)} {p.unit} — {p.source} ({p.read})", indent=2, hang=4)
    return lines


def quantity(value: float) -> str:
    """A month's quantity: whole units from 100 up, three significant digits below."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value else "0"


BREAKDOWN_HEADER = ("component", "quantity", "unit", "USD/unit", "USD/month")


def breakdown_rows(components: Sequence[Component]) -> list[tuple[str, ...]]:
    """Each line of the bill, then (indented) the quantities it is made of, where its estimator
    states them: quantity a month, unit, price per unit and amount."""
    rows: list[tuple[str, ...]] = []
    for c in components:
        rows.append((c.name, "", "", "", usd(c.usd) + _mark(c)))
        rows += [
            (f"  {ch.label}", quantity(ch.quantity), ch.unit, num(ch.price), usd(ch.usd) + " ")
            for ch in c.charges
        ]
    return rows


def render_estimate(config: StackConfig, est: Estimate) -> str:
    rows = breakdown_rows(est.components)
    rows.append(("TOTAL", "", "", "", usd(est.total_monthly_usd) + " "))
    table = _table(BREAKDOWN_HEADER, rows, "<><>>")
    head = wrap(f"docpipe cost — {_header(config)}")
    lines = [*head, "", table, UNCONFIRMED_LEGEND, "", *_working_lines(est.components), ""]
    return "\n".join(fit(lines + _footer(est)))


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
                "workingBefore": cb.working if cb else "(not in the unchanged stack)",
                "workingAfter": ca.working if ca else "(removed)",
                "unconfirmed": _mark(ca if ca else cb) == "†",
            }
        )
    return rows


def changed_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows a change moves: a different amount or a different working (same amount, new figures)."""
    return [r for r in rows if r["delta"] != 0 or r["workingBefore"] != r["workingAfter"]]


def _change_line(sets: list[str]) -> list[str]:
    return wrap("change: " + ", ".join(f"--set {s}" for s in sets))


def render_diff(
    config: StackConfig, sets: list[str], before: Estimate, after: Estimate, only_changed: bool = False
) -> str:
    found = diff_rows(before, after)
    shown = changed_rows(found) if only_changed else found
    rows: list[tuple[str, ...]] = [
        (
            r["component"],
            usd(r["before"]),
            usd(r["after"]) + ("†" if r["unconfirmed"] else " "),
            f"{r['delta']:+,.2f}",
        )
        for r in shown
    ]
    tb, ta = before.total_monthly_usd, after.total_monthly_usd
    rows.append(("TOTAL", usd(tb), usd(ta) + " ", f"{ta - tb:+,.2f}"))
    head = [*wrap(f"docpipe cost — {_header(config)}"), *_change_line(sets)]
    head += wrap(f"monthly cost {usd(tb)} → {usd(ta)} USD ({ta - tb:+,.2f})")
    table = _table(("component", "before", "after", "delta"), rows, "<>>>")
    moved = changed_rows(found)
    details = ["how each changed line is worked out (after the change):"] if moved else []
    details += [] if moved else ["the change moves no line of the bill"]
    for r in moved:
        details += wrap(f"{r['component']}: {r['workingAfter']}", indent=2, hang=4)
    if only_changed:
        unchanged = len(found) - len(shown)
        tail = [f"{unchanged} lines unchanged (without --diff: every line)"]
        legend = [UNCONFIRMED_LEGEND.replace(" (listed below)", " (without --diff: listed)")]
        if not any(r["unconfirmed"] for r in shown):
            legend = []
        return "\n".join(fit([*head, "", table, *legend, "", *details, "", *tail]))
    return "\n".join(fit([*head, "", table, UNCONFIRMED_LEGEND, "", *details, "", *_footer(after)]))


# --- markdown (a pull request comment, as Infracost's github-comment) ---------------------------


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_estimate(config: StackConfig, est: Estimate) -> str:
    lines = [
        f"### docpipe cost: stack `{config.stack}`",
        "",
        _md(_header(config)),
        "",
        "| Component | Quantity | Unit | USD/unit | Monthly (USD) |",
        "| --- | ---: | --- | ---: | ---: |",
        *(
            f"| {_md(name.strip()) if not name.startswith('  ') else '↳ ' + _md(name.strip())} | {q} | {u} | "
            f"{p} | {amount.strip()} |"
            for name, q, u, p, amount in breakdown_rows(est.components)
        ),
        f"| **Total** | | | | **{usd(est.total_monthly_usd)}** |",
        "",
        "<details><summary>How each line is worked out</summary>",
        "",
        *(f"- **{_md(c.name)}**: {_md(c.working)}" for c in est.components),
        "",
        "</details>",
    ]
    if est.unconfirmed:
        lines += ["", "† unconfirmed prices (verify before relying on them): "]
        lines[-1] += ", ".join(f"`{p.key}`" for p in est.unconfirmed)
    return "\n".join(lines)


def markdown_diff(
    config: StackConfig, sets: list[str], before: Estimate, after: Estimate, only_changed: bool
) -> str:
    found = diff_rows(before, after)
    shown = changed_rows(found) if only_changed else found
    tb, ta = before.total_monthly_usd, after.total_monthly_usd
    lines = [
        f"### docpipe cost: stack `{config.stack}`, {ta - tb:+,.2f} USD/month",
        "",
        "Change: " + ", ".join(f"`--set {s}`" for s in sets),
        "",
        f"Monthly cost **{usd(tb)}** → **{usd(ta)}** USD ({ta - tb:+,.2f})",
        "",
        "| Component | Before | After | Delta |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {_md(r['component'])} | {usd(r['before'])} | {usd(r['after'])} | {r['delta']:+,.2f} |"
            for r in shown
        ),
        f"| **Total** | **{usd(tb)}** | **{usd(ta)}** | **{ta - tb:+,.2f}** |",
    ]
    if only_changed and len(shown) < len(found):
        lines += ["", f"{len(found) - len(shown)} lines unchanged."]
    return "\n".join(lines)


def _traffic_sets(args: argparse.Namespace) -> list[str]:
    """`--files-per-day N` is the stack's traffic.filesPerDay for this command (validated as the key)."""
    files = getattr(args, "files_per_day", None)
    return [] if files is None else [f"traffic.filesPerDay={files:g}"]


def _cost_stack(args: argparse.Namespace) -> int:
    if not args.stack:
        print("docpipe cost: --stack is required (or use `docpipe cost compare`)", file=sys.stderr)
        return 2
    if getattr(args, "chart", None):
        raise ValueError(
            f"--chart {args.chart}: the chart compares placement models; "
            f"use `docpipe cost compare --chart {args.chart}`"
        )
    fmt = output_format(args)
    diff = bool(getattr(args, "diff", False))
    if diff and not args.sets:
        raise ValueError("--diff compares with the unchanged stack: give the change as --set PATH=VALUE")
    free = bool(getattr(args, "free_tier", False))
    traffic = _traffic_sets(args)
    if not args.sets:
        config = _load(args.stack, traffic)
        est = estimate(config, free_tier=free)
        if fmt == "json":
            _print_json(est.to_dict())
        elif fmt == "markdown":
            print(markdown_estimate(config, est))
        else:
            print(render_estimate(config, est))
        return 0
    base = _load(args.stack, traffic)
    changed = _load(args.stack, traffic + args.sets)
    warn_unused_sets(changed, args.sets)
    before = estimate(base, free_tier=free)
    after = estimate(changed, free_tier=free)
    if fmt == "json":
        rows = diff_rows(before, after)
        _print_json(
            {
                "sets": args.sets,
                "deltaMonthlyUsd": round(after.total_monthly_usd - before.total_monthly_usd, 4),
                "diff": changed_rows(rows) if diff else rows,
                "before": before.to_dict(),
                "after": after.to_dict(),
            }
        )
    elif fmt == "markdown":
        print(markdown_diff(changed, args.sets, before, after, diff))
    else:
        print(render_diff(changed, args.sets, before, after, diff))
    return 0


def _cost_compare(args: argparse.Namespace) -> int:
    from docpipe.cost.compare import models_at, sweep
    from docpipe.cost.estimate import price_book_for
    from docpipe.cost.placements import default_config

    fmt = output_format(args)
    if fmt == "markdown":
        raise ValueError("--format markdown: `cost compare` prints table or json")
    for flag, given in (("--diff", args.diff), ("--free-tier", args.free_tier)):
        if given:
            raise ValueError(f"{flag} is an option of `docpipe cost --stack NAME`, not of `cost compare`")
    if args.files_per_day is not None and not args.files_per_day > 0:
        raise ValueError(f"--files-per-day {args.files_per_day:g}: must be more than 0")
    if args.chart:
        from pathlib import Path

        folder = Path(args.chart).expanduser().resolve().parent
        if not folder.is_dir():
            raise ValueError(f"--chart {args.chart}: folder {folder} does not exist")
        if Path(args.chart).suffix.lower() != ".png":
            raise ValueError(f"--chart {args.chart}: the chart is a PNG; name the file FILE.png")
    if args.stack:
        base = _load(args.stack, args.sets)
        warn_unused_sets(base, args.sets)
        source = f"stack {args.stack}"
    else:
        if args.sets:
            raise ValueError("--set changes a stack: give --stack NAME with it")
        base = default_config()
        source = "docpipe defaults (local backends, Temporal Cloud; --stack prices a stack's backends)"
    book = price_book_for(base)
    files = base.traffic.files_per_day if args.files_per_day is None else args.files_per_day
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
    if fmt == "json":
        _print_json(result)
        return 0
    out: list[str] = [
        *wrap(f"docpipe cost compare — {files:g} files/day; base: {source}"),
        "(each model sized to carry the traffic at its diurnal peak)",
        "",
    ]
    cheapest = min(m.usd for m in models if m.allowed)
    # One column per model (five of them fit 80 columns; five roles plus cost columns did not).
    header = ("", *(m.name + ("" if m.allowed else " *") for m in models))
    rows: list[tuple[str, ...]] = [
        ("USD/month", *(usd(m.usd) for m in models)),
        ("vs best", *(f"{m.usd - cheapest:+,.2f}" for m in models)),
        *((role, *(m.placement[role] for m in models)) for role in ROLES),
    ]
    out += render_table(header, rows, align="<" + ">" * len(models))
    for m in models:
        if m.note:
            out += wrap(f"* {m.name}: {m.note}", indent=2, hang=4)
    if any(m.name == "original-hybrid" for m in models):
        out += wrap(f"original-hybrid: {ORIGINAL_ANALYSIS}", indent=2, hang=4)
    unconfirmed = sorted({k for m in models for k in m.unconfirmed})
    if unconfirmed:
        out += [
            "",
            *wrap(
                "unconfirmed prices used (verify; override with docpipe:prices): " + ", ".join(unconfirmed)
            ),
        ]
    if sw is not None:
        out += ["", *wrap(f"chart written to {args.chart}; crossovers (1–2,000 files/day):")]
        for a, b, x, y in sw.crossovers:
            out.append(f"  {a} = {b} at {x:,.0f} files/day ({y:,.2f} USD/month)")
        out.append("recommended placement as traffic grows:")
        prev: dict[str, str] | None = None
        for x, p in zip(sw.files_per_day, sw.recommended_placements, strict=True):
            if p != prev:
                out += wrap(
                    f"from ~{x:,.0f}/day: " + ", ".join(f"{r}={p[r]}" for r in ROLES), indent=2, hang=4
                )
                prev = p
    print("\n".join(fit(out)))
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
@_fits
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
@_fits
def run_simulate(args: argparse.Namespace) -> int:
    """`docpipe simulate --stack S [--days 30] [--profile P] [--seed N] [--json]`."""
    from docpipe.cost.estimate import price_book_for
    from docpipe.cost.simulate import simulate

    if args.days < 1:
        raise ValueError("--days must be at least 1")
    config = _load(args.stack, args.sets)
    warn_unused_sets(config, args.sets)
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
