"""Text PostgreSQL cannot hold, made storable and noted: NUL bytes and lone surrogates.

PostgreSQL's text and jsonb refuse NUL (U+0000), and a Python str holding a lone surrogate — a
non-UTF-8 file name read with surrogateescape (`bad\\xff.txt` → 'bad\\udcff.txt'), or a lone
`\\ud800` from a model — cannot be encoded to UTF-8 at all. Such a document used to retry its store
20 times and end without a row. Each such character becomes U+FFFD, the row's `cleaned` column says
where and how many, and a file name or URI that is not valid UTF-8 is also kept losslessly as the
bytes the filesystem has (`filename_bytes`, `uri_bytes`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

REPLACEMENT = "\ufffd"
_BAD = re.compile("[\x00\ud800-\udfff]")


@dataclass
class Notes:
    """What was cleaned: field path → counts."""

    fields: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, path: str, nul: int, surrogates: int) -> None:
        entry = self.fields.setdefault(path, {"nulBytes": 0, "invalidSurrogates": 0})
        entry["nulBytes"] += nul
        entry["invalidSurrogates"] += surrogates

    def to_json(self) -> dict[str, Any] | None:
        if not self.fields:
            return None
        return {
            "replacedWith": "U+FFFD",
            "nulBytes": sum(e["nulBytes"] for e in self.fields.values()),
            "invalidSurrogates": sum(e["invalidSurrogates"] for e in self.fields.values()),
            "fields": self.fields,
        }


def clean_text(value: str, path: str, notes: Notes) -> str:
    if not _BAD.search(value):
        return value
    nul = value.count("\x00")
    notes.add(path, nul, len(_BAD.findall(value)) - nul)
    return _BAD.sub(REPLACEMENT, value)


def clean(value: Any, path: str, notes: Notes) -> Any:
    """`value` (plain JSON-like data) with every string, keys included, cleaned."""
    if isinstance(value, str):
        return clean_text(value, path, notes)
    if isinstance(value, dict):
        return {clean_text(str(k), path, notes): clean(v, f"{path}.{k}", notes) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v, f"{path}[{i}]", notes) for i, v in enumerate(value)]
    return value


def raw_bytes(name: str) -> bytes | None:
    """The bytes a name stands for when it is not valid UTF-8 (None when its text is exact)."""
    return _encode(name) if _BAD.search(name) else None


def _encode(name: str) -> bytes:
    try:
        return os.fsencode(name)  # surrogateescape: the filesystem's own bytes back
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogatepass")
