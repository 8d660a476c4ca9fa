"""Reading resource inputs the way the policy SDK hands them over.

The SDK wraps each resource's inputs in read-only proxies (`Mapping` / `Sequence`, not `dict` /
`list`) that raise `UnknownValueError` when a value is not known yet (during `pulumi preview`). A
policy that hits one unknown would be skipped as a whole, so these helpers turn an unknown into
`UNKNOWN` and let the policy judge everything that *is* known. Inputs use the engine's camelCase
names and numbers arrive as floats.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from pulumi_policy.proxy import UnknownValueError


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Final = _Unknown()
"""A value that cannot be known before the deployment runs (preview)."""


def get(props: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path (`metadataOptions.httpTokens`, `template.containers`), or `default`.

    Returns `UNKNOWN` when a value on the way is not known yet.
    """
    node = props
    for key in path.split("."):
        if not isinstance(node, Mapping):
            return default
        try:
            if key not in node:
                return default
            node = node[key]
        except UnknownValueError:
            return UNKNOWN
    return node


def items(mapping: Any) -> Iterator[tuple[str, Any]]:
    """Key/value pairs of a mapping input; unknown values come out as `UNKNOWN`."""
    if not isinstance(mapping, Mapping):
        return
    for key in list(mapping):
        try:
            yield str(key), mapping[key]
        except UnknownValueError:
            yield str(key), UNKNOWN


def elements(seq: Any) -> Iterator[Any]:
    """Elements of a list input (a single value counts as a list of one); unknowns as `UNKNOWN`."""
    if seq is None or seq is UNKNOWN:
        return
    if isinstance(seq, str | bytes | Mapping) or not isinstance(seq, Sequence):
        yield seq
        return
    for index in range(len(seq)):
        try:
            yield seq[index]
        except UnknownValueError:
            yield UNKNOWN


def number(value: Any) -> float | None:
    """A numeric input as float (the engine sends numbers as floats, config may send strings)."""
    if isinstance(value, bool) or value is None or value is UNKNOWN:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def truthy(value: Any) -> bool:
    """A boolean input, accepting the string forms a provider may echo back."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value) and value is not UNKNOWN


def plain(value: Any) -> Any:
    """A deep copy of an input as plain dicts and lists (unknowns as `UNKNOWN`)."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in items(value)}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain(v) for v in elements(value)]
    return value


def policy_document(value: Any) -> Mapping[str, Any] | None:
    """An IAM policy input (a JSON string, or already a mapping) as a mapping; None if unreadable."""
    if value is None or value is UNKNOWN:
        return None
    if isinstance(value, Mapping):
        return plain(value)
    if isinstance(value, str):
        try:
            doc = json.loads(value)
        except json.JSONDecodeError:
            return None
        return doc if isinstance(doc, Mapping) else None
    return None


def decode_user_data(text: str) -> str:
    """Instance user data as text: base64-decoded when it is base64 (`userDataBase64`), else as given."""
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return text
    return decoded


# One `NAME=value` line of the env file an EC2 worker's user data writes.
ENV_LINE: Final = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$", re.MULTILINE)


def worker_env(resources: Iterable[Any], belongs: Callable[[Any], bool]) -> dict[str, str]:
    """The plain environment of the workers whose resources `belongs` selects: Lambda variables,
    Cloud Run envs (not Secret Manager references) and the env file in EC2 user data."""
    from policies.resource_types import CLOUD_RUN_WORKER_POOL, LAMBDA_FUNCTION, LAUNCH_TEMPLATE

    env: dict[str, str] = {}
    for r in resources:
        if not belongs(r):
            continue
        if r.resource_type == LAMBDA_FUNCTION:
            env.update({k: v for k, v in items(get(r.props, "environment.variables")) if isinstance(v, str)})
        elif r.resource_type == CLOUD_RUN_WORKER_POOL:
            for container in elements(get(r.props, "template.containers")):
                for e in elements(get(container, "envs")):
                    if isinstance(get(e, "name"), str) and isinstance(get(e, "value"), str):
                        env[get(e, "name")] = get(e, "value")
        elif r.resource_type == LAUNCH_TEMPLATE and isinstance(get(r.props, "userData"), str):
            env.update(dict(ENV_LINE.findall(decode_user_data(get(r.props, "userData")))))
    return env
