"""The price book: every price and assumption the cost model uses, with where it came from.

`load_price_book(overrides)` reads `pricebook.yaml` and applies a stack's `docpipe:prices` overrides
(an unknown key is an error naming the key, with a "did you mean"). Estimators read values through
`PriceBook.get(key)`, which records the key, so every estimate can list exactly the prices it used
and flag the unconfirmed ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from workers.suggest import did_you_mean

PRICEBOOK_FILE = Path(__file__).with_name("pricebook.yaml")


class PriceBookError(ValueError):
    """A price key is unknown, or a price the estimate needs is missing."""


@dataclass(frozen=True)
class Price:
    """One entry of the price book: a price or an assumption."""

    key: str
    value: float
    unit: str
    source: str
    region: str = "all"
    read: str = ""
    confirmed: bool = True
    assumption: bool = False
    overridden: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "unit": self.unit,
            "region": self.region,
            "source": self.source,
            "read": self.read,
            "confirmed": self.confirmed,
            "assumption": self.assumption,
            "overridden": self.overridden,
        }


@cache
def _book_entries() -> dict[str, Price]:
    data = yaml.safe_load(PRICEBOOK_FILE.read_text())
    entries: dict[str, Price] = {}
    for key, row in (data.get("prices") or {}).items():
        entries[key] = Price(
            key=key,
            value=float(row["value"]),
            unit=str(row["unit"]),
            source=str(row["source"]),
            region=str(row.get("region", "all")),
            read=str(row.get("read", "")),
            confirmed=bool(row["confirmed"]),
        )
    for key, row in (data.get("assumptions") or {}).items():
        entries[key] = Price(
            key=key,
            value=float(row["value"]),
            unit=str(row["unit"]),
            source=str(row["why"]),
            confirmed=True,
            assumption=True,
        )
    return entries


@dataclass
class PriceBook:
    """Prices after overrides; `used` collects the keys the estimators read."""

    entries: dict[str, Price]
    used: dict[str, Price] = field(default_factory=dict)
    _traces: list[set[str]] = field(default_factory=list)

    def get(self, key: str, hint: str = "") -> float:
        """The value of `key` (recorded as used). A missing key names the override to set."""
        price = self.entries.get(key)
        if price is None:
            raise PriceBookError(
                f"no price for {key!r}{hint}; add it to the stack's docpipe:prices "
                f"(`pulumi config set --path 'docpipe:prices[\"{key}\"]' VALUE`) or to "
                f"docpipe/cost/pricebook.yaml{did_you_mean(key, list(self.entries))}"
            )
        self.used[key] = price
        for trace in self._traces:
            trace.add(key)
        return price.value

    def trace(self) -> set[str]:
        """Start recording the keys read from now on (until `end_trace`); returns the live set."""
        keys: set[str] = set()
        self._traces.append(keys)
        return keys

    def end_trace(self, keys: set[str]) -> tuple[str, ...]:
        self._traces.remove(keys)
        return tuple(sorted(keys))

    def has(self, key: str) -> bool:
        return key in self.entries

    def fresh(self) -> PriceBook:
        """The same prices with an empty `used` record (one per estimate)."""
        return PriceBook(self.entries)


# Keys that may be added by an override although the book lacks them: per-type prices, so a stack
# can price an instance type the book does not list.
OPEN_PREFIXES = ("ec2.hour.", "rds.hour.", "elasticache.node.hour.")


def load_price_book(overrides: Mapping[str, float] | None = None) -> PriceBook:
    """The price book with `overrides` (a stack's `docpipe:prices`) applied.

    Raises PriceBookError for a key that is neither in the book nor a per-type price.
    """
    entries = dict(_book_entries())
    problems: list[str] = []
    for key, value in (overrides or {}).items():
        current = entries.get(key)
        if current is None and not key.startswith(OPEN_PREFIXES):
            problems.append(
                f"docpipe:prices.{key}: unknown price key{did_you_mean(key, list(entries))}; "
                "keys are listed in docpipe/cost/pricebook.yaml (or `docpipe cost --stack S --json`)"
            )
            continue
        if current is None:
            current = Price(key=key, value=0.0, unit="USD per hour", source="stack override", confirmed=True)
        entries[key] = replace(
            current,
            value=float(value),
            source=f"stack override (book: {current.source})",
            confirmed=True,  # the stack states this price; it is no longer the book's guess
            overridden=True,
        )
    if problems:
        raise PriceBookError("\n".join(problems))
    return PriceBook(entries)
