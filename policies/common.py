"""Small pieces every policy module shares: config schemas with defaults, and policy constructors.

A policy's config schema lists each property with its JSON type, a description and a default. The
Pulumi CLI fills the defaults in before it configures the pack, but a validator called directly (in
tests, in `docpipe plan`) gets whatever it is given, so every validator reads its config through
`settings()`, which applies the same defaults.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

ResourceCheck = Callable[[ResourceValidationArgs, Mapping[str, Any], ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, Mapping[str, Any], ReportViolation], None]


def schema(properties: Mapping[str, Mapping[str, Any]]) -> PolicyConfigSchema:
    """A config schema; every property must carry a `default` (so the pack runs unconfigured)."""
    for name, spec in properties.items():
        if "default" not in spec:
            raise ValueError(f"config property {name!r} needs a default")
    return PolicyConfigSchema(properties={k: copy.deepcopy(dict(v)) for k, v in properties.items()})


def defaults(config_schema: PolicyConfigSchema | None) -> dict[str, Any]:
    """The schema's defaults as a config mapping."""
    if config_schema is None:
        return {}
    return {k: copy.deepcopy(v["default"]) for k, v in config_schema.properties.items()}


def settings(config_schema: PolicyConfigSchema | None, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Config for one policy: the schema's defaults, overridden by what was given."""
    merged = defaults(config_schema)
    for key, value in (given or {}).items():
        if key != "enforcementLevel":
            merged[key] = value
    return merged


def resource_policy(
    name: str,
    description: str,
    *,
    remediation: str,
    types: Iterable[str],
    check: ResourceCheck,
    properties: Mapping[str, Mapping[str, Any]],
    enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY,
) -> ResourceValidationPolicy:
    """A per-resource policy that runs `check` only on resources of the given type tokens."""
    wanted = frozenset(types)
    config_schema = schema(properties)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in wanted:
            return
        check(args, settings(config_schema, args.get_config()), report_violation)

    validate.__name__ = name.replace("-", "_")
    validate.__doc__ = description
    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement_level,
        config_schema=config_schema,
        remediation_steps=remediation,
    )


def stack_policy(
    name: str,
    description: str,
    *,
    remediation: str,
    check: StackCheck,
    properties: Mapping[str, Mapping[str, Any]],
    enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY,
) -> StackValidationPolicy:
    """A stack policy: `check` sees every resource of the stack at once."""
    config_schema = schema(properties)

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        check(args, settings(config_schema, args.get_config()), report_violation)

    validate.__name__ = name.replace("-", "_")
    validate.__doc__ = description
    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement_level,
        config_schema=config_schema,
        remediation_steps=remediation,
    )


def usd(amount: float) -> str:
    """Money as the messages show it."""
    return f"{amount:,.2f} USD"
