"""During `pulumi preview` many inputs are unknown (ids, ARNs, names): the policies judge what is
known, neither crash nor invent violations."""

from __future__ import annotations

from typing import Any

import pytest
from policy_helpers import EC2, ROOT_DIR, report, resources

from policies.runner import StackResource

UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def _unknown_references(value: Any) -> Any:
    """Every string that came from another resource's output (mock ids, ARNs) made unknown."""
    if isinstance(value, dict):
        return {k: _unknown_references(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unknown_references(v) for v in value]
    if isinstance(value, str) and (value.endswith("-id") or value.startswith("arn:") or "mock" in value):
        return UNKNOWN_STRING
    return value


def _preview(items: list[StackResource]) -> list[StackResource]:
    return [
        StackResource(r.type, r.name, _unknown_references(dict(r.inputs)), r.parent, r.urn, r.dependencies)
        for r in items
    ]


@pytest.mark.parametrize(("stack", "overrides"), [("dev", ()), ("prod", ()), ("prod", EC2)])
def test_preview_with_unknown_references_gives_the_same_verdicts(
    stack: str, overrides: tuple[str, ...]
) -> None:
    items = resources(stack, *overrides)
    preview = _preview(items)
    assert any(UNKNOWN_STRING in str(r.inputs) for r in preview)
    config = ROOT_DIR / "policies" / f"{stack}.json"
    assert report(preview, config, stack).verdicts == report(items, config, stack).verdicts == []


def test_unknown_secret_looking_value_is_not_judged_but_others_are() -> None:
    items = resources("prod")
    variant = [
        StackResource(
            r.type,
            r.name,
            {**r.inputs, "environment": {"variables": {"API_TOKEN": UNKNOWN_STRING, "DB_PASSWORD": "x"}}},
            r.parent,
            r.urn,
            r.dependencies,
        )
        if r.name == "storage-lambda-function"
        else r
        for r in items
    ]
    found = [
        v.message.split(" carries")[0]
        for v in report(variant, None, "prod").outcome("no-plaintext-secrets").violations
    ]
    assert found == ["'storage-lambda-function' environment variable DB_PASSWORD"]
