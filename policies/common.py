"""Small pieces every policy module shares: config models and schemas, and policy constructors.

Each configurable policy declares its config as a `PolicyConfig` model: one field per property,
each with a default and a description. `config_schema()` turns the model into the schema the
pack hands the Pulumi CLI (which validates policy config files against it and fills the defaults
in), and the policy's check receives its config validated by that same model. A validator called
directly (in tests, in `docpipe plan`) gets whatever it is given; the model applies the defaults.
`defaults()` / `settings()` do on the schema what the CLI does, for `policies.runner`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel


class PolicyConfig(BaseModel):
    """Base of every policy's config model.

    Fields are snake_case in Python and camelCase in config (the alias), as the CLI passes them.
    Keys the model does not know are ignored, as the checks always ignored them: `policies.runner`
    names unknown keys in a config file, and the engine passes `enforcementLevel` along.
    """

    model_config = ConfigDict(alias_generator=to_camel, extra="ignore", frozen=True)


C = TypeVar("C", bound=PolicyConfig)
ResourceCheck = Callable[[ResourceValidationArgs, C, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, C, ReportViolation], None]


def config_schema(model: type[PolicyConfig]) -> PolicyConfigSchema:
    """The policy config schema of a config model, as `PolicyConfigSchema` properties.

    pydantic's JSON schema minus what the pack never declared: field titles, and
    `additionalProperties: true` on free-form objects (JSON Schema's default anyway). Every field
    needs a default (so the pack runs unconfigured, and nothing is `required`) and a description.
    """
    generated = model.model_json_schema(by_alias=True)
    if "$defs" in generated:
        raise ValueError(f"{model.__name__}: nested models are not supported in a policy config schema")
    if generated.get("required"):
        raise ValueError(f"{model.__name__}: config properties {generated['required']} need a default")
    properties: dict[str, dict[str, Any]] = {}
    for name, spec in generated["properties"].items():
        if not spec.get("description"):
            raise ValueError(f"{model.__name__}: config property {name!r} needs a description")
        properties[name] = {
            k: v for k, v in spec.items() if k != "title" and not (k == "additionalProperties" and v is True)
        }
    return PolicyConfigSchema(properties=properties)


def validation_problems(exc: ValidationError) -> str:
    """A pydantic error as one line: `key.path: message; ...` (never the rejected values)."""
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def read_config(model: type[C], policy: str, given: Mapping[str, Any] | C | None) -> C:
    """A policy's config validated by its model (defaults applied); a mistake names the policy."""
    try:
        return model.model_validate(given if isinstance(given, model) else dict(given or {}))
    except ValidationError as exc:
        raise ValueError(f"policy {policy}: invalid config: {validation_problems(exc)}") from None


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
    config: type[C],
    check: ResourceCheck[C],
    enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY,
) -> ResourceValidationPolicy:
    """A per-resource policy that runs `check` only on resources of the given type tokens."""
    wanted = frozenset(types)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in wanted:
            return
        check(args, read_config(config, name, args.get_config()), report_violation)

    validate.__name__ = name.replace("-", "_")
    validate.__doc__ = description
    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement_level,
        config_schema=config_schema(config),
        remediation_steps=remediation,
    )


def stack_policy(
    name: str,
    description: str,
    *,
    remediation: str,
    config: type[C],
    check: StackCheck[C],
    enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY,
) -> StackValidationPolicy:
    """A stack policy: `check` sees every resource of the stack at once."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        check(args, read_config(config, name, args.get_config()), report_violation)

    validate.__name__ = name.replace("-", "_")
    validate.__doc__ = description
    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement_level,
        config_schema=config_schema(config),
        remediation_steps=remediation,
    )


def usd(amount: float) -> str:
    """Money as the messages show it."""
    return f"{amount:,.2f} USD"
