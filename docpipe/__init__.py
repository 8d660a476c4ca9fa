"""docpipe's core: config, stack files, presets, the placement plan, targets, cost, local realizer."""

from __future__ import annotations


def install_hint(extra: str) -> str:
    """How to add an optional extra to this checkout. (`pip install 'docpipe[x]'` would fetch an
    unrelated package of the same name from the public index: docpipe is not published there.)"""
    return f".venv/bin/uv pip install --python .venv/bin/python -e '.[{extra}]' (in the repo root)"
