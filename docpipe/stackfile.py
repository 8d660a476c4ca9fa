"""From stack files (or the Pulumi engine's config) to a validated StackConfig.

Config arrives as Pulumi passes it to a program: a flat mapping of `namespace:key` to strings,
structured values JSON-encoded, plus the set of keys that are secret. `flat_from_stack_file` builds
that mapping from `Pulumi.yaml` + `Pulumi.<stack>.yaml` (+ `--set` overrides) so the offline
commands and the tests see exactly what `pulumi up` would; `config_from_flat` turns it into a
`StackConfig`, applying the tier preset under the stack's own values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from docpipe.build_id import content_build_id
from docpipe.config import (
    NAMESPACE,
    SECRET_NAMES,
    TIERS,
    ConfigError,
    StackConfig,
    text_key,
    validate_stack_config,
)
from docpipe.presets import deep_merge, preset_activities
from workers.suggest import did_you_mean

PROJECT_FILE = "Pulumi.yaml"
# Provider config read by docpipe besides its own namespace.
AWS_REGION_KEY = "aws:region"
PRICES_PREFIX = "prices."


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping (YAML would silently keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise DuplicateKeyError(
                    f"{key_node.start_mark.name}: line {line}: key {key!r} appears twice in one mapping "
                    f"(first on line {seen[key]}); YAML keeps only the last, so remove one"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


class DuplicateKeyError(ValueError):
    pass


def read_yaml(path: Path, stack: str) -> Any:
    """A stack or project file, with duplicate keys an error naming the file and lines."""
    try:
        with path.open() as f:
            return yaml.load(f, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except DuplicateKeyError as err:
        raise ConfigError(stack, [str(err)]) from None


@dataclass(frozen=True)
class FlatConfig:
    """Config as the engine hands it to a program."""

    values: dict[str, str]
    secret_keys: frozenset[str]


def project_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` holding Pulumi.yaml."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / PROJECT_FILE).is_file():
            return candidate
    raise FileNotFoundError(f"no {PROJECT_FILE} found at or above {here}")


def available_stacks(root: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def _encode(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def parse_set(assignment: str) -> tuple[str, Any]:
    """`path=value` as `pulumi config set --path` reads it: true/false → bool, integers → numbers —
    except where the key holds text (`imageTag=1.10` stays "1.10", `engineVersion=16` stays "16")."""
    path, sep, text = assignment.partition("=")
    path = path.strip().removeprefix(f"{NAMESPACE}:")
    if not sep or not path:
        raise ConfigError(
            "--set",
            [f"--set {assignment!r}: no '='; e.g. --set activities.extraction.target=ec2"],
            heading="--set expects KEY=VALUE:",
        )
    value: Any = text
    if text_key(path):
        return path, text
    if text in {"true", "false"}:
        value = text == "true"
    else:
        for cast in (int, float):
            try:
                value = cast(text)
                break
            except ValueError:
                continue
    return path, value


def _set_path(target: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = target
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def flat_from_stack_file(
    root: Path, stack: str, overrides: Iterable[str] = (), placeholder_secrets: bool = False
) -> FlatConfig:
    """Flat engine-style config for `stack` from its files, with `--set PATH=VALUE` overrides applied.

    `secure:` values cannot be decrypted offline; they are present as secret keys with a placeholder
    value. With `placeholder_secrets`, secrets the backends need but the stack lacks are filled with
    placeholders too (for offline plans); `pulumi up` itself still requires them.
    """
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        stacks = available_stacks(root)
        raise ConfigError(
            stack,
            [
                f"{stack_file} not found; stacks here: {', '.join(stacks) or 'none'}"
                f"{did_you_mean(stack, stacks)} (--stack NAME reads Pulumi.NAME.yaml)"
            ],
            heading=f"no stack {stack!r}:",
        )
    project = read_yaml(root / PROJECT_FILE, stack) or {}
    values: dict[str, Any] = {}
    for key, decl in (project.get("config") or {}).items():
        if isinstance(decl, Mapping) and "default" in decl:
            values[key] = decl["default"]
        elif isinstance(decl, Mapping) and "value" in decl:
            values[key] = decl["value"]
        elif not isinstance(decl, Mapping):
            values[key] = decl
    secret_keys: set[str] = set()
    stack_config = (read_yaml(stack_file, stack) or {}).get("config") or {}
    for key, value in stack_config.items():
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            secret_keys.add(key)
            values[key] = "[secret]"
        else:
            values[key] = value
    namespaced: dict[str, Any] = {
        k.removeprefix(f"{NAMESPACE}:"): v for k, v in values.items() if k.startswith(f"{NAMESPACE}:")
    }
    for assignment in overrides:
        path, value = parse_set(assignment)
        if (
            "." not in path
            and isinstance(value, str)
            and path in namespaced
            and isinstance(namespaced[path], dict)
        ):
            raise ConfigError(stack, [f"--set {path}: is a map; set one of its keys ({path}.KEY=VALUE)"])
        if ":" in path:  # another namespace's key (aws:region): set as the engine would hold it
            values[path] = value
            continue
        if path.startswith(PRICES_PREFIX):
            # Price keys are dotted names themselves (lambda.gbSecond.arm64): one key, not a path.
            prices = namespaced.setdefault("prices", {})
            prices[path.removeprefix(PRICES_PREFIX)] = value
        else:
            _set_path(namespaced, path, value)
    flat = {k: _encode(v) for k, v in values.items() if not k.startswith(f"{NAMESPACE}:")}
    flat.update({f"{NAMESPACE}:{k}": _encode(v) for k, v in namespaced.items()})
    if placeholder_secrets:
        # Only to learn which secrets the backends need: no build id is wanted here.
        config = config_from_flat(
            stack, FlatConfig(flat, frozenset(secret_keys)), check_secrets=False, derive_build_id=False
        )
        for name in config.required_secrets():
            key = f"{NAMESPACE}:{name}"
            if key not in secret_keys:
                flat[key] = "[placeholder]"
                secret_keys.add(key)
    return FlatConfig(flat, frozenset(secret_keys))


def _decode(text: str) -> Any:
    """A structured value arrives JSON-encoded; a plain string (`tier: low`) is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def config_from_flat(
    stack: str,
    flat: FlatConfig,
    check_secrets: bool = True,
    root: Path | None = None,
    derive_build_id: bool = True,
) -> StackConfig:
    """Validate engine-style flat config (tier preset applied under the stack's values).

    An unset `imageTag` becomes the build id of the worker image's content in `root` (default: the
    project the current directory is in); `derive_build_id=False` leaves it unset (a caller that
    only needs the placement, not the build, skips hashing the build context).
    """
    raw: dict[str, Any] = {}
    secrets: set[str] = set()
    for key, text in flat.values.items():
        if not key.startswith(f"{NAMESPACE}:"):
            continue
        name = key.removeprefix(f"{NAMESPACE}:")
        if name in SECRET_NAMES or key in flat.secret_keys:
            secrets.add(name)
            continue
        raw[name] = text if name in {"tier", "imageTag"} else _decode(text)
    if AWS_REGION_KEY in flat.values and "awsRegion" not in raw:
        raw["awsRegion"] = flat.values[AWS_REGION_KEY]
    tier = raw.get("tier", "low")
    if tier not in TIERS:
        raise ConfigError(
            stack,
            [
                f"{NAMESPACE}:tier: {tier!r} is not valid; choose one of {', '.join(TIERS)}"
                f"{did_you_mean(tier, list(TIERS))}"
            ],
        )
    raw["tier"] = tier
    activities = raw.get("activities", {})
    if not isinstance(activities, Mapping):
        raise ConfigError(
            stack, [f"{NAMESPACE}:activities: must be a map of role to settings (got {activities!r})"]
        )
    raw["activities"] = deep_merge(preset_activities(tier), activities)
    if "imageTag" not in raw and derive_build_id:
        raw["imageTag"] = content_build_id(project_root(root))
    return validate_stack_config(stack, raw, secrets, check_secrets=check_secrets)


def load_stack(
    stack: str, root: Path | None = None, overrides: Iterable[str] = (), placeholder_secrets: bool = False
) -> tuple[StackConfig, FlatConfig]:
    """Validated config of a stack file, and the flat config it came from."""
    base = project_root(root)
    flat = flat_from_stack_file(base, stack, overrides, placeholder_secrets=placeholder_secrets)
    return config_from_flat(stack, flat, root=base), flat


def unused_overrides(config: StackConfig, overrides: Iterable[str]) -> list[str]:
    """One warning per `--set` the config accepts but does not use: a sizing key of a target the role
    is not placed on (`activities.extraction.lambda.memoryMb` while extraction runs on cloudrun)."""
    from docpipe.targets import all_targets

    targets = all_targets()
    warnings: list[str] = []
    for assignment in overrides:
        path, _ = parse_set(assignment)
        parts = path.split(".")
        if len(parts) < 3 or parts[0] != "activities" or parts[2] not in targets:
            continue
        role, key = parts[1], parts[2]
        activity = getattr(config.activities, role, None)
        if activity is None:
            continue
        placed = activity.target
        if placed != key:
            warnings.append(
                f"--set {assignment}: {role} runs on {placed}, which does not use the {key} "
                f"settings; this changes nothing unless activities.{role}.target={key} "
                f"(its {placed} settings: activities.{role}.{placed}.*)"
            )
    return warnings
