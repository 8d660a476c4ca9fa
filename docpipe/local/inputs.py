"""Which documents `docpipe dev PATH...` submits: files and directories' files with a suffix the
extraction backends read (workers.extraction.DOCUMENT_TYPES); the others are listed, not submitted."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workers.documents import describe_file
from workers.extraction import is_supported
from workers.types import DocumentRef


class InputError(ValueError):
    pass


@dataclass
class Inputs:
    documents: list[tuple[Path, DocumentRef]] = field(default_factory=list)
    # Same content under another name: one workflow per sha256, so the later names ride along.
    duplicates: list[tuple[Path, Path]] = field(default_factory=list)  # (path, first path with it)
    # Files with another suffix, in a directory or named: listed, never submitted (a workflow for them
    # could only fail).
    ignored: list[Path] = field(default_factory=list)


def collect(paths: list[str | Path]) -> Inputs:
    """Files (named, or found in directories) with a document suffix; the others go to `ignored`."""
    out = Inputs()
    seen: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p, path))
            for f in files:
                if is_supported(f):
                    _add(out, seen, f)
                else:
                    out.ignored.append(f)
        elif path.is_file():
            if is_supported(path):
                _add(out, seen, path)
            else:
                out.ignored.append(path)
        else:
            raise InputError(f"{raw}: no such file or directory")
    return out


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _add(out: Inputs, seen: dict[str, Path], path: Path) -> None:
    ref = describe_file(path)
    first = seen.get(ref.sha256)
    if first is not None:
        out.duplicates.append((path, first))
        return
    seen[ref.sha256] = path
    out.documents.append((path, ref))
