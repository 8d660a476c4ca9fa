"""The worker image's build id: derived from what the Dockerfile copies, so it changes with the image.

Temporal's Worker Versioning routes each workflow to the build it started on; a build id that names
more than one image (`latest`) would let a new build serve in-flight workflows of an old one —
non-determinism errors. So `docpipe:imageTag` is either a tag that names one build (a git sha, a
release) or unset, and then it is `src-` + the first 12 hex digits of a SHA-256 over every file the
image build copies (the `.dockerignore` rules, read with pathspec, the library git-style patterns are
usually matched with) and the Dockerfile itself.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pathspec

PREFIX = "src-"
MOVING_TAGS = frozenset({"latest", "main", "master", "stable", "dev"})
# Never part of a build context, and large: not worth walking.
_PRUNE = {".git", ".venv", "node_modules", ".docpipe", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def _anchored(line: str) -> str:
    """A .dockerignore line as a git-style pattern: Docker matches from the context's root."""
    text = line.strip()
    if not text or text.startswith("#"):
        return ""
    negate, pattern = (text.startswith("!"), text.lstrip("!"))
    if not pattern.startswith(("/", "**")):
        pattern = "/" + pattern
    return ("!" if negate else "") + pattern


def context_files(root: Path) -> list[Path]:
    """The files a `docker build` of `root` sends (its .dockerignore applied), sorted."""
    ignore = root / ".dockerignore"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.is_file() else []
    spec = pathspec.PathSpec.from_lines("gitwildmatch", filter(None, map(_anchored, lines)))
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _PRUNE)
        for name in files:
            path = Path(folder, name)
            if not spec.match_file(path.relative_to(root).as_posix()):
                found.append(path)
    return sorted(found)


def content_build_id(root: Path) -> str:
    """`src-<12 hex>` over the build context's paths and bytes and the Dockerfile."""
    digest = hashlib.sha256()
    files = context_files(root)
    dockerfile = root / "Dockerfile"
    if dockerfile.is_file() and dockerfile not in files:
        files.append(dockerfile)
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return PREFIX + digest.hexdigest()[:12]
