"""`docpipe plan --stack NAME [--set PATH=VALUE ...] [--json]`: what a stack would deploy, offline.

Runs the Pulumi program in-process under mocks (infra.offline) with the stack file's config and
prints sections: the placement table, the secrets `pulumi up` will still require, the resources
grouped by component and, with `--set`, the resources the change adds and removes compared with
the unchanged stack. Sections are plain functions in `SECTIONS`, so others (cost, policy verdicts)
can be added without touching the rest. Bad config exits non-zero with the validation message.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from docpipe.cli.common import warn_unused_sets
from docpipe.cli.table import fit, render_table, wrap
from docpipe.config import NAMESPACE, ConfigError
from docpipe.stackfile import FlatConfig, load_stack
from docpipe.targets import get_target
from workers.process import paused_gc

PLACEHOLDER = "[placeholder]"


@dataclass
class PlanView:
    """Everything the sections may show."""

    stack: str
    result: Any  # infra.offline.OfflineResult (imported lazily: pulumi is heavy)
    flat: FlatConfig
    sets: list[str]
    base: Any | None = None  # the unchanged stack's result when --set is given
    placeholder_secrets: list[str] = field(default_factory=list)


@dataclass
class Section:
    title: str
    lines: list[str]
    data: Any
    key: str = ""  # its key in --json (camelCase data key, not the display title)


SectionFn = Callable[[PlanView], Section | None]


def placements_section(view: PlanView) -> Section:
    plan = view.result.plan
    rows = [[p.role, p.target, p.sizing_summary(), p.task_queue, ", ".join(sorted(p.needs))] for p in plan]
    lines = [
        f"stack {view.stack}: tier {plan.config.tier}, temporal {plan.config.temporal.mode}, "
        f"GCP {'yes' if plan.uses_gcp else 'no'}, NAT {'yes' if plan.needs_nat else 'no'}",
        "",
        *render_table(["role", "target", "sizing", "queue", "needs"], rows),
    ]
    return Section("Placements", lines, plan.to_dict(), "placements")


def secrets_section(view: PlanView) -> Section | None:
    if not view.placeholder_secrets:
        return None
    lines = ["Planned with placeholders; `pulumi up` will require:"] + [
        f"  pulumi config set --secret {key} <value>" for key in view.placeholder_secrets
    ]
    return Section("Secrets", lines, {"placeholders": view.placeholder_secrets}, "secrets")


def _component_label(result: Any, res: Any) -> str:
    top = result.top_component(res)
    if top is None:
        return "(stack)"
    return f"{top.name} [{short_type(top.type)}]"


def short_type(token: str) -> str:
    """`aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration` as
    `aws:s3:BucketServerSideEncryptionConfiguration`: the module path repeats the class name."""
    package, _, rest = token.partition(":")
    module, _, name = rest.partition(":")
    if not name:
        return token
    return f"{package}:{module.split('/')[0]}:{name}"


def resources_section(view: PlanView) -> Section:
    result = view.result
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    data: list[dict[str, Any]] = []
    for res in result.resources:
        if not res.custom and result.top_component(res) is res:
            continue  # the component itself is the group heading
        label = _component_label(result, res)
        groups[label].append((short_type(res.type), res.name))
        top = result.top_component(res)
        data.append({"type": res.type, "name": res.name, "component": top.name if top else None})
    lines = [f"{len(result.resources)} resources"]
    for label in sorted(groups):
        lines.append(f"{label}: {len(groups[label])}")
        lines += render_table(None, sorted(groups[label]), indent=4)
    data.sort(key=lambda r: (r["component"] or "", r["type"], r["name"]))
    if view.base is None:
        lines += ["", summary_line({"create": len(result.resources)})]
    return Section("Resources by component", lines, data, "resources")


OPS = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}


def _cost_delta(view: PlanView) -> tuple[float, float] | None:
    from docpipe.cost.estimate import estimate

    if view.base is None:
        return None
    return estimate(view.base.plan.config).total_monthly_usd, estimate(
        view.result.plan.config
    ).total_monthly_usd


def diff_section(view: PlanView) -> Section | None:
    """The change as `pulumi preview` shows it: cost delta first, then one line per resource that
    is created, updated or deleted, and the summary line."""
    if view.base is None:
        return None
    found, summary = steps(view)
    moved = [
        {"role": p.role, "from": view.base.plan[p.role].target, "to": p.target}
        for p in view.result.plan
        if view.base.plan[p.role].target != p.target
    ]
    lines = wrap("change: " + ", ".join(f"--set {s}" for s in view.sets))
    cost = _cost_delta(view)
    if cost is not None:
        before, after = cost
        lines.append(f"monthly cost {before:,.2f} → {after:,.2f} USD ({after - before:+,.2f})")
    lines += [f"moves {m['role']}: {m['from']} → {m['to']}" for m in moved]
    rows = [
        (OPS[s["op"]], short_type(s["type"]), s["urn"].rsplit("::", 1)[1], s["op"])
        for s in found
        if s["op"] in OPS
    ]
    rows.sort(key=lambda r: (list(OPS).index(r[3]), r[1], r[2]))
    if rows:
        lines.append("")
        lines += render_table(["", "type", "name", "plan"], rows, indent=2)
    lines.append("")
    lines.append(summary_line(summary))
    data = {
        "sets": view.sets,
        "moves": moved,
        "monthlyUsdBefore": round(cost[0], 4) if cost else None,
        "monthlyUsdAfter": round(cost[1], 4) if cost else None,
        "resources": [
            {"op": s["op"], "type": s["type"], "name": s["urn"].rsplit("::", 1)[1]}
            for s in found
            if s["op"] != "same"
        ],
        "changeSummary": summary,
    }
    return Section("Changes vs the unchanged stack", lines, data, "changes")


def summary_line(summary: dict[str, int]) -> str:
    """`Resources: 3 to create, 1 to update, 2 to delete, 120 unchanged` (pulumi preview's words)."""
    parts = [f"{summary[op]} to {op}" for op in ("create", "update", "replace", "delete") if summary.get(op)]
    if summary.get("same"):
        parts.append(f"{summary['same']} unchanged")
    return "Resources: " + (", ".join(parts) or "no changes")


def outputs_section(view: PlanView) -> Section:
    """The stack outputs `pulumi up` exports. Their values come from the provider at deploy time (the
    offline run has mock values only), so only their names are shown, as `pulumi preview` shows
    `output<string>`."""
    names = sorted(view.result.outputs)
    secret = view.result.secret_outputs
    shown = [f"{n} [secret]" if n in secret else n for n in names]
    lines = wrap(", ".join(shown), indent=2) if shown else ["  (none)"]
    lines.append("  (values known after `pulumi up`; `pulumi stack output` shows them)")
    return Section("Outputs", lines, [{"name": n, "secret": n in secret} for n in names], "outputs")


# --- Policy verdicts (the policy pack's section; policies/ owns its content) ---------------------
def policy_section(view: PlanView) -> Section:
    """What `pulumi up --policy-pack policies --policy-pack-config policies/<stack>.json` would say."""
    from policies.offline import verdicts

    try:
        found = verdicts(view.result.resources, view.stack)
    except ValueError as err:  # a policy config file naming an unknown policy or property
        return Section("Policy verdicts", [f"policy config error: {err}"], {"error": str(err)}, "policy")
    return Section("Policy verdicts", found.lines(), found.to_dict(), "policy")


def _wrapped(text: str, indent: str) -> list[str]:
    return wrap(text, indent=len(indent))


def runtime_section(view: PlanView) -> Section:
    """What decides each role's behaviour at run time, and what its account must allow."""
    plan = view.result.plan
    lines: list[str] = []
    data: dict[str, Any] = {}
    for p in plan:
        runtime, notes = p.runtime(), p.target_unit.notes(p)
        data[p.role] = {"target": p.target, "runtime": runtime, "notes": notes}
        lines.append(f"{p.role} ({p.target})")
        settings = ", ".join(f"{k} {v}" for k, v in runtime.items())
        lines.extend(_wrapped(settings, "  ") if settings else [])
        for note in notes:
            lines.extend(_wrapped(f"note: {note}", "  "))
        if p.cache_note:
            lines.extend(_wrapped(f"cache: {p.cache_note}", "  "))
    stack_notes = [n for t in sorted(plan.targets) for n in get_target(t).stack_notes(plan.on(t))]
    for note in stack_notes:
        lines.extend(_wrapped(note, ""))
    lines.append(f"build id {plan.config.build_id}")
    data["notes"] = stack_notes
    data["buildId"] = plan.config.build_id
    return Section("Runtime", lines, data, "runtime")


def steps(view: PlanView) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The resources as `pulumi preview --json` lists them: `steps` (op, urn, type, newState with
    inputs, secrets as "[secret]") and a `changeSummary`. Against the unchanged stack when --set is
    given (create / update / delete / same), else every resource is a create."""
    from infra.offline import masked

    def state(res: Any) -> dict[str, Any]:
        return {
            "urn": res.urn,
            "type": res.type,
            "custom": res.custom,
            "parent": res.parent,
            "inputs": masked(res.inputs),
        }

    before = {r.key: r for r in view.base.resources} if view.base is not None else {}
    found: list[dict[str, Any]] = []
    for res in view.result.resources:
        old = before.pop(res.key, None)
        if view.base is None or old is None:
            op = "create"
        else:
            op = "same" if masked(old.inputs) == masked(res.inputs) else "update"
        step: dict[str, Any] = {"op": op, "urn": res.urn, "type": res.type, "newState": state(res)}
        if old is not None:
            step["oldState"] = state(old)
        found.append(step)
    found += [{"op": "delete", "urn": r.urn, "type": r.type, "oldState": state(r)} for r in before.values()]
    found.sort(key=lambda s: s["urn"])
    summary: dict[str, int] = defaultdict(int)
    for step in found:
        summary[step["op"]] += 1
    return found, dict(sorted(summary.items()))


SECTIONS: list[SectionFn] = [
    diff_section,  # first: what a --set change does, and what it costs, up front
    placements_section,
    runtime_section,
    secrets_section,
    resources_section,
    outputs_section,
    policy_section,
]


def _placeholders(flat: FlatConfig) -> list[str]:
    return sorted(k for k, v in flat.values.items() if v == PLACEHOLDER and k.startswith(f"{NAMESPACE}:"))


def build_view(stack: str, sets: list[str]) -> PlanView:
    """Validate and run the stack (and the unchanged stack when `sets` is non-empty)."""
    _config, flat = load_stack(stack, overrides=sets, placeholder_secrets=True)
    from infra.offline import run_offline  # after validation: bad config fails before Pulumi loads

    result = run_offline(flat, stack)
    base = None
    if sets:
        _base_config, base_flat = load_stack(stack, placeholder_secrets=True)
        base = run_offline(base_flat, stack)
    return PlanView(
        stack=stack,
        result=result,
        flat=flat,
        sets=list(sets),
        base=base,
        placeholder_secrets=_placeholders(flat),
    )


def render(view: PlanView) -> list[Section]:
    return [s for fn in SECTIONS if (s := fn(view)) is not None]


def run(args: argparse.Namespace) -> int:
    """Handler of `docpipe plan`."""
    # No cyclic GC for the whole command (the provider SDK imports included): it has nothing to
    # free that matters in a process this short, and would walk every SDK object again and again.
    with paused_gc():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        view = build_view(args.stack, list(args.sets or []))
    except ConfigError as err:
        print(str(err), file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(str(err), file=sys.stderr)
        return 2
    warn_unused_sets(view.result.plan.config, view.sets)
    sections = render(view)
    if args.json:
        found, summary = steps(view)
        data = {"steps": found, "changeSummary": summary, **{s.key or s.title: s.data for s in sections}}
        # Sorted keys: identical output for identical input, whatever order things were declared in.
        print(json.dumps(data, indent=2, default=str, sort_keys=True))
        return 0
    out: list[str] = []
    for section in sections:
        out += [f"== {section.title}", *section.lines, ""]
    print("\n".join(fit(out)))
    return 0
