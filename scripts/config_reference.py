#!/usr/bin/env python3
"""Render docs/config-reference.md from the JSON schema of the stack config models.

    .venv/bin/python scripts/config_reference.py           rewrite docs/config-reference.md
    .venv/bin/python scripts/config_reference.py --check   exit 1 if the committed file is stale

Every `docpipe:` key a stack may set — type, allowed values, bounds, default, description — comes
from `docpipe.config.config_json_schema()`, the schema validation itself applies, so the reference
cannot drift from the models: whoever changes a model reruns this. Fields without a description
are still rendered, and listed on stderr so they can be given one (`Field(description=...)`).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "config-reference.md"
COMMAND = ".venv/bin/python scripts/config_reference.py"
WIDTH = 100
NAMESPACE = "docpipe"

Node = Mapping[str, Any]

HEADER = f"""\
# Stack config reference (`{NAMESPACE}:*`)

<!-- Generated from docpipe.config.config_json_schema() by
     `{COMMAND}`. Do not edit by hand: change the model
     (bounds, defaults, `Field(description=...)`) and rerun.
     tests/core/test_config_reference.py fails while this file is stale. -->

Every key a stack file (`Pulumi.<stack>.yaml`) may set under the `{NAMESPACE}:` namespace. A
top-level key holds a map; nested keys are written as paths here and set either in the stack file
or with `pulumi config set --path`:

```yaml
config:
  {NAMESPACE}:activities:
    extraction:
      target: ec2
```

    pulumi config set --path '{NAMESPACE}:activities.extraction.target' ec2 --stack prod

`<role>` stands for each role of the pipeline. Defaults are the models' own; the tier preset
(`{NAMESPACE}:tier`) fills every role's target and sizing under `activities` before validation, and
the stack's keys win over it. `docpipe plan --stack NAME --json` prints the values a stack resolves
to; `docpipe plan --stack NAME --set KEY=VALUE` tries a change without editing the file. Validation
checks every bound below, plus the rules that span several keys, before anything is declared.
"""


@dataclass(frozen=True)
class Leaf:
    path: str
    node: Node  # resolved schema of the value (anyOf of a single type flattened)
    nullable: bool
    required: bool
    default: object  # MISSING when the schema gives none
    keys: tuple[str, ...] = ()  # for a map value (`prices.<key>`): the keys allowed, if restricted
    within: str = ""  # the optional group this key belongs to (`gcp`): required only when it is set


@dataclass(frozen=True)
class Group:
    path: str
    description: str
    nullable: bool
    keys: tuple[str, ...] = ()  # for a collapsed group (`activities.<role>`): the keys it stands for
    required: bool = False


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def _placeholder(keys: Sequence[str]) -> str:
    """`<role>` when the keys are pipeline roles, else `<key>`."""
    from workers.contract import ROLES

    return "role" if keys and set(keys) <= set(ROLES) else "key"


class SchemaWalker:
    def __init__(self, schema: Node) -> None:
        self.defs: Mapping[str, Node] = schema.get("$defs", {})

    def resolve(self, node: Node) -> Node:
        """Follow `$ref` (and a one-item `allOf`); the referring node's own keys win."""
        while True:
            if "$ref" in node:
                target = self.defs[str(node["$ref"]).rsplit("/", 1)[-1]]
                node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            elif isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
                node = {**node["allOf"][0], **{k: v for k, v in node.items() if k != "allOf"}}
            else:
                return node

    def flatten(self, node: Node) -> tuple[Node, bool]:
        """Resolve, and fold `anyOf: [X, null]` into X; returns (node, nullable)."""
        node = self.resolve(node)
        if "anyOf" not in node:
            return node, node.get("type") == "null"
        variants = [self.resolve(v) for v in node["anyOf"]]
        concrete = [v for v in variants if v.get("type") != "null"]
        nullable = len(concrete) < len(variants)
        own = {k: v for k, v in node.items() if k != "anyOf"}
        if len(concrete) == 1:
            # The field's own keys (default, description) over the variant's (bounds, type).
            return {**concrete[0], **own}, nullable
        return {**own, "anyOf": concrete}, nullable

    @staticmethod
    def is_model(node: Node) -> bool:
        return "properties" in node

    def is_model_map(self, node: Node) -> bool:
        extra = node.get("additionalProperties")
        return (
            not self.is_model(node) and isinstance(extra, Mapping) and self.is_model(self.flatten(extra)[0])
        )

    def walk(
        self,
        raw: Node,
        path: str,
        inherited: object = MISSING,
        required: bool = False,
        within: str = "",
    ) -> Iterator[Leaf | Group]:
        node, nullable = self.flatten(raw)
        default = node.get("default", inherited)
        if self.is_model(node):
            yield Group(path, str(node.get("description", "")), nullable, required=required)
            yield from self._children(node, path, default, path if nullable else within)
        elif self.is_model_map(node):
            keys = _enum_keys(node)
            sub = f"{path}.<{_placeholder(keys)}>"
            value, _ = self.flatten(node["additionalProperties"])
            yield Group(path, str(node.get("description", "")), nullable)
            yield Group(sub, str(value.get("description", "")), False, keys)
            yield from self._children(value, sub, MISSING, within)
        elif node.get("type") == "object" and isinstance(node.get("additionalProperties"), Mapping):
            keys = _enum_keys(node)
            value, value_nullable = self.flatten(node["additionalProperties"])
            value = {**value, "description": node.get("description", value.get("description", ""))}
            sub = f"{path}.<{_placeholder(keys)}>"
            yield Leaf(sub, value, value_nullable, required, default, keys, within)
        else:
            yield Leaf(path, node, nullable, required, default, within=within)

    def _children(self, node: Node, path: str, default: object, within: str) -> Iterator[Leaf | Group]:
        props: Mapping[str, Node] = node["properties"]
        required = set(node.get("required", ()))
        values = default if isinstance(default, Mapping) else {}
        first = next(iter(props.values()), None)
        if len(props) > 1 and all(p == first for p in props.values()) and first is not None:
            # Identical entries (one per role): one placeholder instead of five copies.
            keys = tuple(props)
            sub = f"{path}.<{_placeholder(keys)}>"
            resolved, nullable = self.flatten(first)
            yield Group(sub, str(resolved.get("description", "")), nullable, keys, set(keys) <= required)
            yield from self._children(resolved, sub, MISSING, within)
            return
        leaves: list[Leaf | Group] = []
        groups: list[Leaf | Group] = []
        for key, sub_node in props.items():
            entries = list(
                self.walk(sub_node, f"{path}.{key}", values.get(key, MISSING), key in required, within)
            )
            (groups if isinstance(entries[0], Group) else leaves).extend(entries)
        # Direct keys first, so each nested group's heading is followed only by its own keys.
        yield from leaves
        yield from groups


def _enum_keys(node: Node) -> tuple[str, ...]:
    names = node.get("propertyNames")
    if isinstance(names, Mapping) and isinstance(names.get("enum"), list):
        return tuple(str(k) for k in names["enum"])
    return ()


def _code(value: object) -> str:
    if isinstance(value, str):
        return f"`{value}`"
    return f"`{json.dumps(value, separators=(', ', ': '))}`"


def _type(node: Node) -> str:
    if "anyOf" in node:
        return " or ".join(_type(v) for v in node["anyOf"])
    if "const" in node and "type" not in node:
        return type(node["const"]).__name__
    kind = node.get("type", "any")
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    if kind == "array":
        items = node.get("items")
        return f"list of {_type(items)}" if isinstance(items, Mapping) else "list"
    if kind == "object":
        return "map"
    return str(kind)


def _bounds(node: Node) -> str:
    low = next(((op, node[k]) for k, op in (("minimum", "≤"), ("exclusiveMinimum", "<")) if k in node), None)
    high = next(((op, node[k]) for k, op in (("maximum", "≤"), ("exclusiveMaximum", "<")) if k in node), None)
    parts = []
    if low and high:
        parts.append(f"{low[1]} {low[0]} x {high[0]} {high[1]}")
    elif low:
        parts.append(f"x {'≥' if low[0] == '≤' else '>'} {low[1]}")
    elif high:
        parts.append(f"x {high[0]} {high[1]}")
    for key, label in (("minLength", "length ≥"), ("maxLength", "length ≤")):
        if key in node:
            parts.append(f"{label} {node[key]}")
    for key, label in (("minItems", "items ≥"), ("maxItems", "items ≤")):
        if key in node:
            parts.append(f"{label} {node[key]}")
    return ", ".join(parts)


def _allowed(node: Node) -> str:
    if "const" in node:
        return f"always {_code(node['const'])}"
    if isinstance(node.get("enum"), list):
        return "one of " + ", ".join(_code(v) for v in node["enum"])
    if "pattern" in node:
        return f"matching `{node['pattern']}`"
    items = node.get("items")
    if isinstance(items, Mapping) and (items.get("enum") or items.get("pattern")):
        return "each " + _allowed(items)
    if "anyOf" in node:
        return "; or ".join(a for a in (_allowed(v) for v in node["anyOf"]) if a)
    return ""


def _wrap(text: str, first: str = "", rest: str = "") -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _paragraphs(text: str) -> list[str]:
    """Wrapped paragraphs (a description's blank lines kept), separated by empty lines."""
    out: list[str] = []
    for paragraph in (p for p in text.split("\n\n") if p.strip()):
        out += [*([""] if out else []), *_wrap(" ".join(paragraph.split()))]
    return out


def _leaf_lines(leaf: Leaf) -> list[str]:
    node = leaf.node
    facts = [_type(node) + (" or unset" if leaf.nullable else "")]
    if leaf.keys:
        facts.append(f"`<{_placeholder(leaf.keys)}>` one of " + ", ".join(f"`{k}`" for k in leaf.keys))
    facts.extend(f for f in (_allowed(node), _bounds(node)) if f)
    if leaf.required and leaf.default is MISSING:
        facts.append(f"required when `{leaf.within}` is set" if leaf.within else "required")
    elif leaf.default is None:
        facts.append("default unset")
    elif leaf.default is not MISSING:
        facts.append(f"default {_code(leaf.default)}")
    text = f"`{leaf.path}` — " + "; ".join(facts) + "."
    description = str(node.get("description", "")).strip()
    if description:
        text += " " + " ".join(description.split())
    return _wrap(text, "- ", "  ")


def _group_lines(group: Group) -> list[str]:
    lines = ["", f"### `{group.path}`"]
    facts: list[str] = []
    if group.keys:
        names = ", ".join(f"`{k}`" for k in group.keys)
        every = " (each required)." if group.required else "."
        facts.append(f"`<{_placeholder(group.keys)}>` is each of {names}{every}")
    if group.nullable:
        facts.append("Optional: unset by default.")
    first, _, rest = group.description.strip().partition("\n\n")
    if first:
        facts.append(first)
    return (
        [*lines, "", *_paragraphs("\n\n".join(p for p in (" ".join(facts), rest) if p))] if facts else lines
    )


def render(schema: Node, secret_names: Sequence[str]) -> tuple[str, list[str]]:
    """The reference as Markdown, and the key paths that have no description."""
    walker = SchemaWalker(schema)
    out = [HEADER.rstrip("\n")]
    undocumented: list[str] = []
    required = set(schema.get("required", ()))
    for key, prop in schema.get("properties", {}).items():
        out += ["", f"## `{NAMESPACE}:{key}`"]
        entries = list(walker.walk(prop, key, required=key in required))
        previous: Leaf | Group | None = None
        for entry in entries:
            if isinstance(entry, Group):
                if entry is entries[0]:
                    # The section itself: its description (if any) under the ## heading.
                    facts = ["Optional: unset by default."] if entry.nullable else []
                    if entry.description:
                        facts.append(entry.description)
                    if facts:
                        out += ["", *_paragraphs(" ".join(facts))]
                else:
                    out += _group_lines(entry)
            else:
                if previous is None or isinstance(previous, Group):
                    out.append("")
                out += _leaf_lines(entry)
                if not str(entry.node.get("description", "")).strip():
                    undocumented.append(entry.path)
            previous = entry
    out += [
        "",
        "## Secrets",
        "",
        *_wrap(
            "Secret keys are never written in a stack file in plain text, and each is needed only by the "
            "backend that uses it: `docpipe plan --stack NAME` lists the ones the stack still needs, "
            "with the reason, and validation names the command to run. Set them with:"
        ),
        "",
        *(f"    pulumi config set --secret {NAMESPACE}:{name} <value> --stack NAME" for name in secret_names),
    ]
    return "\n".join(out) + "\n", undocumented


def current() -> tuple[str, list[str]]:
    """The reference for the models as they are now."""
    sys.path.insert(0, str(ROOT))
    from docpipe.config import SECRET_NAMES, config_json_schema

    return render(config_json_schema(), SECRET_NAMES)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file is stale")
    args = parser.parse_args(argv)
    text, undocumented = current()
    if undocumented:
        print(f"{len(undocumented)} config keys have no description:", file=sys.stderr)
        for path in undocumented:
            print(f"  {path}", file=sys.stderr)
    relative = OUTPUT.relative_to(ROOT)
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{relative} is stale; regenerate it with: {COMMAND}", file=sys.stderr)
            return 1
        print(f"{relative} is up to date")
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
