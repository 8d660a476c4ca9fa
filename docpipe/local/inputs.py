"""Which documents `docpipe dev PATH...` submits: files as given, directories by document suffix."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workers.documents import describe_file
from workers.types import DocumentRef

# What the pipeline reads; a directory contributes only these (samples/ also holds its generator).
DOCUMENT_SUFFIXES = frozenset({".pdf", ".docx", ".md", ".markdown", ".txt", ".html", ".htm"})


class InputError(ValueError):
    pass


@dataclass
class Inputs:
    documents: list[tuple[Path, DocumentRef]] = field(default_factory=list)
    # Same content under another name: one workflow per sha256, so the later names ride along.
    duplicates: list[tuple[Path, Path]] = field(default_factory=list)  # (path, first path with it)
    ignored: list[Path] = field(default_factory=list)  # files in a directory with another suffix


def collect(paths: list[str | Path]) -> Inputs:
    """Files named explicitly are always submitted; directories are walked for document suffixes."""
    out = Inputs()
    seen: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p, path))
            for f in files:
                if f.suffix.lower() in DOCUMENT_SUFFIXES:
                    _add(out, seen, f)
                else:
                    out.ignored.append(f)
        elif path.is_file():
            _add(out, seen, path)
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
