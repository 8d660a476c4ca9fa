"""What docpipe can deploy and price: per-type prices and region lists, read from the price book.

An instance type, DB class or cache node type is valid when docpipe can price it: the price book
has its per-type key (`ec2.hour.t4g.small`), or the stack adds one in `docpipe:prices`. Regions are
the dated lists under `regions:` in docpipe/cost/pricebook.yaml, each with its source. This module
reads the YAML itself (not docpipe.cost) so that config validation does not import the cost model.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

PRICEBOOK_FILE = Path(__file__).with_name("cost") / "pricebook.yaml"

TypeKind = Literal["ec2", "rds", "elasticache"]
PRICE_PREFIX: dict[TypeKind, str] = {
    "ec2": "ec2.hour.",
    "rds": "rds.hour.",
    "elasticache": "elasticache.node.hour.",
}
RegionKind = Literal["aws", "gcp", "temporalCloud"]


@dataclass(frozen=True)
class RegionList:
    names: tuple[str, ...]
    source: str
    read: str


@cache
def _book() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(PRICEBOOK_FILE.read_text())
    return data


def priced_types(kind: TypeKind, overrides: Mapping[str, float] | None = None) -> list[str]:
    """Every type of `kind` the price book (plus the stack's `docpipe:prices`) can price."""
    prefix = PRICE_PREFIX[kind]
    keys: Iterable[str] = [*(_book().get("prices") or {}), *(overrides or {})]
    return sorted({k.removeprefix(prefix) for k in keys if k.startswith(prefix)})


def regions(kind: RegionKind) -> RegionList:
    row = _book()["regions"][kind]
    return RegionList(tuple(row["names"]), str(row["source"]), str(row["read"]))


def nearest(value: object, choices: Iterable[str], n: int = 3) -> str:
    """`"; nearest: a, b"` for the closest valid names (difflib), or `""` when none is close."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, list(choices), n=n, cutoff=0.5)
    return f"; nearest: {', '.join(close)}" if close else ""


def region_problem(kind: RegionKind, value: str) -> str | None:
    """Why `value` is not a region of `kind` (None when it is one)."""
    known = regions(kind)
    if value in known.names:
        return None
    label = {"aws": "an AWS", "gcp": "a Google Cloud (Cloud Run)", "temporalCloud": "a Temporal Cloud"}[kind]
    hint = nearest(value, known.names)
    if not hint and len(known.names) <= 25:
        hint = f"; valid: {', '.join(known.names)}"
    return (
        f"is not {label} region{hint} (list: docpipe/cost/pricebook.yaml "
        f"regions.{kind}, from {known.source.split()[0]}, read {known.read})"
    )
