"""Run the pack's policies in-process on recorded resources: the verdicts `pulumi up` would give.

`docpipe plan` and the tests use this instead of the Pulumi CLI. It hands each validator exactly
what the analyzer server would — inputs deserialized by the policy SDK and wrapped in its
unknown-checking proxy, stack resources linked to their parents and dependencies, config with the
schema defaults filled in — and collects the violations.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from policies.common import settings

PROJECT = "docpipe"
LEVELS = {level.value: level for level in EnforcementLevel}


@dataclass(frozen=True)
class StackResource:
    """A resource as a mocks run records it: type token, name, camelCase inputs, parent."""

    type: str
    name: str
    inputs: Mapping[str, Any]
    parent: str | None = None  # the parent's URN or name
    urn: str = ""
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicySettings:
    enforcement: EnforcementLevel
    properties: dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    """One violation: which policy, how it is enforced, the message and the resource (if any)."""

    policy: str
    enforcement: str
    message: str
    resource: str | None = None
    urn: str | None = None


@dataclass(frozen=True)
class PolicyOutcome:
    policy: str
    enforcement: str
    violations: tuple[Verdict, ...]
    not_applicable: str | None = None

    @property
    def passed(self) -> bool:
        return not self.violations


@dataclass(frozen=True)
class Report:
    """Every policy's outcome for one stack."""

    outcomes: tuple[PolicyOutcome, ...]

    @property
    def verdicts(self) -> list[Verdict]:
        return [v for o in self.outcomes for v in o.violations]

    @property
    def blocking(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.enforcement == EnforcementLevel.MANDATORY.value]

    @property
    def passed(self) -> bool:
        """True when `pulumi up` would go ahead (no mandatory violation)."""
        return not self.blocking

    def outcome(self, policy: str) -> PolicyOutcome:
        return next(o for o in self.outcomes if o.policy == policy)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "policies": [
                {
                    "policy": o.policy,
                    "enforcement": o.enforcement,
                    "passed": o.passed,
                    "notApplicable": o.not_applicable,
                    "violations": [{"message": v.message, "resource": v.resource} for v in o.violations],
                }
                for o in self.outcomes
            ],
        }


# --- config -----------------------------------------------------------------------------------


def read_policy_config(source: str | Path | Mapping[str, Any] | None) -> dict[str, Any]:
    """A policy config file (as given to `--policy-pack-config`) or mapping, as a mapping."""
    if source is None:
        return {}
    if isinstance(source, Mapping):
        return dict(source)
    data = json.loads(Path(source).read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a policy config file holds a JSON object keyed by policy name")
    return data


def resolve_config(
    policies: Sequence[Policy], source: str | Path | Mapping[str, Any] | None = None
) -> dict[str, PolicySettings]:
    """Each policy's enforcement level and properties, defaults filled in, as the CLI resolves them.

    A file entry is either an enforcement level (`"advisory"`) or an object with an optional
    `enforcementLevel` and properties; the key `all` sets every policy's level.
    """
    raw = read_policy_config(source)
    names = {p.name for p in policies}
    unknown = sorted(set(raw) - names - {"all"})
    if unknown:
        raise ValueError(
            f"policy config names unknown policies: {', '.join(unknown)}; known: {', '.join(sorted(names))}"
        )
    everyone = raw.get("all")
    resolved: dict[str, PolicySettings] = {}
    for policy in policies:
        level = policy.enforcement_level or EnforcementLevel.ADVISORY
        if isinstance(everyone, str):
            level = LEVELS[everyone]
        entry = raw.get(policy.name, {})
        given: Mapping[str, Any] = {}
        if isinstance(entry, str):
            level = LEVELS[entry]
        elif isinstance(entry, Mapping):
            if "enforcementLevel" in entry:
                level = LEVELS[str(entry["enforcementLevel"])]
            given = entry
            if policy.config_schema is not None:
                extra = sorted(set(given) - set(policy.config_schema.properties) - {"enforcementLevel"})
                if extra:
                    raise ValueError(
                        f"policy {policy.name}: unknown config properties {', '.join(extra)}; known: "
                        f"{', '.join(sorted(policy.config_schema.properties))}"
                    )
        resolved[policy.name] = PolicySettings(level, settings(policy.config_schema, given))
    return resolved


# --- resources --------------------------------------------------------------------------------


def _qualified_type(resource: StackResource, by_key: Mapping[str, StackResource], depth: int = 0) -> str:
    parent = by_key.get(resource.parent or "")
    if parent is None or depth > 50:
        return resource.type
    return f"{_qualified_type(parent, by_key, depth + 1)}${resource.type}"


def with_urns(resources: Iterable[StackResource], stack: str, project: str = PROJECT) -> list[StackResource]:
    """The resources with URNs filled in (from the parent chain, as the engine forms them)."""
    items = list(resources)
    by_key: dict[str, StackResource] = {}
    for r in items:
        by_key[r.name] = r
        if r.urn:
            by_key[r.urn] = r
    out: list[StackResource] = []
    for r in items:
        urn = r.urn or f"urn:pulumi:{stack}::{project}::{_qualified_type(r, by_key)}::{r.name}"
        out.append(
            StackResource(
                r.type, r.name, r.inputs, r.parent, urn, r.dependencies, dict(r.property_dependencies)
            )
        )
    names_to_urns = {r.name: r.urn for r in out}
    return [
        StackResource(
            r.type,
            r.name,
            r.inputs,
            names_to_urns.get(r.parent or "", r.parent),
            r.urn,
            tuple(names_to_urns.get(d, d) for d in r.dependencies),
            {k: tuple(names_to_urns.get(d, d) for d in v) for k, v in r.property_dependencies.items()},
        )
        for r in out
    ]


def _options(parent: str | None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def _props(inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    # A JSON round trip gives what MessageToDict gives the server: plain dicts, lists, floats.
    plain = json.loads(json.dumps(inputs, default=str))
    return unknown_checking_proxy(deserialize_properties(plain))


def policy_resources(resources: Sequence[StackResource]) -> list[PolicyResource]:
    """Stack-policy views of the resources, linked to parents and dependencies."""
    views = {
        r.urn: PolicyResource(r.type, _props(r.inputs), r.urn, r.name, _options(r.parent), None, None, [], {})
        for r in resources
    }
    for r in resources:
        view = views[r.urn]
        view.parent = views.get(r.parent or "")
        view.dependencies = [views[d] for d in r.dependencies if d in views]
        view.property_dependencies = {
            k: [views[d] for d in v if d in views] for k, v in r.property_dependencies.items()
        }
    return list(views.values())


# --- running ----------------------------------------------------------------------------------


def evaluate(
    policies: Sequence[Policy],
    resources: Iterable[StackResource],
    config: str | Path | Mapping[str, Any] | None = None,
    stack: str = "dev",
) -> Report:
    """Every policy against the resources of one stack, with the given policy config."""
    resolved = resolve_config(policies, config)
    stack_resources = with_urns(resources, stack)
    outcomes: list[PolicyOutcome] = []
    for policy in policies:
        setting = resolved[policy.name]
        level = setting.enforcement
        if level == EnforcementLevel.DISABLED:
            outcomes.append(PolicyOutcome(policy.name, level.value, (), "disabled by config"))
            continue
        if level == EnforcementLevel.REMEDIATE:
            level = EnforcementLevel.MANDATORY
        outcomes.append(_run(policy, level, setting.properties, stack_resources))
    return Report(tuple(outcomes))


def _reporting(collect: Callable[[str, str | None], None], urn: str) -> Callable[[str, str | None], None]:
    """A per-resource `report_violation` that attributes violations to that resource by default."""

    def report(message: str, other: str | None = None) -> None:
        collect(message, other or urn)

    return report


def _run(
    policy: Policy, level: EnforcementLevel, properties: Mapping[str, Any], resources: list[StackResource]
) -> PolicyOutcome:
    """One policy over the stack, as the analyzer server runs it (Analyze per resource, or AnalyzeStack)."""
    found: list[Verdict] = []
    names = {r.urn: r.name for r in resources}

    def collect(message: str, urn: str | None = None) -> None:
        found.append(Verdict(policy.name, level.value, message, names.get(urn or ""), urn or None))

    try:
        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(
                    r.type, _props(r.inputs), r.urn, r.name, _options(r.parent), None, properties
                )
                try:
                    policy.validate(args, _reporting(collect, r.urn))
                except UnknownValueError:
                    continue  # the server reports "can't run during preview" for this resource
        elif isinstance(policy, StackValidationPolicy):
            policy.validate(StackValidationArgs(policy_resources(resources), properties), collect)
    except _NotApplicableError as exc:
        return PolicyOutcome(policy.name, level.value, tuple(found), exc.reason or "not applicable")
    return PolicyOutcome(policy.name, level.value, tuple(found))


def format_report(report: Report) -> str:
    """The verdicts as `docpipe plan` prints them."""
    lines = []
    for o in report.outcomes:
        if o.not_applicable and not o.violations:
            lines.append(f"  -    {o.policy}: {o.not_applicable}")
            continue
        mark = "ok  " if o.passed else ("FAIL" if o.enforcement == "mandatory" else "warn")
        lines.append(f"  {mark} {o.policy}" + ("" if o.passed else f" ({o.enforcement})"))
        for v in o.violations:
            lines.append(f"         {v.message}")
    verdict = "would pass" if report.passed else f"would be refused ({len(report.blocking)} mandatory)"
    lines.append(f"  pulumi up --policy-pack policies: {verdict}")
    return "\n".join(lines)
